"""simplejwt tokens that carry the ``sid`` of their sign-in.

simplejwt fixes token lifetimes and its token backend at import time; these
classes read ``SIMPLE_JWT`` (through simplejwt's own reloaded ``api_settings``)
at call time, so ``override_settings(SIMPLE_JWT=...)`` reaches them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt as pyjwt
from rest_framework_simplejwt import settings as simplejwt_settings
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError

from .conf import dualauth_settings

SID_CLAIM = "sid"

_backend_cache: tuple[Any, TokenBackend] | None = None


def jwt_settings() -> Any:
    """simplejwt's settings object, as it stands now (it is replaced on ``setting_changed``)."""
    return simplejwt_settings.api_settings


def token_backend() -> TokenBackend:
    """A backend built from the current ``SIMPLE_JWT``; the algorithm is pinned by it."""
    global _backend_cache
    current = jwt_settings()
    if _backend_cache is None or _backend_cache[0] is not current:
        backend = TokenBackend(
            current.ALGORITHM,
            current.SIGNING_KEY,
            current.VERIFYING_KEY,
            current.AUDIENCE,
            current.ISSUER,
            current.JWK_URL,
            current.LEEWAY,
            current.JSON_ENCODER,
        )
        _backend_cache = (current, backend)
    return _backend_cache[1]


class _CallTimeSettings:
    """Resolve the backend per call instead of simplejwt's import-time state."""

    @property
    def token_backend(self) -> TokenBackend:
        return token_backend()

    def get_token_backend(self) -> TokenBackend:
        return token_backend()


class AccessToken(_CallTimeSettings, simplejwt_tokens.AccessToken):
    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]
        return jwt_settings().ACCESS_TOKEN_LIFETIME  # type: ignore[no-any-return]


class RefreshToken(_CallTimeSettings, simplejwt_tokens.RefreshToken):  # type: ignore[misc]
    access_token_class = AccessToken

    @property
    def lifetime(self) -> timedelta:  # type: ignore[override]
        return jwt_settings().REFRESH_TOKEN_LIFETIME  # type: ignore[no-any-return]

    def verify(self) -> None:
        """Verify signature-independent claims but not simplejwt's blacklist.

        The blacklist only says "rotated"; ``services.refresh`` compares the jti
        with ``AuthSession.refresh_jti`` instead, which also tells re-use apart.
        """
        simplejwt_tokens.Token.verify(self)


TIME_CLAIMS = ("exp", "nbf", "iat")
# What a datetime can hold, in epoch seconds: a time claim beyond it is not a time (year 1 to 9999).
EARLIEST, LATEST = -62_135_596_800, 253_402_300_799


def decode(raw: str, token_class: type[AccessToken] | type[RefreshToken]) -> AccessToken | RefreshToken:
    """Decode and verify ``raw``; raise ``TokenError`` with a user-facing message.

    Oversized input is refused before any parsing work. A time claim that is
    not a number of seconds a date can hold is refused too: PyJWT takes
    ``"10"`` for 10, and simplejwt's expiry check raises on ``10**30``; only a
    holder of the signing key can make such a token, but it still gets a 401.
    """
    if not isinstance(raw, str) or not raw or len(raw) > dualauth_settings.MAX_TOKEN_LENGTH:
        raise TokenError("Token is invalid")
    try:
        token = token_class(raw)  # type: ignore[arg-type]
    except (OverflowError, OSError, ValueError, TypeError):
        raise TokenError("Token is invalid") from None
    for claim in TIME_CLAIMS:
        value = token.payload.get(claim)
        if value is not None and not _a_time(value):
            raise TokenError("Token is invalid")
    return token


def _a_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and EARLIEST <= value <= LATEST


def parse_sid(value: Any) -> uuid.UUID | None:
    """A ``sid`` as a UUID, or ``None`` for anything that is not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def genuine_claims(raw: Any) -> dict[str, Any] | None:
    """The claims of a token this site signed, expired or not; ``None`` for anything else.

    The signature, algorithm, audience and issuer are verified; only expiry is
    not, so a client can end a sign-in whose access token ran out, and an
    administrator can revoke the sign-in behind a leaked, expired token.
    """
    if not isinstance(raw, str) or not raw or len(raw) > dualauth_settings.MAX_TOKEN_LENGTH:
        return None
    backend = token_backend()
    try:
        return pyjwt.decode(
            raw,
            backend.get_verifying_key(raw),  # type: ignore[arg-type]
            algorithms=[backend.algorithm],
            audience=backend.audience,
            issuer=backend.issuer,
            options={"verify_exp": False, "verify_aud": backend.audience is not None},
        )
    except Exception:  # noqa: BLE001 - any failure means "not a token of ours"
        return None


def token_sid(raw: Any, token_type: str) -> uuid.UUID | None:
    """The ``sid`` of a genuine token of ``token_type``, expired or not: what logout needs."""
    payload = genuine_claims(raw)
    if payload is None or payload.get(jwt_settings().TOKEN_TYPE_CLAIM) != token_type:
        return None
    return parse_sid(payload.get(SID_CLAIM))
