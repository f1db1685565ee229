"""The demo's two kinds of view: a DRF endpoint and a plain Django view, both reading request.user."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import generics, serializers

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
