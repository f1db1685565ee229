"""The demo's views: DRF endpoints, plain Django views reading request.user, and the two sign-in pages."""

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from dualauth.conf import dualauth_settings
from dualauth.reports import CredentialsViewMixin

from .models import Note


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "text", "created_at"]


class NoteList(generics.ListCreateAPIView):
    """GET /api/notes/: the caller's own notes; POST adds one. Authenticated by DualAuthentication."""

    serializer_class = NoteSerializer

    def get_queryset(self):
        return Note.objects.filter(owner=self.request.user)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


def home(request: HttpRequest) -> HttpResponse:
    """A plain Django view: DualAuthMiddleware has made request.user right for any credential."""
    return render(request, "home.html", {"user": request.user})


DEMO_PAGES = {
    "session": {"title": "Sign in with a session", "modes": ("session", "hybrid")},
    "jwt": {"title": "Sign in with tokens (cookies)", "modes": ("jwt", "hybrid")},
}


def demo(request: HttpRequest, kind: str) -> HttpResponse:
    """A page that signs in with ``kind`` through the HTTP API; static/notes/demo.js does the work."""
    page = DEMO_PAGES[kind]
    mode = dualauth_settings.MODE
    unavailable = None
    if mode not in page["modes"]:
        unavailable = f"The site runs in {mode} mode, which does not allow {kind} sign-ins."
    elif kind == "jwt" and "cookie" not in dualauth_settings.JWT_TRANSPORTS:
        unavailable = 'The cookie transport is not enabled (DUALAUTH["JWT_TRANSPORTS"]).'
    context = {
        "kind": kind,
        "title": page["title"],
        "unavailable": unavailable,
        "api": reverse("dualauth:me").removesuffix("me/"),  # where dualauth.urls is mounted
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
    }
    return render(request, "demo.html", context)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(min_length=8, max_length=4096, trim_whitespace=False)

    def validate_old_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError("Wrong password.")
        return value


class PasswordChange(CredentialsViewMixin, APIView):
    """POST /api/account/password/: dualauth revokes the user's other sign-ins; this one survives.

    ``CredentialsViewMixin`` keeps the passwords out of Django's error reports.
    """

    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        request.user.set_password(serializer.validated_data["new_password"])
        request.user.save()
        if request.auth.kind == "session":
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
