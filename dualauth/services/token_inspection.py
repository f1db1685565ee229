"""What an administrator may do with a token pasted into the admin, or a row of simplejwt's tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt as pyjwt
from django.utils import timezone

from ..exceptions import SignInRefused
from ..models import AuthSession, Kind, Reason
from ..moments import from_timestamp
from ..tokens import SID_CLAIM, genuine_claims, jwt_settings, parse_sid
from . import simplejwt_tables
from .checking import user_by_claim
from .django_sessions import delete_session, load_many
from .revoking import revoke
from .shared import INVALID_TOKEN


@dataclass(frozen=True)
class TokenReport:
    """What an administrator sees of a pasted token: only ever built for a token this site signed."""

    header: dict[str, Any]
    claims: dict[str, Any]
    token_type: str
    expired: bool
    user: Any
    auth_session: AuthSession | None

    @property
    def revocable(self) -> bool:
        """A sign-in to end, or a refresh token without one to blacklist; a legacy access token has neither."""
        return self.auth_session is not None or (self.token_type == "refresh" and self.user is not None)

    @property
    def outstanding(self) -> Any:
        """simplejwt's row for this refresh token, if it has one."""
        if self.token_type != "refresh":
            return None
        return simplejwt_tables.outstanding_row(str(self.claims.get(jwt_settings().JTI_CLAIM, "")))


def _claimed_time(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return from_timestamp(value)
    except (OverflowError, OSError, ValueError):
        return None


def inspect_token(raw: str) -> TokenReport:
    """Decode a token pasted into the admin (leaked in a log, say), or raise ``SignInRefused``.

    Everything but expiry is verified: a leaked token may have expired while
    the sign-in behind it lives on, and that sign-in is what needs revoking.
    """
    raw = raw.strip() if isinstance(raw, str) else raw
    claims = genuine_claims(raw)
    if claims is None:
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    jwt = jwt_settings()
    sid = parse_sid(claims.get(SID_CLAIM))
    return TokenReport(
        header=pyjwt.get_unverified_header(raw),
        claims=claims,
        token_type=str(claims.get(jwt.TOKEN_TYPE_CLAIM, "")),
        expired=(_claimed_time(claims, "exp") or timezone.now()) <= timezone.now(),
        user=user_by_claim(claims.get(jwt.USER_ID_CLAIM), active_only=False),
        auth_session=None if sid is None else AuthSession.objects.select_related("user").filter(pk=sid).first(),
    )


def revoke_token(report: TokenReport, reason: str = Reason.ADMIN) -> bool:
    """End what a token can do: its sign-in, or for a legacy refresh token without ``sid``, the token itself."""
    if report.auth_session is not None:
        return revoke(report.auth_session.pk, reason)
    jwt = jwt_settings()
    if report.token_type == "refresh" and report.user is not None:
        expires = _claimed_time(report.claims, "exp") or timezone.now()
        return simplejwt_tables.blacklist(str(report.claims.get(jwt.JTI_CLAIM, "")), report.user.pk, expires)
    return False


def blacklist_refresh_token(token: Any, reason: str = Reason.ADMIN) -> bool:
    """Blacklist a simplejwt ``OutstandingToken``; the current token of a live sign-in ends the sign-in.

    Blacklisting only the refresh token would leave that sign-in's access
    token working until it expires; revoking the sign-in refuses it at once.
    Return whether anything changed.
    """
    row = AuthSession.objects.filter(kind=Kind.JWT, refresh_jti=token.jti, revoked_at__isnull=True).first()
    if row is not None:
        return revoke(row.pk, reason)
    return simplejwt_tables.blacklist(token.jti, token.user_id, token.expires_at)


def kill_session(row: AuthSession, reason: str = Reason.ADMIN) -> bool:
    """End a session-kind sign-in, or, if it already ended, delete what its session engine still holds."""
    if revoke(row.pk, reason):
        return True
    if row.kind != Kind.SESSION or not row.session_key:
        return False
    if not load_many([row.session_key]):
        return False
    delete_session(row.session_key)
    return True
