"""The service layer as a project's own SSO/MFA view would call it, and its lifecycle rules."""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client, RequestFactory
from django.utils import timezone

from dualauth import services, signals
from dualauth.models import AuthSession
from dualauth.stores import BaseStore, get_store

from .conftest import SignInClient, rewrite_sign_in

pytestmark = pytest.mark.django_db


def _request(rf: RequestFactory) -> Any:
    request = rf.post("/sso/callback/", HTTP_USER_AGENT="curl/8.0")
    SessionMiddleware(lambda r: None).process_request(request)  # type: ignore[arg-type, return-value]
    return request


def test_sign_in_of_session_kind(rf: RequestFactory, alice: Any, capture_signal: Any) -> None:
    request = _request(rf)
    alice.backend = "dualauth.backends.ThrottledModelBackend"  # what an SSO view sets, as for login()
    sent = capture_signal(signals.session_started)
    signin = services.sign_in(request, alice, "session")
    assert signin.tokens is None
    assert [kwargs["auth_session"] for kwargs in sent] == [signin.auth_session]
    assert signin.auth_session.kind == "session"
    assert signin.auth_session.session_key == request.session.session_key
    assert get_user(request) == alice


def test_sign_in_of_jwt_kind(rf: RequestFactory, alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    signin = services.sign_in(_request(rf), alice)
    assert signin.auth_session.kind == "jwt"
    assert signin.tokens is not None
    checked = services.check_access_token(signin.tokens.access)
    assert checked.user == alice
    assert checked.sid == signin.auth_session.pk
    assert checked.state is not None


def test_sign_in_rejects_an_unknown_kind(rf: RequestFactory, alice: Any) -> None:
    with pytest.raises(ValueError, match="oauth"):
        services.sign_in(_request(rf), alice, "oauth")


def test_max_sessions_per_user_revokes_the_oldest(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", MAX_SESSIONS_PER_USER=2)
    clients = [SignInClient("header") for _ in range(3)]
    for client in clients:
        client.login("alice")
    assert [c.get("/api/auth/me/").status_code for c in clients] == [401, 200, 200]
    assert AuthSession.objects.get(pk=clients[0].session_id).revoked_reason == "limit"


def test_idle_timeout_refuses_and_hides_the_sign_in(signed_in: SignInClient, settings: Any) -> None:
    settings.DUALAUTH = {**settings.DUALAUTH, "SESSION_IDLE_TIMEOUT": 600}
    watcher = SignInClient(signed_in.flavour)
    watcher.login("alice")
    listed = {row["id"] for row in watcher.get("/api/auth/sessions/").json()}
    assert listed == {signed_in.session_id, watcher.session_id}
    rewrite_sign_in(signed_in.session_id, last_seen_at=timezone.now() - timedelta(seconds=601))
    assert signed_in.get("/api/auth/me/").status_code == 401
    assert [row["id"] for row in watcher.get("/api/auth/sessions/").json()] == [watcher.session_id]
    assert AuthSession.objects.get(pk=signed_in.session_id).status == "expired"
    assert not AuthSession.objects.active().filter(pk=signed_in.session_id).exists()


def test_absolute_timeout_refuses(signed_in: SignInClient) -> None:
    rewrite_sign_in(signed_in.session_id, expires_at=timezone.now())
    assert signed_in.get("/api/auth/me/").status_code == 401
    assert AuthSession.objects.get(pk=signed_in.session_id).status == "expired"


def test_cycled_session_key_is_resynced(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    browser = Client()
    browser.force_login(alice)
    session = browser.session
    row = AuthSession.objects.get()
    engine = import_module(django_settings.SESSION_ENGINE)
    moved = engine.SessionStore()
    moved.update(dict(session.items()))
    moved.create()
    session.delete()
    browser.cookies[django_settings.SESSION_COOKIE_NAME] = moved.session_key
    assert b"Signed in as" in browser.get("/").content
    row.refresh_from_db()
    assert row.session_key == moved.session_key
    services.revoke(row, "admin")
    assert not engine.SessionStore().exists(moved.session_key)


def test_signed_cookie_sessions_are_killed_by_the_sid_check(alice: Any, use_mode: Any, settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    row = AuthSession.objects.get()
    assert row.session_key == ""
    assert client.get("/api/auth/me/").status_code == 200
    services.revoke(row, "admin")
    assert client.get("/api/auth/me/").status_code == 401


def test_store_contract_is_explicit() -> None:
    import uuid

    store = BaseStore()
    with pytest.raises(NotImplementedError, match="get"):
        store.get(uuid.uuid4())
    with pytest.raises(NotImplementedError, match="changed"):
        store.changed(uuid.uuid4())


def test_an_unknown_store_fails_loudly(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.DUALAUTH = {"STORE": "memcached"}
    with pytest.raises(ImproperlyConfigured, match="memcached"):
        get_store()


def test_revoke_user_keeps_the_named_sign_in(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    keep, lose = SignInClient("header"), SignInClient("header")
    keep.login("alice")
    lose.login("alice")
    assert services.revoke_user(alice, "password_change", keep=keep.session_id) == 1
    assert keep.get("/api/auth/me/").status_code == 200
