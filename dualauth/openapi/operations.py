"""Each of dualauth's views described from the outside: operations, parameters, responses."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiViewExtension,
)
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.views import APIView

from ..authentication import DualAuthentication
from ..conf import dualauth_settings
from ..credentials import COOKIE
from ..serializers import AuthSessionSerializer, RefreshSerializer
from .bodies import (
    DualauthCsrfSerializer,
    DualauthErrorSerializer,
    DualauthRevokedSerializer,
    current_kinds,
    current_transports,
    login_serializers,
    me_serializer,
    refresh_serializer,
    user_serializer,
)
from .schemes import CSRF, TAG, LoginCsrfCredential, RefreshCookieCredential, enabled


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
        request, response = login_serializers(
            tuple(current_kinds()),
            tuple(current_transports()),
            user_serializer(),
            spectacular_settings.COMPONENT_SPLIT_REQUEST,
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
        if enabled(CSRF):
            responses[403] = _error("A session (or cookie-transport) login without the CSRF token.")
        view = _subclass(self.view, authentication_classes=[LoginCsrfCredential])
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
        if enabled(CSRF):
            responses[400] = UNPARSABLE_FORM
            responses[403] = CSRF_FAILED
        responses[503] = _error(
            "The database could not record the sign-out: nothing ended, the cookies are kept; try again "
            "(`code`: `unavailable`)."
        )
        view = _subclass(self.view, authentication_classes=[DualAuthentication, RefreshCookieCredential])
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
        transports = tuple(current_transports())
        responses: dict[int, Any] = {
            200: OpenApiResponse(
                refresh_serializer(transports),
                description="A new pair; the refresh token given is now spent. Cookie transport sets the new "
                "tokens as cookies.",
            ),
            400: BAD_INPUT,
            401: _error("A refresh token that is invalid, expired, revoked or re-used (then its sign-in ends)."),
        }
        if COOKIE in transports:
            responses[403] = CSRF_FAILED
        return _describe(
            _subclass(self.view, authentication_classes=[RefreshCookieCredential]),
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
            responses={200: me_serializer(user_serializer()), 401: NOT_AUTHENTICATED},
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
        if enabled(CSRF):
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
        if enabled(CSRF):
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
