"""One small endpoint per authentication class under test, and dualauth's own URLs to sign in."""

from typing import Any

from django.contrib import admin
from django.urls import include, path
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication, JWTStatelessUserAuthentication

from dualauth.authentication import DualAuthentication


class Whoami(APIView):
    """What an authenticated endpoint does at the least: know who is asking."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"username": request.user.get_username()})


class Floor(Whoami):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]


def whoami(*classes: type) -> Any:
    return Whoami.as_view(authentication_classes=list(classes))


urlpatterns = [
    path("floor/", Floor.as_view()),
    path("simplejwt/", whoami(JWTAuthentication)),
    path("simplejwt-stateless/", whoami(JWTStatelessUserAuthentication)),
    path("drf-session/", whoami(SessionAuthentication)),
    path("dualauth/", whoami(DualAuthentication)),
    path("api/auth/", include("dualauth.urls")),
    path("admin/", admin.site.urls),
]
