"""For the wiring checks: a URL conf with DRF views that bypass dualauth and some that do not, and a
project's own subclass of the middleware."""

from typing import Any

from django.urls import include, path
from django.utils.module_loading import import_string
from rest_framework.authentication import BasicAuthentication
from rest_framework.decorators import api_view, authentication_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.views import TokenObtainPairView

from dualauth.authentication import DualAuthentication
from dualauth.middleware import DualAuthMiddleware


class OwnDualAuthMiddleware(DualAuthMiddleware):
    pass


class LegacyJWT(JWTAuthentication):
    """A project's own subclass still bypasses dualauth."""


class TokenView(APIView):
    authentication_classes = [LegacyJWT]

    def get(self, request: Request) -> Response:
        return Response({})


class Fine(APIView):
    authentication_classes = [DualAuthentication]

    def get(self, request: Request) -> Response:
        return Response({})


class Public(APIView):
    authentication_classes: list[type] = []

    def get(self, request: Request) -> Response:
        return Response({})


@api_view(["GET"])
@authentication_classes([BasicAuthentication])
def basic(request: Request) -> Response:
    return Response({})


class Things(ViewSet):
    authentication_classes = [DualAuthentication, JWTAuthentication]

    def list(self, request: Request) -> Response:
        return Response([])


class Odd(APIView):
    authentication_classes = None  # type: ignore[assignment]


class LazyView:
    """A project's lazily imported view: reading any of its attributes imports the real one, and here that fails."""

    def __init__(self, dotted_path: str) -> None:
        self.dotted_path = dotted_path

    def __call__(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return import_string(self.dotted_path)(request, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(import_string(self.dotted_path), name)


class Misspelt:
    """A URL conf whose list is misspelt: including it works, reading its patterns fails."""

    urlpattern: list[Any] = []


nested = [path("basic/", basic), path("things/", Things.as_view({"get": "list"}))]

urlpatterns = [
    path("token/", TokenView.as_view()),
    path("fine/", Fine.as_view()),
    path("public/", Public.as_view()),
    path("odd/", Odd.as_view()),
    path("lazy/", LazyView("tests.no_such_module.view")),
    path("misspelt/", include(Misspelt)),  # type: ignore[arg-type]
    path("v1/", include(nested)),
    path("simplejwt/token/", TokenObtainPairView.as_view()),
    path("", include("tests.urls")),
]
