"""For tests/test_openapi.py: the suite's URLs plus its notes API on dualauth's JWT and session classes
named explicitly, as a project may name them on its own views (``@pytest.mark.urls("tests.openapi_urls")``)."""

from django.urls import include, path

from dualauth.authentication import JWTAuthentication, SessionAuthentication
from tests.project.views import NoteList


class TokenNotes(NoteList):
    authentication_classes = [JWTAuthentication]


class SessionNotes(NoteList):
    authentication_classes = [SessionAuthentication]


urlpatterns = [
    path("api/token-notes/", TokenNotes.as_view()),
    path("api/session-notes/", SessionNotes.as_view()),
    path("", include("tests.urls")),
]
