"""Session management (ASVS 5.0 V7, OWASP Session Management Cheat Sheet) for session-kind sign-ins."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from dualauth.models import AuthSession

from ..conftest import SignInClient, session_exists, stored_session_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(alice: Any, use_mode: Any) -> SignInClient:
    use_mode("session")
    return SignInClient("session")


def _planted_session() -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["theme"] = "dark"
    store.create()
    return store.session_key  # type: ignore[no-any-return]


def test_new_session_token_on_authentication_and_the_old_one_ends(browser: SignInClient) -> None:
    """ASVS 5.0 V7.2.4 (session fixation, CWE-384): login issues a new id and destroys the one presented."""
    planted = _planted_session()
    browser.csrf()
    browser.client.cookies["sessionid"] = planted
    browser.login("alice")
    assert browser.client.cookies["sessionid"].value != planted
    assert not session_exists(planted)
    attacker = Client()
    attacker.cookies["sessionid"] = planted
    assert b"Not signed in" in attacker.get("/").content


def test_re_authentication_also_rotates_the_key(browser: SignInClient) -> None:
    """ASVS 5.0 V7.2.4: "including re-authentication" — the same user signing in again gets a new id."""
    browser.login("alice")
    first = browser.client.cookies["sessionid"].value
    browser.login("alice")
    assert browser.client.cookies["sessionid"].value != first
    assert not session_exists(first)


def _copy_of(client: SignInClient) -> Client:
    thief = Client()
    thief.cookies["sessionid"] = client.client.cookies["sessionid"].value
    return thief


def test_a_privilege_change_makes_a_copied_session_id_worthless(browser: SignInClient, alice: Any) -> None:
    """OWASP Session Management Cheat Sheet, "Renew the Session ID After Any Privilege Level Change".

    The id is dead when the change is saved, not when the cookie is next seen:
    a thief who presents a copied id first must not inherit the new rights.
    """
    browser.login("alice")
    thief = _copy_of(browser)
    alice.is_staff = True
    alice.save()
    assert b"Not signed in" in thief.get("/").content
    assert browser.get("/api/auth/me/").status_code == 401  # the user signs in again, with a new id
    assert AuthSession.objects.get(pk=browser.session_id).revoked_reason == "privilege_change"


@pytest.mark.urls("tests.urls")
def test_a_privilege_change_in_the_users_own_request_renews_that_session(browser: SignInClient) -> None:
    """OWASP: renew the id on the privilege change; the request that made it keeps its sign-in under a new key."""
    browser.login("alice")
    other = SignInClient("session")
    other.login("alice")
    before = browser.client.cookies["sessionid"].value
    thief = _copy_of(browser)
    assert browser.post("/become-staff/").status_code == 204
    after = browser.client.cookies["sessionid"].value
    assert after != before
    assert not session_exists(before)
    assert browser.get("/api/auth/me/").status_code == 200
    assert AuthSession.objects.get(pk=browser.session_id).session_key == after
    assert b"Not signed in" in thief.get("/").content
    assert other.get("/api/auth/me/").status_code == 401


def test_a_privilege_change_no_signal_saw_is_caught_on_the_next_request(browser: SignInClient, alice: Any) -> None:
    """QuerySet.update() sends no signal; the session's privilege mark still ends it, whoever comes first."""
    browser.login("alice")
    thief = _copy_of(browser)
    type(alice).objects.filter(pk=alice.pk).update(is_superuser=True)
    assert b"Not signed in" in thief.get("/").content
    assert browser.get("/api/auth/me/").status_code == 401
    assert AuthSession.objects.get(pk=browser.session_id).revoked_reason == "privilege_change"


def test_saving_a_user_without_changes_ends_nothing(browser: SignInClient, alice: Any) -> None:
    browser.login("alice")
    alice.first_name = "Alice"
    alice.save()
    type(alice).objects.get(pk=alice.pk).save()
    assert browser.get("/api/auth/me/").status_code == 200


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


def test_a_session_id_the_server_never_issued_is_not_adopted(browser: SignInClient) -> None:
    """ASVS 5.0 V7.2.1: only ids the server issued are honoured; a made-up one creates nothing."""
    browser.client.cookies["sessionid"] = "x" * 32
    assert b"Not signed in" in browser.get("/").content
    assert browser.get("/api/auth/me/").status_code == 401
    assert stored_session_count() == 0
    assert not AuthSession.objects.exists()


def test_session_ids_have_enough_entropy(browser: SignInClient) -> None:
    """ASVS 5.0 V7.2.3 (a guard on Django's keys, which dualauth relies on): at least 128 bits of CSPRNG."""
    browser.login("alice")
    key = browser.client.cookies["sessionid"].value
    assert len(key) >= 32
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyz0123456789")


def test_logout_ends_the_session_on_the_server(browser: SignInClient) -> None:
    """ASVS 5.0 V7.4.1: logout invalidates the session server-side; a replayed cookie is worthless."""
    browser.login("alice")
    key = browser.client.cookies["sessionid"].value
    response = browser.post("/api/auth/logout/")
    assert response.status_code == 204
    assert not session_exists(key)
    replay = Client()
    replay.cookies["sessionid"] = key
    assert b"Not signed in" in replay.get("/").content


def test_session_logout_sends_clear_site_data(browser: SignInClient, settings: Any) -> None:
    """ASVS 5.0 V14.3.1: Clear-Site-Data at logout, so the browser drops what the session left behind."""
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


@pytest.mark.urls("tests.urls")
def test_a_request_with_the_old_id_during_a_step_up_does_not_end_the_sign_in(browser: SignInClient) -> None:
    """Another tab still sends the id a step-up just replaced: its session is gone, but the sign-in moved
    with the new id at once, so nothing takes it for a lost session."""
    from .. import urls

    browser.login("alice")
    other_tab = _copy_of(browser)
    urls.DURING_STEP_UP.append(lambda: other_tab.get("/api/auth/me/"))
    try:
        assert browser.post("/step-up/").status_code == 204
    finally:
        urls.DURING_STEP_UP.clear()
    assert browser.get("/api/auth/me/").status_code == 200
    assert AuthSession.objects.get(pk=browser.session_id).revoked_at is None


def test_a_request_under_a_replaced_id_does_not_move_the_sign_in_back(browser: SignInClient) -> None:
    """The row follows a new id; a late request still carrying the old, deleted one must not write it back."""
    from django.test import RequestFactory

    from dualauth import services
    from dualauth.stores import get_store

    browser.login("alice")
    key = browser.client.cookies["sessionid"].value
    request = RequestFactory().get("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore("a-key-since-replaced-and-deleted")
    state = get_store().get(AuthSession.objects.get(pk=browser.session_id).pk)
    services.touch(state, request)  # type: ignore[arg-type]
    assert AuthSession.objects.get(pk=browser.session_id).session_key == key
