"""A revoked sign-in is refused on its very next request, whatever carries it."""

from __future__ import annotations

from typing import Any

import pytest

from dualauth import services, signals
from dualauth.models import AuthSession

from .conftest import SignInClient, rewrite_sign_in, session_exists

pytestmark = pytest.mark.django_db


def test_revoked_access_token_is_refused_before_it_expires(jwt_signed_in: SignInClient) -> None:
    assert jwt_signed_in.get("/api/notes/").status_code == 200
    services.revoke(jwt_signed_in.session_id, "admin")  # type: ignore[arg-type]
    response = jwt_signed_in.get("/api/notes/")
    assert response.status_code == 401
    assert response.json() == {"detail": "This sign-in has ended.", "code": "session_ended"}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_revoked_session_is_refused_even_if_its_session_row_survives(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    key = client.client.cookies["sessionid"].value
    rewrite_sign_in(client.session_id, revoked_at="2020-01-01T00:00:00Z")
    assert session_exists(key)
    assert client.get("/api/notes/").status_code == 401
    assert not session_exists(key)  # flushed on the spot


def test_revoking_a_session_deletes_it_from_the_session_store(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    key = client.client.cookies["sessionid"].value
    assert AuthSession.objects.get(pk=client.session_id).session_key == key
    assert services.revoke(client.session_id, "admin") is True  # type: ignore[arg-type]
    assert not session_exists(key)
    assert services.revoke(client.session_id, "admin") is False  # type: ignore[arg-type]


def test_revoking_signals_once_with_the_reason(signed_in: SignInClient, capture_signal: Any) -> None:
    sent = capture_signal(signals.session_revoked)
    services.revoke(signed_in.session_id, "admin")  # type: ignore[arg-type]
    services.revoke(signed_in.session_id, "admin")  # type: ignore[arg-type]
    assert [kwargs["reason"] for kwargs in sent] == ["admin"]


def test_user_revokes_another_of_their_sign_ins(signed_in: SignInClient) -> None:
    other = SignInClient(signed_in.flavour)
    other.login("alice")
    response = signed_in.delete(f"/api/auth/sessions/{other.session_id}/")
    assert response.status_code == 204
    assert AuthSession.objects.get(pk=other.session_id).revoked_reason == "user"
    assert other.get("/api/notes/").status_code == 401
    assert signed_in.get("/api/notes/").status_code == 200


def test_user_revokes_the_current_sign_in(signed_in: SignInClient) -> None:
    assert signed_in.delete(f"/api/auth/sessions/{signed_in.session_id}/").status_code == 204
    assert signed_in.get("/api/notes/").status_code == 401


def test_someone_elses_sign_in_is_404(signed_in: SignInClient, bob: Any) -> None:
    theirs = SignInClient(signed_in.flavour)
    theirs.login("bob")
    response = signed_in.delete(f"/api/auth/sessions/{theirs.session_id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert AuthSession.objects.get(pk=theirs.session_id).status == "active"
    assert signed_in.delete("/api/auth/sessions/not-a-uuid/").status_code == 404
    assert signed_in.delete("/api/auth/sessions/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_revoke_others_keeps_only_the_current_one(signed_in: SignInClient) -> None:
    others = [SignInClient(signed_in.flavour) for _ in range(2)]
    for other in others:
        other.login("alice")
    response = signed_in.post("/api/auth/sessions/revoke-others/")
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert signed_in.get("/api/notes/").status_code == 200
    assert all(o.get("/api/notes/").status_code == 401 for o in others)


def test_revoke_user_ends_every_kind(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid")
    clients = [SignInClient(f) for f in ("session", "header", "cookie")]
    for client in clients:
        client.login("alice")
    assert services.revoke_user(alice, "admin", kind="jwt") == 2
    assert [c.get("/api/notes/").status_code for c in clients] == [200, 401, 401]
    assert services.revoke_user(alice, "admin") == 1
    assert clients[0].get("/api/notes/").status_code == 401
