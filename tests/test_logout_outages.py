"""A logout is recorded, or it says it was not: outages of the session store and of the database.

Django's sessions live on a private ``redis-server`` that persists (append-only
file, fsync on every write), as production session stores are run: stopped,
it loses nothing, and restarted, it brings back every session it held. A
logout made meanwhile must still end the sign-in (found by its session key,
since the session data cannot be read), so the session that comes back is
refused. When the database cannot record a logout either, the answer is a
503, never a 204.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from redis.backoff import NoBackoff
from redis.retry import Retry

from dualauth.exceptions import UNRECORDED
from dualauth.models import AuthSession

from .conftest import SignInClient, require_programs
from .redis_server import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    require_programs("redis-server")
    server = RedisServer("--appendonly", "yes", "--appendfsync", "always")
    server.start()
    yield server
    server.close()


@pytest.fixture(params=["ignore-exceptions", "raise-exceptions"])
def sessions_on_redis(
    request: pytest.FixtureRequest, server: RedisServer, settings: Any, use_mode: Any, monkeypatch: Any
) -> RedisServer:
    """Django sessions in the private Redis (the ``cache`` engine: nowhere else); the state store as the
    profile runs it. With django-redis' ``IGNORE_EXCEPTIONS`` an unreadable session looks empty; without, it raises."""
    from django_redis.pool import ConnectionFactory

    if server.process is None:
        server.start()
    server.client().flushall()
    monkeypatch.setattr(ConnectionFactory, "_pools", {})
    settings.CACHES = {
        **settings.CACHES,
        "sessions": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": request.param == "ignore-exceptions",
                "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
            },
        },
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    settings.SESSION_CACHE_ALIAS = "sessions"
    use_mode("hybrid")
    return server


def _admin_browser() -> Client:
    """A browser signed in to the admin as ``admin`` (password ``admin``), CSRF checks on."""
    browser = Client(enforce_csrf_checks=True)
    browser.get("/admin/login/")
    csrf = browser.cookies["csrftoken"].value
    login = browser.post("/admin/login/", {"username": "admin", "password": "admin", "csrfmiddlewaretoken": csrf})
    assert login.status_code == 302
    assert browser.get("/admin/").status_code == 200
    return browser


def _session_keys(server: RedisServer) -> list[bytes]:
    return server.client().keys("*django.contrib.sessions.cache*")


def test_a_logout_while_the_session_store_is_down_ends_the_sign_in_for_good(
    sessions_on_redis: RedisServer, alice: Any
) -> None:
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    stolen = client.copy()
    sessions_on_redis.stop()
    assert client.post("/api/auth/logout/").status_code == 204
    row = AuthSession.objects.get(pk=client.session_id)
    assert row.revoked_reason == "logout"
    sessions_on_redis.start()  # from its append-only file: the session is back...
    assert _session_keys(sessions_on_redis)
    assert stolen.get("/api/auth/me/").status_code == 401  # ...and refused
    assert b"Not signed in" in stolen.client.get("/").content


def test_a_logout_while_the_session_store_is_down_still_needs_the_csrf_token(
    sessions_on_redis: RedisServer, alice: Any
) -> None:
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    sessions_on_redis.stop()
    forged = client.client.post("/api/auth/logout/", {}, format="json")  # no X-CSRFToken header
    assert forged.status_code == 403
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is None


@pytest.mark.parametrize("logout", ["/accounts/logout/", "/admin/logout/"], ids=["django-logout", "admin-logout"])
def test_djangos_and_the_admins_logout_while_the_session_store_is_down_end_the_sign_in(
    sessions_on_redis: RedisServer, make_user: Any, logout: str
) -> None:
    """Django's ``logout()`` (its ``LogoutView``; allauth's and others' call it too), and the admin's logout,
    which sees an anonymous user and would only redirect: paths that start from a session cookie too."""
    admin = make_user("admin", is_staff=True, is_superuser=True)
    browser = _admin_browser()
    kept = browser.cookies["sessionid"].value
    sessions_on_redis.stop()
    forged = Client(enforce_csrf_checks=True)
    forged.cookies["sessionid"] = kept
    forged.post(logout)  # no CSRF token: nothing ends
    assert AuthSession.objects.get(user=admin).revoked_at is None
    browser.post(logout, {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert AuthSession.objects.get(user=admin).revoked_reason in ("logout", "session_lost")  # whichever saw it first
    sessions_on_redis.start()
    thief = Client()
    thief.cookies["sessionid"] = kept
    assert thief.get("/admin/").status_code == 302  # to the login page


class DatabaseDown:
    """Every query fails the way an unreachable database fails (Django's own execute_wrapper hook)."""

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("could not connect to server: Connection refused")


@pytest.mark.parametrize("flavour", ["session", "header", "cookie"])
def test_when_nothing_can_record_the_logout_the_answer_is_503(
    sessions_on_redis: RedisServer, alice: Any, flavour: str
) -> None:
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    sessions_on_redis.stop()
    with connection.execute_wrapper(DatabaseDown()):
        body = {"refresh": client.refresh} if flavour == "header" else {}
        answer = client.post("/api/auth/logout/", body)
    assert answer.status_code == 503
    assert answer.json()["code"] == "unavailable"
    assert answer["Retry-After"]
    assert "dualauth_access" not in answer.cookies  # the client keeps what it needs to try again
    assert "sessionid" not in answer.cookies
    sessions_on_redis.start()
    assert client.get("/api/auth/me/").status_code == 200  # nothing was ended: that is what the 503 said
    assert client.post("/api/auth/logout/", body).status_code == 204  # and trying again works
    assert client.get("/api/auth/me/").status_code == 401


def test_when_only_the_database_is_down_the_logout_is_a_503_and_the_session_is_gone(
    sessions_on_redis: RedisServer, alice: Any
) -> None:
    """The session store can delete the session but cannot record the sign-in's end for good (a restore from an
    older snapshot would bring it back): only the database can, so this is a 503 too, and trying again ends it."""
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    with connection.execute_wrapper(DatabaseDown()):
        assert client.post("/api/auth/logout/").status_code == 503
    assert not _session_keys(sessions_on_redis)
    assert client.post("/api/auth/logout/").status_code == 204
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"


def test_a_key_cycled_by_djangos_password_change_is_followed_before_the_next_outage(
    sessions_on_redis: RedisServer, alice: Any
) -> None:
    """``update_session_auth_hash()`` gives the session a new key after dualauth saw the request: the sign-in's
    row follows at once, or a logout during an outage right after would find nothing by the new key."""
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    change = {"old_password": "alice", "new_password": "a-brand-new-password"}
    assert client.post("/api/account/password/", change).status_code == 204
    key = client.client.cookies["sessionid"].value
    assert AuthSession.objects.get(pk=client.session_id).session_key == key
    stolen = client.copy()
    sessions_on_redis.stop()
    assert client.post("/api/auth/logout/").status_code == 204
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"
    sessions_on_redis.start()
    assert stolen.get("/api/auth/me/").status_code == 401


def test_djangos_logout_when_nothing_can_record_it_is_a_503_that_keeps_the_cookie(
    sessions_on_redis: RedisServer, make_user: Any
) -> None:
    make_user("admin", is_staff=True, is_superuser=True)
    browser = _admin_browser()
    sessions_on_redis.stop()
    with connection.execute_wrapper(DatabaseDown()):
        answer = browser.post("/accounts/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
        admin_answer = browser.post("/admin/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert (answer.status_code, admin_answer.status_code) == (503, 503)
    assert "sessionid" not in answer.cookies  # kept: the browser can try again
    for response in (answer, admin_answer):
        assert response["Retry-After"] == "5"
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content.decode() == str(UNRECORDED)
    sessions_on_redis.start()
    again = browser.post("/accounts/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert again.status_code == 200  # Django's "logged out" page
    assert AuthSession.objects.get().revoked_reason == "logout"


@pytest.mark.parametrize("flavour_request", ["/api/auth/me/", "/"])
def test_a_request_during_the_outage_ends_the_sign_in_whose_cookie_django_drops(
    sessions_on_redis: RedisServer, alice: Any, flavour_request: str
) -> None:
    """Django deletes the cookie of a session it cannot read: that client is signed out, and its sign-in ends
    with it, so the session that comes back later is no use to a copy of the cookie either."""
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    stolen = client.copy()
    sessions_on_redis.stop()
    answer = client.get(flavour_request)
    assert answer.cookies["sessionid"].value == ""  # Django's own doing
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "session_lost"
    assert client.post("/api/auth/logout/").status_code == 204  # nothing left to end, nothing claimed
    sessions_on_redis.start()
    assert stolen.get("/api/auth/me/").status_code == 401


def test_an_anonymous_session_with_data_is_not_taken_for_a_lost_one(sessions_on_redis: RedisServer, alice: Any) -> None:
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    client.csrf()
    assert client.get("/api/auth/me/").status_code == 200
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is None


def test_a_session_store_that_goes_down_during_the_logout_still_ends_it_with_a_204(
    sessions_on_redis: RedisServer, alice: Any, monkeypatch: Any
) -> None:
    """The session was read; deleting it fails. The sign-in has ended already, and the cookie goes."""
    from django.contrib.sessions.backends.cache import SessionStore

    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    stolen = client.copy()
    real_delete = SessionStore.delete

    def down_meanwhile(self: Any, session_key: Any = None) -> None:
        sessions_on_redis.stop()
        real_delete(self, session_key)

    monkeypatch.setattr(SessionStore, "delete", down_meanwhile)
    response = client.post("/api/auth/logout/")
    assert response.status_code == 204
    assert response.cookies["sessionid"].value == ""
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"
    monkeypatch.undo()
    sessions_on_redis.start()
    assert _session_keys(sessions_on_redis), "the session came back with its store..."
    assert stolen.get("/api/auth/me/").status_code == 401  # ...and is refused


def test_a_logout_when_the_session_engine_raises_on_read_ends_the_sign_in_by_its_key(
    alice: Any, use_mode: Any, settings: Any, caplog: Any
) -> None:
    from . import failing_sessions

    settings.SESSION_ENGINE = "tests.failing_sessions"
    use_mode("hybrid")
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    failing_sessions.FAILING.append(True)
    try:
        with caplog.at_level("WARNING", logger="dualauth"):
            assert client.post("/api/auth/logout/").status_code == 204
    finally:
        failing_sessions.FAILING.clear()
    assert (
        "dualauth: a session's data could not be read (the session store is unreachable); its sign-in is found by key"
        in caplog.text
    )
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"
