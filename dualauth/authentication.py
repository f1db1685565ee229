"""DRF authentication classes. Name ``DualAuthentication``; it dispatches on ``MODE``.

Contract, as in DRF: ``None`` lets the next class try, ``AuthenticationFailed``
stops (a presented but refused credential is a 401, never a silent fall-back),
and ``authenticate_header()`` makes refusals 401 rather than 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, CSRFCheck
from rest_framework.request import Request

from .conf import dualauth_settings
from .credentials import COOKIE, Credential, jwt_credential, session_credential


def csrf_failure(request: Request | HttpRequest) -> str | None:
    """Django's CSRF verdict on ``request``: ``None`` when it passes, else why not."""
    django_request = getattr(request, "_request", request)
    check = CSRFCheck(lambda _request: None)  # type: ignore[arg-type]
    check.process_request(django_request)
    return check.process_view(django_request, None, (), {})  # type: ignore[arg-type,return-value]


def enforce_csrf(request: Request | Any) -> None:
    """Refuse an unsafe request whose credential travels in a cookie unless it carries the CSRF token."""
    try:
        reason = csrf_failure(request)
    except MultiPartParserError:
        # Django's check reads a form body for its token; one it cannot split would be Django's HTML 400.
        raise exceptions.ParseError() from None
    if reason:
        raise exceptions.PermissionDenied(f"CSRF Failed: {reason}", code="csrf_failed")


def _accept(credential: Credential | None) -> tuple[Any, Credential] | None:
    if credential is None:
        return None
    if credential.error is not None:
        raise exceptions.AuthenticationFailed(str(credential.error.detail), code=credential.error.code)
    return credential.user, credential


class SessionAuthentication(BaseAuthentication):
    """A Django session whose sign-in is live; CSRF on unsafe methods."""

    def authenticate(self, request: Request) -> tuple[Any, Credential] | None:
        result = _accept(session_credential(request._request))
        if result is not None:
            enforce_csrf(request)
        return result

    def authenticate_header(self, request: Request) -> str:
        return 'Session realm="api"'


class JWTAuthentication(BaseAuthentication):
    """An access token from the ``Authorization`` header or the access cookie (then with CSRF)."""

    def authenticate(self, request: Request) -> tuple[Any, Credential] | None:
        result = _accept(jwt_credential(request._request))
        if result is not None and result[1].source == COOKIE:
            enforce_csrf(request)
        return result

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class DualAuthentication(BaseAuthentication):
    """The one class to name in ``DEFAULT_AUTHENTICATION_CLASSES``.

    session mode: sessions only; jwt mode: tokens only (session cookies do not
    authenticate API calls); hybrid: a token if one is presented, else the session.
    """

    def _delegates(self) -> list[BaseAuthentication]:
        mode = dualauth_settings.MODE
        if mode == "session":
            return [SessionAuthentication()]
        if mode == "jwt":
            return [JWTAuthentication()]
        return [JWTAuthentication(), SessionAuthentication()]

    def authenticate(self, request: Request) -> tuple[Any, Credential] | None:
        for delegate in self._delegates():
            result = delegate.authenticate(request)
            if result is not None:
                return result
        return None

    def authenticate_header(self, request: Request) -> str:
        return self._delegates()[0].authenticate_header(request) or ""
