"""The security schemes of dualauth's API: which credentials each operation accepts, per deployment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
)
from drf_spectacular.openapi import AutoSchema
from rest_framework.authentication import BaseAuthentication

from ..authentication import DualAuthentication, JWTAuthentication, SessionAuthentication
from ..conf import dualauth_settings
from ..credentials import COOKIE, HEADER

BEARER = "dualauthBearer"
ACCESS_COOKIE = "dualauthAccessCookie"
REFRESH_COOKIE = "dualauthRefreshCookie"
SESSION_COOKIE = "dualauthSessionCookie"
CSRF = "dualauthCsrf"

TAG = "auth"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Requirement = dict[str, list[Any]]


# ---------------------------------------------------------------- security schemes


def _csrf_header_name() -> str:
    """Django's ``CSRF_HEADER_NAME`` (a WSGI ``META`` key) as the header a client sends."""
    meta_key: str = settings.CSRF_HEADER_NAME
    if meta_key == "HTTP_X_CSRFTOKEN":
        return "X-CSRFToken"
    return "-".join(part.capitalize() for part in meta_key.removeprefix("HTTP_").split("_"))


def _definition(name: str) -> dict[str, Any]:
    if name == BEARER:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from a jwt sign-in with header transport.",
        }
    if name == ACCESS_COOKIE:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": dualauth_settings.ACCESS_COOKIE,
            "description": "The HttpOnly access-token cookie of a jwt sign-in with cookie transport; "
            "unsafe methods also need the CSRF token.",
        }
    if name == REFRESH_COOKIE:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": dualauth_settings.REFRESH_COOKIE,
            "description": "The HttpOnly refresh-token cookie, sent only to dualauth's own URLs.",
        }
    if name == SESSION_COOKIE:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "Django's session cookie; unsafe methods also need the CSRF token.",
        }
    return {
        "type": "apiKey",
        "in": "header",
        "name": _csrf_header_name(),
        "description": f"The value of the {settings.CSRF_COOKIE_NAME!r} cookie (GET csrf/ sets it), "
        "required with any cookie-carried credential on unsafe methods.",
    }


def enabled(name: str) -> bool:
    transports = dualauth_settings.JWT_TRANSPORTS
    if name == BEARER:
        return dualauth_settings.jwt_enabled and HEADER in transports
    if name in (ACCESS_COOKIE, REFRESH_COOKIE):
        return dualauth_settings.jwt_enabled and COOKIE in transports
    if name == SESSION_COOKIE:
        return dualauth_settings.session_enabled
    return enabled(ACCESS_COOKIE) or enabled(SESSION_COOKIE)


def _alternatives(credentials: list[str], auto_schema: AutoSchema) -> list[Requirement]:
    """Any one credential suffices (OR); a cookie on an unsafe method goes with the CSRF header (AND)."""
    unsafe = auto_schema.method.upper() in UNSAFE_METHODS
    requirements: list[Requirement] = []
    for name in credentials:
        requirement: Requirement = {name: []}
        if unsafe and name != BEARER:
            requirement[CSRF] = []
        requirements.append(requirement)
    return requirements


class _Scheme(OpenApiAuthenticationExtension):
    """Shared by the extensions of dualauth's authentication classes; each says which credentials its class reads."""

    # drf-spectacular's own __init_subclass__ (its registry) is untyped: one typed override, so that mypy --strict
    # does not flag every extension class below as a call to an untyped function.
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # type: ignore[no-untyped-call]

    def __init__(self, target: Any) -> None:
        super().__init__(target)  # type: ignore[no-untyped-call]
        self.credentials = self.read()
        self.name = [*self.credentials, CSRF] if any(name != BEARER for name in self.credentials) else self.credentials

    def read(self) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} must say which credentials its class reads")

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[Requirement]:
        return _alternatives(self.credentials, auto_schema)

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [_definition(name) for name in self.name]


class DualAuthenticationScheme(_Scheme):
    target_class = DualAuthentication

    def read(self) -> list[str]:
        return [name for name in (BEARER, ACCESS_COOKIE, SESSION_COOKIE) if enabled(name)]


class JWTAuthenticationScheme(_Scheme):
    """Named explicitly, the class reads tokens whatever ``MODE`` says."""

    target_class = JWTAuthentication

    def read(self) -> list[str]:
        transports = dualauth_settings.JWT_TRANSPORTS
        return [name for name, transport in ((BEARER, HEADER), (ACCESS_COOKIE, COOKIE)) if transport in transports]


class SessionAuthenticationScheme(_Scheme):
    target_class = SessionAuthentication

    def read(self) -> list[str]:
        return [SESSION_COOKIE]


class _SchemaOnly(BaseAuthentication):
    """Stands, in the schema only, for a credential that a public view reads by itself. Only the schema-only copies
    of dualauth's views name it, so nothing asks it to authenticate (BaseAuthentication's NotImplementedError
    would say so loudly if anything did)."""


class RefreshCookieCredential(_SchemaOnly):
    pass


class LoginCsrfCredential(_SchemaOnly):
    pass


class RefreshCookieScheme(_Scheme):
    target_class = RefreshCookieCredential

    def read(self) -> list[str]:
        return [REFRESH_COOKIE] if enabled(REFRESH_COOKIE) else []


class LoginCsrfScheme(_Scheme):
    """A session login, or a token login with cookie transport, sets cookies: CSRF applies to it."""

    target_class = LoginCsrfCredential

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        self.name = [CSRF] if enabled(CSRF) else []

    def read(self) -> list[str]:
        return []

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[Requirement]:
        return [{CSRF: []}] if self.name else []


# The same scheme is registered by whichever class meets it first; its definition never differs.
for _class in (
    DualAuthentication,
    JWTAuthentication,
    SessionAuthentication,
    RefreshCookieCredential,
    LoginCsrfCredential,
):
    set_override(_class, "suppress_collision_warning", True)
