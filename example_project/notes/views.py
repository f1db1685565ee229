"""The demo's two kinds of view: a DRF endpoint and a plain Django view, both reading request.user."""

from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

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


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=4096, trim_whitespace=False)
    new_password = serializers.CharField(min_length=8, max_length=4096, trim_whitespace=False)

    def validate_old_password(self, value: str) -> str:
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError("Wrong password.")
        return value


class PasswordChange(APIView):
    """POST /api/account/password/: dualauth revokes the user's other sign-ins; this one survives."""

    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        request.user.set_password(serializer.validated_data["new_password"])
        request.user.save()
        if request.auth.kind == "session":
            update_session_auth_hash(request._request, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
