"""dualauth's token cookies: HttpOnly always; Secure unless DEBUG; SameSite; the refresh cookie path-scoped."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse

from .conf import dualauth_settings
from .services import IssuedTokens


def refresh_cookie_path() -> str:
    """Where ``dualauth.urls`` is mounted, so only refresh and logout receive the refresh cookie."""
    login = reverse("dualauth:login")
    return login[: -len("login/")] if login.endswith("login/") else "/"


def _common() -> dict[str, Any]:
    return {"domain": dualauth_settings.COOKIE_DOMAIN, "samesite": dualauth_settings.COOKIE_SAMESITE}


def set_token_cookies(response: HttpResponse, tokens: IssuedTokens) -> None:
    common = {**_common(), "secure": dualauth_settings.cookie_secure, "httponly": True}
    response.set_cookie(
        dualauth_settings.ACCESS_COOKIE, tokens.access, expires=tokens.access_expires_at, path="/", **common
    )
    response.set_cookie(
        dualauth_settings.REFRESH_COOKIE,
        tokens.refresh,
        expires=tokens.refresh_expires_at,
        path=refresh_cookie_path(),
        **common,
    )


def clear_token_cookies(response: HttpResponse) -> None:
    response.delete_cookie(dualauth_settings.ACCESS_COOKIE, path="/", **_common())
    response.delete_cookie(dualauth_settings.REFRESH_COOKIE, path=refresh_cookie_path(), **_common())
