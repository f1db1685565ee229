"""Cookies and CSRF (ASVS 5.0 V3.3 cookie setup, V3.5 cross-origin request forgery)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from dualauth.checks import check_settings
from dualauth.models import AuthSession

from ..conftest import SignInClient

pytestmark = pytest.mark.django_db

COOKIE_NAMES = ("dualauth_access", "dualauth_refresh")


def _cookie_login(use_mode: Any, **extra: Any) -> Any:
    use_mode("jwt", **extra)
    client = SignInClient("cookie")
    response = client.login("alice")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("debug", [False, True])
def test_token_cookies_are_always_httponly(alice: Any, use_mode: Any, settings: Any, debug: bool) -> None:
    """ASVS 5.0 V3.3.4: HttpOnly on every cookie that carries a credential; no setting turns it off."""
    settings.DEBUG = debug
    response = _cookie_login(use_mode)
    for name in COOKIE_NAMES:
        assert response.cookies[name]["httponly"] is True


def test_token_cookies_are_secure_unless_debug(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V3.3.1: Secure attribute outside development; forcing it off is an explicit setting."""
    settings.DEBUG = False
    assert all(_cookie_login(use_mode).cookies[n]["secure"] is True for n in COOKIE_NAMES)
    settings.DEBUG = True
    assert all(_cookie_login(use_mode).cookies[n]["secure"] == "" for n in COOKIE_NAMES)
    settings.DEBUG = False
    assert all(_cookie_login(use_mode, COOKIE_SECURE=False).cookies[n]["secure"] == "" for n in COOKIE_NAMES)


@pytest.mark.parametrize("samesite", ["Lax", "Strict"])
def test_token_cookies_carry_samesite(alice: Any, use_mode: Any, samesite: str) -> None:
    """ASVS 5.0 V3.3.2: SameSite set to the configured value."""
    response = _cookie_login(use_mode, COOKIE_SAMESITE=samesite)
    assert all(response.cookies[n]["samesite"] == samesite for n in COOKIE_NAMES)


def test_host_and_secure_prefixes_are_supported(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V3.3.3: __Host- for the access cookie (Path=/, no Domain, Secure), __Secure- for the refresh one."""
    settings.DEBUG = True  # prefixed cookies are Secure even where plain ones would not be
    response = _cookie_login(use_mode, ACCESS_COOKIE="__Host-access", REFRESH_COOKIE="__Secure-refresh")
    access, refresh = response.cookies["__Host-access"], response.cookies["__Secure-refresh"]
    assert (access["path"], access["domain"], access["secure"]) == ("/", "", True)
    assert (refresh["path"], refresh["secure"]) == ("/api/auth/", True)
    lower = _cookie_login(use_mode, ACCESS_COOKIE="__host-access")  # RFC 6265bis matches prefixes in any case
    assert lower.cookies["__host-access"]["secure"] is True


def test_prefixes_that_browsers_would_refuse_are_check_errors(settings: Any) -> None:
    """A __Host- cookie with a Domain, or a path-scoped one, is silently dropped by browsers: refuse at start-up."""
    settings.DUALAUTH = {"ACCESS_COOKIE": "__Host-a", "COOKIE_DOMAIN": "example.com"}
    assert [m.id for m in check_settings()] == ["dualauth.E016"]
    settings.DUALAUTH = {"REFRESH_COOKIE": "__Host-r"}
    assert [m.id for m in check_settings()] == ["dualauth.E017"]


def test_refresh_cookie_is_path_scoped(alice: Any, use_mode: Any) -> None:
    """Least exposure: the refresh token only travels to dualauth's own URLs, the access cookie everywhere."""
    response = _cookie_login(use_mode)
    assert response.cookies["dualauth_refresh"]["path"] == "/api/auth/"
    assert response.cookies["dualauth_access"]["path"] == "/"


def test_only_refresh_and_logout_read_the_refresh_cookie(alice: Any, use_mode: Any) -> None:
    """What docs/api.md says: the browser sends the refresh cookie to every dualauth URL (its path is the mount
    point), and no endpoint but ``token/refresh/`` and ``logout/`` takes it for a credential."""
    use_mode("jwt")
    client = SignInClient("cookie")
    assert client.login("alice").status_code == 200
    del client.client.cookies["dualauth_access"]  # the refresh cookie alone
    assert client.get("/api/auth/me/").status_code == 401
    assert client.get("/api/auth/sessions/").status_code == 401
    assert client.get("/api/notes/").status_code == 401
    assert client.post("/api/auth/sessions/revoke-others/").status_code == 401
    assert client.do_refresh().status_code == 200
    del client.client.cookies["dualauth_access"]
    assert client.post("/api/auth/logout/").status_code == 204
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"


@pytest.mark.parametrize(
    "query", ["access_token={a}", "token={a}", "access={a}", "jwt={a}", "authorization=Bearer%20{a}", "sessionid={s}"]
)
def test_no_credential_is_ever_read_from_the_query_string(alice: Any, use_mode: Any, query: str) -> None:
    """ASVS 5.0 V14.2.1: credentials never travel in URLs, where logs and Referer headers keep them."""
    use_mode("hybrid")
    tokens = SignInClient("header")
    tokens.login("alice", kind="jwt")
    session = SignInClient("session")
    session.login("alice")
    url = "/api/auth/me/?" + query.format(a=tokens.access, s=session.client.cookies["sessionid"].value)
    assert APIClient().get(url).status_code == 401
    refresh = APIClient().post(f"/api/auth/token/refresh/?refresh={tokens.refresh}", {}, format="json")
    assert refresh.status_code == 400


def test_cookie_refresh_never_puts_tokens_in_the_body(alice: Any, use_mode: Any) -> None:
    """OWASP JWT cheat sheet, token storage: with cookie transport no token is ever readable by script."""
    use_mode("jwt")
    client = SignInClient("cookie")
    login = client.login("alice")
    refreshed = client.do_refresh()
    assert refreshed.status_code == 200
    for response in (login, refreshed):
        text = response.content.decode()
        assert client.client.cookies["dualauth_access"].value not in text
        assert client.client.cookies["dualauth_refresh"].value not in text
        assert "access" not in response.json()
        assert "refresh" not in response.json()


UNSAFE_CALLS = [
    ("post", "/api/notes/", {"text": "x"}),
    ("post", "/api/auth/sessions/revoke-others/", None),
    ("delete", "/api/auth/sessions/{sid}/", None),
    ("post", "/api/auth/logout/", None),
    ("post", "/api/account/password/", {"old_password": "alice", "new_password": "a-new-password"}),
]


@pytest.mark.parametrize(("mode", "flavour"), [("session", "session"), ("jwt", "cookie"), ("hybrid", "session")])
@pytest.mark.parametrize(("method", "path", "body"), UNSAFE_CALLS)
def test_every_unsafe_method_with_a_cookie_credential_needs_csrf(
    alice: Any, use_mode: Any, mode: str, flavour: str, method: str, path: str, body: Any
) -> None:
    """ASVS 5.0 V3.5.1: a request authenticated by a cookie must prove it came from our own pages."""
    use_mode(mode)
    client = SignInClient(flavour)
    client.login("alice")
    url = path.format(sid=client.session_id)
    forged = getattr(client.client, method)(url, body, format="json")
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    assert AuthSession.objects.get(pk=client.session_id).status == "active"
    assert client.send(method, url, body).status_code in (200, 201, 204)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_csrf_is_checked_before_the_method_is(alice: Any, use_mode: Any, method: str) -> None:
    """ASVS 5.0 V3.5.1: every unsafe verb, not only POST, is refused without the token."""
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    assert getattr(client.client, method)("/api/notes/", {}, format="json").status_code == 403
    assert client.send(method, "/api/notes/", {}).status_code == 405


@pytest.mark.parametrize(("kind", "transport"), [("session", None), ("jwt", "cookie")])
def test_login_that_starts_a_cookie_credential_needs_csrf(
    alice: Any, use_mode: Any, kind: str, transport: str | None
) -> None:
    """ASVS 5.0 V3.5.1, login CSRF: an attacker must not sign the victim's browser into the attacker's account."""
    use_mode("hybrid")
    body = {"username": "alice", "password": "alice", "kind": kind}
    if transport:
        body["transport"] = transport
    assert APIClient(enforce_csrf_checks=True).post("/api/auth/login/", body, format="json").status_code == 403


def test_bearer_only_requests_need_no_csrf(alice: Any, use_mode: Any) -> None:
    """Bearer headers are never sent by a browser on its own; CSRF does not apply to them."""
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    assert "csrftoken" not in client.client.cookies
    assert client.post("/api/notes/", {"text": "x"}).status_code == 201
    assert client.do_refresh().status_code == 200
    assert client.post("/api/auth/logout/").status_code == 204
