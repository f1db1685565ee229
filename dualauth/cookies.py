"""dualauth's token cookies: HttpOnly always; Secure unless DEBUG; SameSite; the refresh cookie path-scoped."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse

from .conf import dualauth_settings
from .services import IssuedTokens


def refresh_cookie_path() -> str:
    """Where ``dualauth.urls`` is mounted: the refresh cookie reaches dualauth's endpoints (only refresh and
    logout read it) and, under a prefix of its own, nothing else."""
    login = reverse("dualauth:login")
    return login[: -len("login/")] if login.endswith("login/") else "/"


def _common() -> dict[str, Any]:
    return {"domain": dualauth_settings.COOKIE_DOMAIN, "samesite": dualauth_settings.COOKIE_SAMESITE}


PREFIXES = ("__Host-", "__Secure-")


def _secure(name: str) -> bool:
    """Secure per ``COOKIE_SECURE``, and always for ``__Host-``/``__Secure-`` names, which browsers demand."""
    return dualauth_settings.cookie_secure or name.lower().startswith(tuple(p.lower() for p in PREFIXES))


def set_token_cookies(response: HttpResponse, tokens: IssuedTokens) -> None:
    access, refresh = dualauth_settings.ACCESS_COOKIE, dualauth_settings.REFRESH_COOKIE
    common = {**_common(), "httponly": True}
    response.set_cookie(
        access, tokens.access, expires=tokens.access_expires_at, path="/", secure=_secure(access), **common
    )
    response.set_cookie(
        refresh,
        tokens.refresh,
        expires=tokens.refresh_expires_at,
        path=refresh_cookie_path(),
        secure=_secure(refresh),
        **common,
    )


def clear_token_cookies(response: HttpResponse) -> None:
    response.delete_cookie(dualauth_settings.ACCESS_COOKIE, path="/", **_common())
    response.delete_cookie(dualauth_settings.REFRESH_COOKIE, path=refresh_cookie_path(), **_common())
