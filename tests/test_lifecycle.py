"""The whole story in every mode and flavour: sign in, use, list, sign out, be refused."""

from __future__ import annotations

from typing import Any

import pytest

from dualauth.models import AuthSession
from example_project.notes.models import Note

from .conftest import SignInClient

pytestmark = pytest.mark.django_db


def test_login_answers_user_kind_and_session_id(signed_in: SignInClient, alice: Any) -> None:
    response = signed_in.get("/api/auth/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": alice.pk, "username": "alice", "email": "alice@example.com"}
    assert body["kind"] == signed_in.kind
    assert body["session_id"] == signed_in.session_id
    row = AuthSession.objects.get(pk=signed_in.session_id)
    assert (row.user, row.kind, row.status) == (alice, signed_in.kind, "active")


def test_protected_endpoint_serves_own_notes(signed_in: SignInClient, alice: Any, bob: Any) -> None:
    Note.objects.create(owner=alice, text="mine")
    Note.objects.create(owner=bob, text="not mine")
    response = signed_in.get("/api/notes/")
    assert response.status_code == 200
    assert [n["text"] for n in response.json()] == ["mine"]
    created = signed_in.post("/api/notes/", {"text": "new"})
    assert created.status_code == 201


def test_plain_django_view_sees_the_user(signed_in: SignInClient) -> None:
    response = signed_in.get("/")
    assert b"Signed in as <strong>alice</strong>" in response.content


def test_sessions_lists_the_callers_sign_ins(signed_in: SignInClient, alice: Any, bob: Any) -> None:
    other = SignInClient(signed_in.flavour)
    other.login("alice")
    SignInClient(signed_in.flavour).login("bob")
    response = signed_in.get("/api/auth/sessions/")
    assert response.status_code == 200
    rows = response.json()
    assert {r["id"] for r in rows} == {signed_in.session_id, other.session_id}
    mine = next(r for r in rows if r["id"] == signed_in.session_id)
    assert mine["current"] is True
    assert mine["kind"] == signed_in.kind
    assert mine["ip"] == "127.0.0.1"
    assert mine["device"] == "Chrome 120 on Linux"
    assert set(mine) == {
        "id",
        "kind",
        "ip",
        "user_agent",
        "device",
        "created_at",
        "last_seen_at",
        "expires_at",
        "current",
    }


@pytest.mark.requirement("ASVS-V7.4.1")
def test_logout_then_the_same_credential_is_refused(signed_in: SignInClient) -> None:
    """After logout every copy of the credential is dead: session, access token and refresh token."""
    replay = SignInClient(signed_in.flavour)
    for name, morsel in signed_in.client.cookies.items():
        replay.client.cookies[name] = morsel.value
    replay.access, replay.refresh = signed_in.access, signed_in.refresh
    assert replay.get("/api/notes/").status_code == 200

    response = signed_in.post("/api/auth/logout/")
    assert response.status_code == 204
    assert AuthSession.objects.get(pk=signed_in.session_id).revoked_reason == "logout"

    assert replay.get("/api/notes/").status_code == 401
    assert replay.get("/api/auth/me/").status_code == 401
    assert b"Not signed in" in replay.get("/").content
    if signed_in.kind == "jwt":
        assert replay.do_refresh().status_code == 401


def test_logout_clears_dualauth_cookies(signed_in: SignInClient) -> None:
    response = signed_in.post("/api/auth/logout/")
    for name in ("dualauth_access", "dualauth_refresh"):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0


def test_logout_without_any_credential_is_204() -> None:
    assert SignInClient("header").post("/api/auth/logout/").status_code == 204


def test_refresh_then_keep_working(jwt_signed_in: SignInClient) -> None:
    response = jwt_signed_in.do_refresh()
    assert response.status_code == 200
    assert jwt_signed_in.get("/api/notes/").status_code == 200
