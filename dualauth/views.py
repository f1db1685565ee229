"""The HTTP API: thin adapters over ``dualauth.services``. JSON in, JSON out."""

from __future__ import annotations

import logging
from typing import Any, cast

from django.contrib import auth
from django.middleware.csrf import get_token, rotate_token
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import backends, credentials, reports, services, throttling
from .authentication import DualAuthentication, enforce_csrf
from .client_info import client_ip
from .conf import dualauth_settings
from .cookies import clear_token_cookies, set_token_cookies
from .errors import Unavailable, exception_handler
from .exceptions import NotRecorded, SignInRefused
from .models import Kind, Reason
from .parsers import JSONParser
from .serializers import AuthSessionSerializer, LoginSerializer, RefreshSerializer, user_data

logger = logging.getLogger("dualauth")

BAD_CREDENTIALS = _("Unable to sign in with the given credentials.")


class DualAuthAPIView(APIView):
    """Fixed JSON-only parsing, rendering and error shape, whatever the project's DRF defaults."""

    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    authentication_classes = [DualAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list[Any] = []

    def get_exception_handler(self) -> Any:
        return exception_handler

    def get_authenticate_header(self, request: Request) -> str:
        """Refusals are 401 with a challenge, on public endpoints too (DRF would make them 403)."""
        return DualAuthentication().authenticate_header(request)


class PublicAPIView(DualAuthAPIView):
    """Endpoints that read credentials themselves (or need none)."""

    authentication_classes = []
    permission_classes = [AllowAny]


class CredentialsAPIView(reports.CredentialsViewMixin, PublicAPIView):
    """An endpoint that takes a password or a token (a login, a refresh, a logout)."""


def _credential(request: Request) -> credentials.Credential:
    """``request.auth`` of a view behind ``DualAuthentication``."""
    credential = request.auth
    if not isinstance(credential, credentials.Credential):
        raise exceptions.NotAuthenticated()
    return credential


def _tokens(signin: services.SignIn) -> services.IssuedTokens:
    """The pair of a jwt sign-in, which always has one (only session sign-ins have none)."""
    return cast(services.IssuedTokens, signin.tokens)


def _token_body(signin: services.SignIn, transport: str) -> dict[str, Any]:
    tokens = _tokens(signin)
    body: dict[str, Any] = {
        "access_expires_at": tokens.access_expires_at,
        "refresh_expires_at": tokens.refresh_expires_at,
    }
    if transport == credentials.HEADER:
        body.update(access=tokens.access, refresh=tokens.refresh)
    return body


class LoginView(CredentialsAPIView):
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        kind, transport = data["kind"], data.get("transport")
        if kind == Kind.SESSION or transport == credentials.COOKIE:
            enforce_csrf(request)
        # The login limiter: in authenticate() itself when its backend comes first (every door), else here.
        if not backends.in_front():
            verdict = throttling.admit(request._request, {"username": data["username"], "password": ""})
            if verdict.refused:
                raise exceptions.Throttled(verdict.wait)
        user = auth.authenticate(request._request, username=data["username"], password=data["password"])
        if user is None:
            wait = throttling.refused(request._request)
            if wait is not None:
                raise exceptions.Throttled(wait)
            logger.info("dualauth: failed login from %s", client_ip(request._request))
            raise exceptions.AuthenticationFailed(BAD_CREDENTIALS, code="invalid_credentials")
        signin = services.sign_in(request._request, user, kind)
        credentials.drop_memoised(request._request)
        body: dict[str, Any] = {"user": user_data(user), "kind": kind, "session_id": str(signin.auth_session.pk)}
        if kind == Kind.JWT:
            body.update(_token_body(signin, transport))
        response = Response(body)
        if transport == credentials.COOKIE:
            set_token_cookies(response, _tokens(signin))
            rotate_token(request._request)
        return response


class LogoutView(CredentialsAPIView):
    """Revoke whatever sign-in the request's credentials belong to; needs none of them to be valid."""

    def post(self, request: Request) -> Response:
        try:
            presented = credentials.presented(request._request, _body_refresh(request))
            if presented.from_cookie:
                enforce_csrf(request)
            services.log_out(presented.sids, presented.session_key)
        except NotRecorded:
            services.keep_session_cookie(request._request, credentials.cookie_session_key(request._request))
            raise Unavailable() from None
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if presented.session_key is not None:
            services.end_request_session(request._request)
            if dualauth_settings.CLEAR_SITE_DATA_ON_LOGOUT:
                response["Clear-Site-Data"] = '"cookies"'
        clear_token_cookies(response)
        return response


def _body_refresh(request: Request) -> str | None:
    """The body's refresh token, if any. An unreadable body is an empty one: logout must not fail."""
    try:
        data = request.data
    except (exceptions.ParseError, exceptions.UnsupportedMediaType):
        return None
    value = data.get("refresh") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


class TokenRefreshView(CredentialsAPIView):
    def post(self, request: Request) -> Response:
        if not dualauth_settings.jwt_enabled:
            raise exceptions.NotFound("Tokens are not enabled in session mode.", code="not_enabled")
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw = serializer.validated_data.get("refresh")
        transports = dualauth_settings.JWT_TRANSPORTS
        if raw is not None:
            if credentials.HEADER not in transports:
                raise exceptions.ValidationError({"refresh": ["Refresh tokens are only accepted in the cookie."]})
            transport = credentials.HEADER
        else:
            raw = request.COOKIES.get(dualauth_settings.REFRESH_COOKIE) if credentials.COOKIE in transports else None
            if raw is None:
                raise exceptions.ValidationError({"refresh": ["This field is required."]})
            transport = credentials.COOKIE
            enforce_csrf(request)
        try:
            signin = services.refresh(raw, request._request)
        except SignInRefused as refused:
            response = Response(
                {"detail": refused.detail, "code": refused.code},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
            # A conflict means another tab of this browser has just rotated the token: the sign-in lives, and
            # this answer may land after that tab's new cookies, which clearing them here would delete.
            if transport == credentials.COOKIE and refused.code != "refresh_conflict":
                clear_token_cookies(response)
            return response
        response = Response(_token_body(signin, transport))
        if transport == credentials.COOKIE:
            set_token_cookies(response, _tokens(signin))
        return response


class MeView(DualAuthAPIView):
    def get(self, request: Request) -> Response:
        credential = _credential(request)
        return Response(
            {
                "user": user_data(request.user),
                "kind": credential.kind,
                "session_id": str(credential.sid) if credential.sid else None,
            }
        )


class SessionListView(DualAuthAPIView):
    def get(self, request: Request) -> Response:
        serializer = AuthSessionSerializer(
            services.active_sign_ins(request.user), many=True, context={"current_sid": _credential(request).sid}
        )
        return Response(serializer.data)


class SessionDetailView(DualAuthAPIView):
    def delete(self, request: Request, pk: str) -> Response:
        sid = services.revoke_own(request.user, pk, Reason.USER)
        if sid is None:
            raise exceptions.NotFound("No such sign-in.", code="not_found")
        response = Response(status=status.HTTP_204_NO_CONTENT)
        credential = _credential(request)
        if sid == credential.sid:
            if credential.kind == Kind.SESSION:
                request._request.session.flush()
            elif credential.source == credentials.COOKIE:
                clear_token_cookies(response)
        return response


class RevokeOthersView(DualAuthAPIView):
    def post(self, request: Request) -> Response:
        revoked = services.revoke_user(request.user, Reason.USER, keep=_credential(request).sid)
        return Response({"revoked": revoked})


class CsrfView(PublicAPIView):
    def get(self, request: Request) -> Response:
        return Response({"csrf_token": get_token(request._request)})
