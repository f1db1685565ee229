"""drf-spectacular extensions that describe dualauth's HTTP API in a project's OpenAPI schema.

Imported by ``DualAuthConfig.ready()`` only when drf-spectacular is installed
(``pip install dualauth[openapi]``): drf-spectacular registers an extension when
its class is created, so importing this module is the whole registration, and
dualauth itself never needs drf-spectacular.

The views are described from the outside (``OpenApiViewExtension``), so
``views.py`` carries no schema annotations and no optional import.

The schema describes the **current** ``MODE`` and ``JWT_TRANSPORTS``, not the
hybrid superset: it is generated per deployment, and a client or fuzzer reading
it must only be offered what that deployment accepts. A jwt-only site has no
session-cookie scheme and its login takes no ``kind: "session"``; a
header-only site has no cookie schemes and no CSRF token; a session-only site
lists ``token/refresh/`` as the 404 it always answers. Settings are read when the
schema is generated, so a changed setting shows in the next generated schema.

Security schemes: ``dualauthBearer`` (``Authorization: Bearer``),
``dualauthAccessCookie`` and ``dualauthRefreshCookie`` (the token cookies),
``dualauthSessionCookie`` (Django's session cookie) and ``dualauthCsrf`` (the
CSRF header that every unsafe request carried by a cookie needs, together with
the CSRF cookie). Every error response refers to the one ``DualauthError``
component, the shape ``dualauth.errors`` gives all of them.
"""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils.module_loading import import_string
from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiViewExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import Direction, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.views import APIView

from .authentication import DualAuthentication, JWTAuthentication, SessionAuthentication
from .conf import TRANSPORTS, dualauth_settings
from .credentials import COOKIE, HEADER
from .models import Kind
from .serializers import AuthSessionSerializer, RefreshSerializer

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


def _enabled(name: str) -> bool:
    transports = dualauth_settings.JWT_TRANSPORTS
    if name == BEARER:
        return dualauth_settings.jwt_enabled and HEADER in transports
    if name in (ACCESS_COOKIE, REFRESH_COOKIE):
        return dualauth_settings.jwt_enabled and COOKIE in transports
    if name == SESSION_COOKIE:
        return dualauth_settings.session_enabled
    return _enabled(ACCESS_COOKIE) or _enabled(SESSION_COOKIE)


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
        return [name for name in (BEARER, ACCESS_COOKIE, SESSION_COOKIE) if _enabled(name)]


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
    """Stands, in the schema only, for a credential that a public view reads by itself."""

    def authenticate(self, request: Request) -> None:
        return None


class _RefreshCookieCredential(_SchemaOnly):
    pass


class _LoginCsrfCredential(_SchemaOnly):
    pass


class RefreshCookieScheme(_Scheme):
    target_class = _RefreshCookieCredential

    def read(self) -> list[str]:
        return [REFRESH_COOKIE] if _enabled(REFRESH_COOKIE) else []


class LoginCsrfScheme(_Scheme):
    """A session login, or a token login with cookie transport, sets cookies: CSRF applies to it."""

    target_class = _LoginCsrfCredential

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        self.name = [CSRF] if _enabled(CSRF) else []

    def read(self) -> list[str]:
        return []

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[Requirement]:
        return [{CSRF: []}] if self.name else []


# The same scheme is registered by whichever class meets it first; its definition never differs.
for _class in (
    DualAuthentication,
    JWTAuthentication,
    SessionAuthentication,
    _RefreshCookieCredential,
    _LoginCsrfCredential,
):
    set_override(_class, "suppress_collision_warning", True)


# ---------------------------------------------------------------- bodies


class DualauthErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Every refusal of dualauth's views (``dualauth.errors.exception_handler``)."""

    detail = serializers.CharField(help_text="A human-readable message, in the request's language.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `invalid`, `not_authenticated`.")
    # DRF's metaclass takes declared fields out of the class, so this does not shadow ``Serializer.errors``.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="On a 400 about fields only: the messages of each field.",
    )


class DualauthRevokedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    revoked = serializers.IntegerField(min_value=0, help_text="How many sign-ins were revoked.")


class DualauthCsrfSerializer(serializers.Serializer):  # type: ignore[type-arg]
    csrf_token = serializers.CharField(help_text="Also set as the CSRF cookie.")


class _Serializer(OpenApiSerializerExtension):
    # drf-spectacular's own __init_subclass__ (its registry) is untyped: one typed override, so that mypy --strict
    # does not flag every extension class below as a call to an untyped function.
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # type: ignore[no-untyped-call]


class UserSerializerScheme(_Serializer):
    """The default ``USER_SERIALIZER`` builds its body by hand; a project's own serializer is introspected."""

    target_class = "dualauth.serializers.UserSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Direction) -> str:
        return "DualauthUser"

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        user_model = get_user_model()
        properties: dict[str, Any] = {
            "id": _pk_schema(user_model._meta.pk),
            "username": {"type": "string"},
        }
        if any(field.name == user_model.get_email_field_name() for field in user_model._meta.get_fields()):
            properties["email"] = {"type": "string"}
        return {"type": "object", "properties": properties, "required": ["id", "username"]}


def _pk_schema(field: Any) -> dict[str, Any]:
    if isinstance(field, models.IntegerField):  # the AutoFields are IntegerFields
        return {"type": "integer", "readOnly": True}
    if isinstance(field, models.UUIDField):
        return {"type": "string", "format": "uuid", "readOnly": True}
    return {"type": "string", "readOnly": True}


class AuthSessionSerializerScheme(_Serializer):
    target_class = "dualauth.serializers.AuthSessionSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Direction) -> str:
        return "DualauthSignIn"


class RefreshSerializerScheme(_Serializer):
    target_class = "dualauth.serializers.RefreshSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Direction) -> str:
        return _request_name("DualauthRefresh")


def _request_name(name: str) -> str:
    """``COMPONENT_SPLIT_REQUEST`` appends "Request" to request components itself."""
    return name if spectacular_settings.COMPONENT_SPLIT_REQUEST else f"{name}Request"


def _user_serializer() -> Any:
    return import_string(dualauth_settings.USER_SERIALIZER)


def _kinds() -> list[str]:
    return [kind for kind in Kind.values if dualauth_settings.MODE in ("hybrid", kind)]


def _kind_help(kinds: tuple[str, ...]) -> str:
    if len(kinds) > 1:
        return "Default: HYBRID_DEFAULT_KIND."
    return f"The site is in {kinds[0]} mode: only {kinds[0]!r} (the default); another kind is a 400."


def _transports() -> list[str]:
    return [t for t in TRANSPORTS if t in dualauth_settings.JWT_TRANSPORTS] if dualauth_settings.jwt_enabled else []


def _serializer(name: str, fields: dict[str, serializers.Field[Any, Any, Any, Any]]) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    serializer: type[serializers.Serializer] = type(name, (serializers.Serializer,), fields)  # type: ignore[type-arg]
    return serializer


def _token_fields(transports: tuple[str, ...], *, jwt_only: bool) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    """Expiries in every jwt body; the tokens themselves only with header transport."""
    jwt_note = "" if jwt_only else " jwt sign-ins only."
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {}
    if HEADER in transports:
        required = jwt_only and transports == (HEADER,)
        note = jwt_note if transports == (HEADER,) else " Header transport only (cookie transport: only in cookies)."
        fields["access"] = serializers.CharField(required=required, help_text="The access token." + note)
        fields["refresh"] = serializers.CharField(required=required, help_text="The refresh token." + note)
    for name in ("access_expires_at", "refresh_expires_at"):
        fields[name] = serializers.DateTimeField(required=jwt_only, help_text=jwt_note.strip() or None)
    return fields


@functools.cache
def _login_serializers(
    kinds: tuple[str, ...], transports: tuple[str, ...], user_serializer: Any, split: bool
) -> tuple[type[serializers.Serializer], type[serializers.Serializer]]:  # type: ignore[type-arg]
    """Request and response of login for one configuration; memoised so each is one component."""
    request_fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "username": serializers.CharField(),
        "password": serializers.CharField(write_only=True),
        "kind": serializers.ChoiceField(
            # Every ``kind`` field of the schema shares one enum component; the mode's limit is in words.
            choices=Kind.choices,
            required=False,
            help_text=_kind_help(kinds),
        ),
    }
    if transports:
        request_fields["transport"] = serializers.ChoiceField(
            choices=list(transports),
            required=False,
            help_text="jwt sign-ins only. Default: the first of JWT_TRANSPORTS.",
        )
    response_fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "user": user_serializer(),
        "kind": serializers.ChoiceField(choices=Kind.choices),
        "session_id": serializers.UUIDField(help_text="The sign-in's id, as listed by sessions/."),
    }
    if transports:
        response_fields.update(_token_fields(transports, jwt_only=Kind.SESSION not in kinds))
    return (
        _serializer(f"{_request_name('DualauthLogin')}Serializer", request_fields),
        _serializer("DualauthLoginSerializer", response_fields),
    )


@functools.cache
def _refresh_serializer(transports: tuple[str, ...]) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    return _serializer("DualauthTokensSerializer", _token_fields(transports, jwt_only=True))


@functools.cache
def _me_serializer(user_serializer: Any) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    return _serializer(
        "DualauthMeSerializer",
        {
            "user": user_serializer(),
            "kind": serializers.ChoiceField(choices=Kind.choices),
            "session_id": serializers.UUIDField(allow_null=True),
        },
    )


# ---------------------------------------------------------------- operations


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(DualauthErrorSerializer, description=description)


BAD_INPUT = _error("Bad input: `errors` names the fields.")
NOT_AUTHENTICATED = _error("No valid credential, or one that is expired or revoked.")
CSRF_FAILED = _error("A cookie-carried credential without the CSRF token (`code`: `csrf_failed`).")
UNPARSABLE_FORM = _error(
    "A cookie-carried request whose form body cannot be parsed, so its CSRF token cannot be read "
    "(`code`: `parse_error`)."
)


def _retry_after(status: int, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[status],
        required=True,
        description=description,
    )


RETRY_AFTER = _retry_after(429, "Seconds to wait before trying again.")
RETRY_LOGOUT_AFTER = _retry_after(503, "Seconds to wait before trying the sign-out again.")
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[401], description="The challenge."
)


def _subclass(view: type[APIView], **attributes: Any) -> type[APIView]:
    """A schema-only copy of ``view``, so annotating it never touches the real view."""
    described: type[APIView] = type(view.__name__, (view,), {"__module__": view.__module__, **attributes})
    return described


def _describe(view: type[APIView], method: str, operation_id: str, summary: str, **kwargs: Any) -> type[APIView]:
    """``view`` (a schema-only copy) with its one operation described, under dualauth's tag and id prefix."""
    operation = extend_schema(operation_id=f"dualauth_{operation_id}", summary=summary, tags=[TAG], **kwargs)
    described: type[APIView] = extend_schema_view(**{method: operation})(view)
    return described


class _View(OpenApiViewExtension):
    # drf-spectacular's own __init_subclass__ (its registry) is untyped: one typed override, so that mypy --strict
    # does not flag every extension class below as a call to an untyped function.
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # type: ignore[no-untyped-call]

    @property
    def view(self) -> type[APIView]:
        view: type[APIView] = self.target
        return view


class LoginViewScheme(_View):
    target_class = "dualauth.views.LoginView"

    def view_replacement(self) -> type[APIView]:
        request, response = _login_serializers(
            tuple(_kinds()), tuple(_transports()), _user_serializer(), spectacular_settings.COMPONENT_SPLIT_REQUEST
        )
        responses: dict[int, Any] = {
            200: OpenApiResponse(
                response,
                description="Signed in. A session sign-in sets the session and CSRF cookies; a jwt sign-in with "
                "cookie transport sets the token cookies and a new CSRF cookie.",
            ),
            400: BAD_INPUT,
            401: _error("Bad credentials (`code`: `invalid_credentials`); no hint whether the user exists."),
            429: _error("Too many attempts from this IP address or for this username."),
        }
        if _enabled(CSRF):
            responses[403] = _error("A session (or cookie-transport) login without the CSRF token.")
        view = _subclass(self.view, authentication_classes=[_LoginCsrfCredential])
        return _describe(
            view,
            "post",
            "login",
            "Sign in",
            description="Start a sign-in of the kind asked (in hybrid mode) with the transport asked.",
            request=request,
            responses=responses,
            parameters=[RETRY_AFTER, WWW_AUTHENTICATE],
        )


class LogoutViewScheme(_View):
    target_class = "dualauth.views.LogoutView"

    def view_replacement(self) -> type[APIView]:
        responses: dict[int, Any] = {204: OpenApiResponse(description="Signed out; dualauth's cookies cleared.")}
        if _enabled(CSRF):
            responses[400] = UNPARSABLE_FORM
            responses[403] = CSRF_FAILED
        responses[503] = _error(
            "The database could not record the sign-out: nothing ended, the cookies are kept; try again "
            "(`code`: `unavailable`)."
        )
        view = _subclass(self.view, authentication_classes=[DualAuthentication, _RefreshCookieCredential])
        return _describe(
            view,
            "post",
            "logout",
            "Sign out",
            description="Revoke the sign-in of whatever credential comes with the request; needs none. "
            "A refresh token may also be given in the body.",
            request=RefreshSerializer,
            responses=responses,
            parameters=[RETRY_LOGOUT_AFTER],
        )


class TokenRefreshViewScheme(_View):
    target_class = "dualauth.views.TokenRefreshView"

    def view_replacement(self) -> type[APIView]:
        if not dualauth_settings.jwt_enabled:
            return _describe(
                _subclass(self.view),
                "post",
                "token_refresh",
                "Refresh tokens",
                description="Tokens are not enabled in session mode: always 404.",
                request=None,
                responses={404: _error("Tokens are not enabled (`code`: `not_enabled`).")},
            )
        transports = tuple(_transports())
        responses: dict[int, Any] = {
            200: OpenApiResponse(
                _refresh_serializer(transports),
                description="A new pair; the refresh token given is now spent. Cookie transport sets the new "
                "tokens as cookies.",
            ),
            400: BAD_INPUT,
            401: _error("A refresh token that is invalid, expired, revoked or re-used (then its sign-in ends)."),
        }
        if COOKIE in transports:
            responses[403] = CSRF_FAILED
        return _describe(
            _subclass(self.view, authentication_classes=[_RefreshCookieCredential]),
            "post",
            "token_refresh",
            "Refresh tokens",
            description="Rotate a refresh token given in the body (header transport) or in the refresh "
            "cookie (cookie transport).",
            request=RefreshSerializer,
            responses=responses,
            parameters=[WWW_AUTHENTICATE],
        )


class MeViewScheme(_View):
    target_class = "dualauth.views.MeView"

    def view_replacement(self) -> type[APIView]:
        return _describe(
            _subclass(self.view),
            "get",
            "me",
            "The current user and sign-in",
            description="The user, and the kind and id of the sign-in the request's credential belongs to.",
            responses={200: _me_serializer(_user_serializer()), 401: NOT_AUTHENTICATED},
            parameters=[WWW_AUTHENTICATE],
        )


class SessionListViewScheme(_View):
    target_class = "dualauth.views.SessionListView"

    def view_replacement(self) -> type[APIView]:
        return _describe(
            _subclass(self.view),
            "get",
            "sessions_list",
            "The caller's active sign-ins",
            description="Every live sign-in of the caller, of either kind, the most recently seen first; "
            "`current` marks the one making the request.",
            responses={200: AuthSessionSerializer(many=True), 401: NOT_AUTHENTICATED},
            parameters=[WWW_AUTHENTICATE],
        )


class SessionDetailViewScheme(_View):
    target_class = "dualauth.views.SessionDetailView"

    def view_replacement(self) -> type[APIView]:
        responses: dict[int, Any] = {
            204: OpenApiResponse(description="Revoked."),
            401: NOT_AUTHENTICATED,
            404: _error("Not one of the caller's active sign-ins."),
        }
        if _enabled(CSRF):
            responses[403] = CSRF_FAILED
        return _describe(
            _subclass(self.view),
            "delete",
            "sessions_revoke",
            "Revoke one of the caller's sign-ins",
            description="Its next request is refused, whatever carries it. Revoking the current sign-in "
            "signs the caller out.",
            parameters=[
                OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="A sign-in's id."),
                WWW_AUTHENTICATE,
            ],
            responses=responses,
        )


class RevokeOthersViewScheme(_View):
    target_class = "dualauth.views.RevokeOthersView"

    def view_replacement(self) -> type[APIView]:
        responses: dict[int, Any] = {200: DualauthRevokedSerializer, 401: NOT_AUTHENTICATED}
        if _enabled(CSRF):
            responses[400] = UNPARSABLE_FORM
            responses[403] = CSRF_FAILED
        return _describe(
            _subclass(self.view),
            "post",
            "sessions_revoke_others",
            "Revoke all the caller's sign-ins but the current one",
            description="Signs every other device out.",
            request=None,
            responses=responses,
            parameters=[WWW_AUTHENTICATE],
        )


class CsrfViewScheme(_View):
    target_class = "dualauth.views.CsrfView"

    def view_replacement(self) -> type[APIView]:
        return _describe(
            _subclass(self.view),
            "get",
            "csrf",
            "Set the CSRF cookie",
            description="For single-page apps, before a session login or any cookie-carried unsafe request.",
            responses={200: DualauthCsrfSerializer},
        )
