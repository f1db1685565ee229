"""Login: each kind and transport, the cookies it sets, key rotation, what it validates."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from dualauth.checks import check_settings
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


COOKIE_NAMES = ("dualauth_access", "dualauth_refresh")


def _cookie_login(use_mode: Any, **extra: Any) -> Any:
    use_mode("jwt", **extra)
    client = SignInClient("cookie")
    response = client.login("alice")
    assert response.status_code == 200
    return response


@pytest.mark.requirement("ASVS-V3.3.4")
@pytest.mark.parametrize("debug", [False, True])
def test_token_cookies_are_always_httponly(alice: Any, use_mode: Any, settings: Any, debug: bool) -> None:
    """ASVS 5.0 V3.3.4: HttpOnly on every cookie that carries a credential; no setting turns it off."""
    settings.DEBUG = debug
    response = _cookie_login(use_mode)
    for name in COOKIE_NAMES:
        assert response.cookies[name]["httponly"] is True


@pytest.mark.requirement("ASVS-V3.3.1")
def test_token_cookies_are_secure_unless_debug(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V3.3.1: Secure attribute outside development; forcing it off, or on under DEBUG, is a setting."""
    settings.DEBUG = False
    assert all(_cookie_login(use_mode).cookies[n]["secure"] is True for n in COOKIE_NAMES)
    settings.DEBUG = True
    assert all(_cookie_login(use_mode).cookies[n]["secure"] == "" for n in COOKIE_NAMES)
    assert all(_cookie_login(use_mode, COOKIE_SECURE=True).cookies[n]["secure"] is True for n in COOKIE_NAMES)
    settings.DEBUG = False
    assert all(_cookie_login(use_mode, COOKIE_SECURE=False).cookies[n]["secure"] == "" for n in COOKIE_NAMES)


@pytest.mark.requirement("ASVS-V3.3.2")
@pytest.mark.parametrize("samesite", [None, "Lax", "Strict"])
def test_token_cookies_carry_samesite(alice: Any, use_mode: Any, samesite: str | None) -> None:
    """ASVS 5.0 V3.3.2: SameSite set to the configured value, Lax unless configured."""
    response = _cookie_login(use_mode, **({"COOKIE_SAMESITE": samesite} if samesite else {}))
    assert all(response.cookies[n]["samesite"] == (samesite or "Lax") for n in COOKIE_NAMES)


@pytest.mark.requirement("ASVS-V3.3.1", "ASVS-V3.3.3")
def test_host_and_secure_prefixes_are_supported(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V3.3.3: __Host- for the access cookie (Path=/, no Domain, Secure), __Secure- for the refresh one."""
    settings.DEBUG = True  # prefixed cookies are Secure even where plain ones would not be
    response = _cookie_login(use_mode, ACCESS_COOKIE="__Host-access", REFRESH_COOKIE="__Secure-refresh")
    access, refresh = response.cookies["__Host-access"], response.cookies["__Secure-refresh"]
    assert (access["path"], access["domain"], access["secure"]) == ("/", "", True)
    assert (refresh["path"], refresh["secure"]) == ("/api/auth/", True)
    lower = _cookie_login(use_mode, ACCESS_COOKIE="__host-access")  # RFC 6265bis matches prefixes in any case
    assert lower.cookies["__host-access"]["secure"] is True


@pytest.mark.requirement("ASVS-V3.3.3")
def test_prefixes_that_browsers_would_refuse_are_check_errors(settings: Any) -> None:
    """A __Host- cookie with a Domain, or a path-scoped one, is silently dropped by browsers: refuse at start-up."""
    settings.DUALAUTH = {"ACCESS_COOKIE": "__Host-a", "COOKIE_DOMAIN": "example.com"}
    assert [m.id for m in check_settings()] == ["dualauth.E016"]
    settings.DUALAUTH = {"REFRESH_COOKIE": "__Host-r"}
    assert [m.id for m in check_settings()] == ["dualauth.E017"]


@pytest.mark.requirement("DA-REFRESH-COOKIE-SCOPE")
def test_refresh_cookie_is_path_scoped(alice: Any, use_mode: Any) -> None:
    """Least exposure: the refresh token only travels to dualauth's own URLs, the access cookie everywhere."""
    response = _cookie_login(use_mode)
    assert response.cookies["dualauth_refresh"]["path"] == "/api/auth/"
    assert response.cookies["dualauth_access"]["path"] == "/"


@pytest.mark.requirement("ASVS-V7.2.4", "CWE-384")
def test_session_login_rotates_the_session_key(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.2.4 (session fixation, CWE-384): login issues a new id and destroys the one presented,
    re-authentication included."""
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
    attacker = Client()
    attacker.cookies["sessionid"] = planted.session_key
    assert b"Not signed in" in attacker.get("/").content
    assert client.client.session["cart"] == ["book"]  # the visitor's data survives the rotation
    first_sid = client.session_id
    client.login("alice")  # same user again on the same session: still a new key
    assert client.client.cookies["sessionid"].value != key
    assert not session_exists(key)
    assert AuthSession.objects.get(pk=first_sid).revoked_reason == "superseded"


@pytest.mark.requirement("ASVS-V7.2.3")
def test_session_ids_have_enough_entropy(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.2.3 (a guard on Django's keys, which dualauth relies on): at least 128 bits of CSPRNG."""
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    key = client.client.cookies["sessionid"].value
    assert len(key) >= 32
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyz0123456789")


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
