"""Login: each kind and transport, key rotation, CSRF, generic failures, throttling."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings

from dualauth.models import AuthSession

from .conftest import SignInClient, session_exists

pytestmark = pytest.mark.django_db


def test_header_login_returns_tokens_and_sets_no_token_cookie(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("header")
    response = client.login("alice")
    body = response.json()
    assert {"access", "refresh", "access_expires_at", "refresh_expires_at", "user", "kind", "session_id"} == set(body)
    assert "dualauth_access" not in response.cookies
    assert "dualauth_refresh" not in response.cookies


def test_cookie_login_sets_httponly_cookies_and_no_tokens_in_body(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("cookie")
    response = client.login("alice")
    assert response.status_code == 200
    body = response.json()
    assert "access" not in body
    assert "refresh" not in body
    access = response.cookies["dualauth_access"]
    refresh = response.cookies["dualauth_refresh"]
    for cookie in (access, refresh):
        assert cookie["httponly"] is True
        assert cookie["secure"] is True  # DEBUG is False in tests
        assert cookie["samesite"] == "Lax"
    assert refresh["path"] == "/api/auth/"
    assert "csrftoken" in response.cookies  # rotated with the new credential


def test_cookies_are_not_secure_under_debug_unless_forced(alice: Any, use_mode: Any, settings: Any) -> None:
    settings.DEBUG = True
    use_mode("jwt")
    assert SignInClient("cookie").login("alice").cookies["dualauth_access"]["secure"] == ""
    use_mode("jwt", COOKIE_SECURE=True)
    assert SignInClient("cookie").login("alice").cookies["dualauth_access"]["secure"] is True


def test_session_login_rotates_the_session_key(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    planted = import_module(settings.SESSION_ENGINE).SessionStore()
    planted["cart"] = ["book"]
    planted.create()  # a real anonymous session, as an attacker could obtain and plant
    client = SignInClient("session")
    client.csrf()
    client.client.cookies["sessionid"] = planted.session_key
    client.login("alice")
    key = client.client.cookies["sessionid"].value
    assert key != planted.session_key
    assert not session_exists(planted.session_key)
    assert client.client.session["cart"] == ["book"]  # the visitor's data survives the rotation
    first_sid = client.session_id
    client.login("alice")  # same user again on the same session: still a new key
    assert client.client.cookies["sessionid"].value != key
    assert not session_exists(key)
    assert AuthSession.objects.get(pk=first_sid).revoked_reason == "superseded"


def test_another_user_on_the_same_browser_supersedes_the_first(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    alices = client.session_id
    client.login("bob")
    assert AuthSession.objects.get(pk=alices).revoked_reason == "superseded"
    bobs = AuthSession.objects.get(pk=client.session_id)
    assert bobs.session_key == client.client.cookies["sessionid"].value
    assert client.get("/api/auth/me/").json()["user"]["username"] == "bob"


def test_admin_login_as_another_user_supersedes_too(alice: Any, make_user: Any, use_mode: Any) -> None:
    from django.test import Client

    use_mode("session")
    make_user("admin", is_staff=True)
    browser = Client()
    browser.post("/admin/login/", {"username": "alice", "password": "alice"})  # not staff: refused
    assert not AuthSession.objects.exists()
    browser.force_login(alice)
    alices = AuthSession.objects.get()
    browser.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin"})
    alices.refresh_from_db()
    assert alices.revoked_reason == "superseded"
    assert AuthSession.objects.filter(revoked_at__isnull=True).get().user.username == "admin"


@pytest.mark.parametrize("flavour", ["session", "cookie"])
def test_login_that_sets_a_credential_cookie_needs_csrf(alice: Any, use_mode: Any, flavour: str) -> None:
    use_mode("hybrid")
    client = SignInClient(flavour)
    body = {"username": "alice", "password": "alice", "kind": "session" if flavour == "session" else "jwt"}
    if flavour == "cookie":
        body["transport"] = "cookie"
    response = client.client.post("/api/auth/login/", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not AuthSession.objects.exists()


def test_header_login_needs_no_csrf(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    body = {"username": "alice", "password": "alice", "transport": "header"}
    assert SignInClient("header").client.post("/api/auth/login/", body, format="json").status_code == 200


@pytest.mark.parametrize(
    ("mode", "body", "field"),
    [
        ("session", {"kind": "jwt"}, "kind"),
        ("jwt", {"kind": "session"}, "kind"),
        ("jwt", {"transport": "pigeon"}, "transport"),
        ("hybrid", {"kind": "session", "transport": "header"}, "transport"),
    ],
)
def test_kind_and_transport_are_validated(alice: Any, use_mode: Any, mode: str, body: dict, field: str) -> None:
    use_mode(mode)
    response = SignInClient("header").post("/api/auth/login/", {"username": "alice", "password": "alice", **body})
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_transport_outside_jwt_transports_is_400(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", JWT_TRANSPORTS=["cookie"])
    response = SignInClient("header").post(
        "/api/auth/login/", {"username": "alice", "password": "alice", "transport": "header"}
    )
    assert response.status_code == 400
    assert "transport" in response.json()["errors"]


def test_hybrid_default_kind(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid", HYBRID_DEFAULT_KIND="jwt")
    response = SignInClient("header").post("/api/auth/login/", {"username": "alice", "password": "alice"})
    assert response.json()["kind"] == "jwt"
    assert "access" in response.json()


def test_login_records_ip_and_user_agent(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    row = AuthSession.objects.get(pk=client.session_id)
    assert row.ip == "127.0.0.1"
    assert "Chrome/120" in row.user_agent
    alice.refresh_from_db()
    assert alice.last_login is not None
