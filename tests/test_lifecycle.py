"""The whole story in every mode and flavour: sign in, use, list, sign out, be refused; what a session leaves behind."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from dualauth.models import AuthSession

from .conftest import SignInClient, session_exists, stored_session_count
from .project.models import Note

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
    """After logout every copy of the credential is dead: session (deleted on the server), access token and
    refresh token."""
    replay = SignInClient(signed_in.flavour)
    for name, morsel in signed_in.client.cookies.items():
        replay.client.cookies[name] = morsel.value
    replay.access, replay.refresh = signed_in.access, signed_in.refresh
    assert replay.get("/api/notes/").status_code == 200

    response = signed_in.post("/api/auth/logout/")
    assert response.status_code == 204
    assert AuthSession.objects.get(pk=signed_in.session_id).revoked_reason == "logout"
    if signed_in.kind == "session":
        assert not session_exists(replay.client.cookies["sessionid"].value)

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


@pytest.mark.requirement("ASVS-V14.3.1")
def test_session_logout_sends_clear_site_data(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V14.3.1: Clear-Site-Data at logout, so the browser drops what the session left behind."""
    use_mode("session")
    browser = SignInClient("session")
    browser.login("alice")
    assert browser.post("/api/auth/logout/")["Clear-Site-Data"] == '"cookies"'
    browser.login("alice")
    browser.client.cookies.pop("csrftoken")
    browser.csrf()
    settings.DUALAUTH = {**settings.DUALAUTH, "CLEAR_SITE_DATA_ON_LOGOUT": False}
    assert "Clear-Site-Data" not in browser.post("/api/auth/logout/")


def test_token_logout_does_not_send_clear_site_data(alice: Any, use_mode: Any) -> None:
    """A bearer client has nothing in the browser to clear; other tabs' cookies are left alone."""
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    assert "Clear-Site-Data" not in client.post("/api/auth/logout/")


def test_logout_without_any_credential_is_204() -> None:
    assert SignInClient("header").post("/api/auth/logout/").status_code == 204


def test_refresh_then_keep_working(jwt_signed_in: SignInClient) -> None:
    response = jwt_signed_in.do_refresh()
    assert response.status_code == 200
    assert jwt_signed_in.get("/api/notes/").status_code == 200


@pytest.mark.requirement("CVE-2015-5143", "CVE-2015-5963")
def test_no_session_is_stored_for_anonymous_requests(alice: Any, use_mode: Any) -> None:
    """Django CVE-2015-5143/CVE-2015-5963 (empty sessions as DoS): nothing is stored for anonymous visitors."""
    use_mode("hybrid")
    visitor = SignInClient("session")
    visitor.get("/")
    visitor.get("/api/auth/me/")
    visitor.csrf()
    visitor.login("alice", "wrong")
    visitor.post("/api/auth/logout/")
    assert stored_session_count() == 0
    assert "sessionid" not in visitor.client.cookies or visitor.client.cookies["sessionid"].value == ""


# A session's key changes under its sign-in (a step-up) ---------------------------------------------


def test_a_request_with_the_old_id_during_a_step_up_does_not_end_the_sign_in(alice: Any, use_mode: Any) -> None:
    """Another tab still sends the id a step-up just replaced: its session is gone, but the sign-in moved
    with the new id at once, so nothing takes it for a lost session."""
    from . import urls

    use_mode("session")
    browser = SignInClient("session")
    browser.login("alice")
    other_tab = Client()
    other_tab.cookies["sessionid"] = browser.client.cookies["sessionid"].value
    urls.DURING_STEP_UP.append(lambda: other_tab.get("/api/auth/me/"))
    try:
        assert browser.post("/step-up/").status_code == 204
    finally:
        urls.DURING_STEP_UP.clear()
    assert browser.get("/api/auth/me/").status_code == 200
    assert AuthSession.objects.get(pk=browser.session_id).revoked_at is None


def test_an_async_step_up_moves_the_sign_in_with_the_new_id_at_once(alice: Any, use_mode: Any) -> None:
    """As the sync step-up: another tab's request with the old id, made meanwhile, does not end it."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    from . import urls

    use_mode("session")
    signed_in = SignInClient("session")
    signed_in.login("alice")
    old_key = signed_in.client.cookies["sessionid"].value
    browser = AsyncClient()
    browser.cookies["sessionid"] = old_key
    other_tab = Client()
    other_tab.cookies["sessionid"] = old_key
    urls.DURING_STEP_UP.append(lambda: other_tab.get("/api/auth/me/"))
    try:
        assert async_to_sync(browser.post)("/async-step-up/").status_code == 204
    finally:
        urls.DURING_STEP_UP.clear()
    new_key = browser.cookies["sessionid"].value
    assert new_key != old_key
    assert AuthSession.objects.get(pk=signed_in.session_id).session_key == new_key
    assert async_to_sync(browser.get)("/api/auth/me/").status_code == 200


def test_a_request_under_a_replaced_id_does_not_move_the_sign_in_back(alice: Any, use_mode: Any) -> None:
    """The row follows a new id; a late request still carrying the old, deleted one must not write it back."""
    from django.test import RequestFactory

    from dualauth import services
    from dualauth.stores import get_store

    use_mode("session")
    browser = SignInClient("session")
    browser.login("alice")
    key = browser.client.cookies["sessionid"].value
    request = RequestFactory().get("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore("a-key-since-replaced-and-deleted")
    state = get_store().get(AuthSession.objects.get(pk=browser.session_id).pk)
    services.touch(state, request)  # type: ignore[arg-type]
    assert AuthSession.objects.get(pk=browser.session_id).session_key == key


def test_djangos_logout_signal_without_a_request_or_session_ends_nothing(alice: Any, use_mode: Any) -> None:
    """``user_logged_out`` sent by a project's own code (a task, a test helper) carries no session to end."""
    from django.contrib.auth.signals import user_logged_out
    from django.test import RequestFactory

    client = SignInClient("session")
    use_mode("hybrid")
    assert client.login("alice").status_code == 200
    for request in (None, RequestFactory().post("/")):
        user_logged_out.send(sender=type(alice), request=request, user=alice)
    assert client.get("/api/auth/me/").status_code == 200


def test_a_site_without_time_zones_signs_in_refreshes_and_logs_out(alice: Any, flavour: str, settings: Any) -> None:
    """``USE_TZ = False`` (Django's default before 5.0): every flavour, end to end."""
    settings.USE_TZ = False
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    if client.kind == "jwt":
        assert client.do_refresh().status_code == 200
    assert client.get("/api/auth/sessions/").status_code == 200
    assert client.post("/api/auth/logout/").status_code == 204
    assert client.get("/api/auth/me/").status_code == 401


def _async_browser(signed_in: SignInClient) -> Any:
    from django.test import AsyncClient

    browser = AsyncClient()
    browser.cookies["sessionid"] = signed_in.client.cookies["sessionid"].value
    return browser


def test_a_session_key_changed_another_way_in_an_async_view_is_followed(alice: Any, use_mode: Any) -> None:
    from asgiref.sync import async_to_sync

    use_mode("session")
    signed_in = SignInClient("session")
    signed_in.login("alice")
    browser = _async_browser(signed_in)
    assert async_to_sync(browser.post)("/async-new-session-key/").status_code == 204
    new_key = browser.cookies["sessionid"].value
    assert new_key != signed_in.client.cookies["sessionid"].value
    assert AuthSession.objects.get(pk=signed_in.session_id).session_key == new_key


def test_a_users_own_promotion_in_an_async_view_keeps_that_sign_in_under_a_new_key(alice: Any, use_mode: Any) -> None:
    """As in a sync view: the request that changed the user's privileges keeps its sign-in, renewed; the others end."""
    from asgiref.sync import async_to_sync

    use_mode("hybrid")
    signed_in, other = SignInClient("session"), SignInClient("header")
    signed_in.login("alice")
    other.login("alice")
    browser = _async_browser(signed_in)
    old_key = browser.cookies["sessionid"].value
    assert async_to_sync(browser.post)("/async-become-staff/").status_code == 204
    assert browser.cookies["sessionid"].value != old_key
    assert async_to_sync(browser.get)("/api/auth/me/").status_code == 200
    assert other.get("/api/auth/me/").status_code == 401
