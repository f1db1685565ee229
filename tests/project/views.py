"""A project's own views: a protected API, a password change, a plain page and a page that loads client.js."""

from typing import Any

from django.contrib.auth import update_session_auth_hash
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.html import format_html
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from dualauth.reports import CredentialsViewMixin

from .models import Note


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "text", "created_at"]


class NoteList(generics.ListCreateAPIView):
    """The caller's own notes; POST adds one. On the default authentication class (DualAuthentication)."""

    serializer_class = NoteSerializer

    def get_queryset(self) -> QuerySet[Note]:
        return Note.objects.filter(owner=self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.save(owner=self.request.user)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(min_length=8, max_length=4096, trim_whitespace=False)

    def validate_old_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("Wrong password.")
        return value


class PasswordChange(CredentialsViewMixin, generics.GenericAPIView):
    """A password change as a project writes it: dualauth ends the user's other sign-ins, this one stays.

    ``CredentialsViewMixin`` keeps the passwords out of error reports. A generic view, so drf-spectacular
    describes its body from ``serializer_class`` and the schema (and the fuzzer) reach it too.
    """

    serializer_class = PasswordChangeSerializer

    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request.user.set_password(serializer.validated_data["new_password"])
        request.user.save()
        if request.auth.kind == "session":
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def home(request: HttpRequest) -> HttpResponse:
    """A plain Django view reading request.user, which DualAuthMiddleware has made right for any credential."""
    if request.user.is_authenticated:
        return HttpResponse(format_html("<p>Signed in as <strong>{}</strong>.</p>", request.user.get_username()))
    return HttpResponse("<p>Not signed in.</p>")


def client_js(request: HttpRequest) -> HttpResponse:
    """A page of the site that loads dualauth's client.js and nothing else (tests/test_client_js.py)."""
    page = '<!doctype html><title>client.js</title><script src="{}"></script>'
    return HttpResponse(format_html(page, static("dualauth/client.js")))
