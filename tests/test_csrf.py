"""CSRF (ASVS 5.0 V3.5.1): every unsafe request whose credential travels in a cookie, login included, must prove
it came from the site's own pages (the admin's forms too); a request carrying only a bearer header needs no
CSRF token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dualauth.models import AuthSession

from .conftest import SignInClient

pytestmark = pytest.mark.django_db

UNSAFE_CALLS = [
    ("post", "/api/notes/", {"text": "x"}, 201),
    ("post", "/api/auth/sessions/revoke-others/", None, 200),
    ("delete", "/api/auth/sessions/{sid}/", None, 204),
    ("post", "/api/auth/logout/", None, 204),
    ("post", "/api/account/password/", {"old_password": "alice", "new_password": "a-new-password"}, 204),
]


@pytest.mark.requirement("ASVS-V3.5.1")
@pytest.mark.parametrize(("mode", "flavour"), [("session", "session"), ("jwt", "cookie"), ("hybrid", "session")])
@pytest.mark.parametrize(("method", "path", "body", "status"), UNSAFE_CALLS)
def test_every_unsafe_method_with_a_cookie_credential_needs_csrf(
    alice: Any, use_mode: Any, mode: str, flavour: str, method: str, path: str, body: Any, status: int
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
    assert client.send(method, url, body).status_code == status


@pytest.mark.requirement("ASVS-V3.5.1")
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_csrf_is_checked_before_the_method_is(alice: Any, use_mode: Any, method: str) -> None:
    """ASVS 5.0 V3.5.1: every unsafe verb, not only POST, is refused without the token."""
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    assert getattr(client.client, method)("/api/notes/", {}, format="json").status_code == 403
    assert client.send(method, "/api/notes/", {}).status_code == 405


@pytest.mark.requirement("ASVS-V3.5.1")
@pytest.mark.parametrize("flavour", ["session", "cookie"])
def test_login_that_starts_a_cookie_credential_needs_csrf(alice: Any, use_mode: Any, flavour: str) -> None:
    """ASVS 5.0 V3.5.1, login CSRF: an attacker must not sign the victim's browser into the attacker's account.
    The login that passes the check gets a new CSRF token along with its credential."""
    use_mode("hybrid")
    client = SignInClient(flavour)
    body = {"username": "alice", "password": "alice", "kind": "session" if flavour == "session" else "jwt"}
    if flavour == "cookie":
        body["transport"] = "cookie"
    response = client.client.post("/api/auth/login/", body, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not AuthSession.objects.exists()
    before = client.csrf()
    response = client.login("alice")
    assert response.status_code == 200
    assert response.cookies["csrftoken"].value not in ("", before)  # rotated with the new credential


def test_bearer_only_requests_need_no_csrf(alice: Any, use_mode: Any) -> None:
    """Bearer headers are never sent by a browser on its own; CSRF does not apply to them, login included."""
    use_mode("jwt")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    assert "csrftoken" not in client.client.cookies
    assert client.post("/api/notes/", {"text": "x"}).status_code == 201
    assert client.do_refresh().status_code == 200
    assert client.post("/api/auth/logout/").status_code == 204


# The admin's forms, which Django's CSRF middleware guards ------------------------------------------------


@pytest.mark.requirement("ASVS-V3.5.1")
def test_admin_login_needs_csrf(make_user: Any) -> None:
    """ASVS 5.0 V3.5.1 (a guard on Django's admin, which dualauth relies on): login CSRF on the admin's form."""
    make_user("admin", is_staff=True, is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/admin/login/", {"username": "admin", "password": "admin"}).status_code == 403
    assert not AuthSession.objects.exists()


@pytest.mark.requirement("ASVS-V3.5.1")
def test_admin_revocation_forms_need_csrf(alice: Any, make_user: Any, use_mode: Any) -> None:
    """ASVS 5.0 V3.5.1: a cross-site form cannot make an administrator revoke."""
    use_mode("hybrid")
    victim = SignInClient("header")
    assert victim.login("alice").status_code == 200
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("admin", is_staff=True, is_superuser=True))
    assert browser.post(f"/admin/dualauth/authsession/{victim.session_id}/revoke/").status_code == 403
    assert victim.get("/api/auth/me/").status_code == 200


@pytest.mark.requirement("ASVS-V3.5.1")
def test_the_admins_logout_by_session_key_is_csrf_checked_even_before_djangos_csrf_middleware(
    make_user: Any, settings: Any
) -> None:
    """The admin's logout of a session whose data names no user (unreadable, or stripped by a project's code)
    ends its sign-in by key; a project may list DualAuthMiddleware before CsrfViewMiddleware, so that path
    checks CSRF itself: a forged POST ends nothing, the admin's own form does."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    moved = ["django.contrib.auth.middleware.AuthenticationMiddleware", "dualauth.middleware.DualAuthMiddleware"]
    middleware = [name for name in settings.MIDDLEWARE if name not in moved]
    at = middleware.index("django.middleware.csrf.CsrfViewMiddleware")
    settings.MIDDLEWARE = [*middleware[:at], *moved, *middleware[at:]]
    admin = make_user("admin", is_staff=True, is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    browser.get("/admin/login/")
    csrf = browser.cookies["csrftoken"].value
    assert (
        browser.post(
            "/admin/login/", {"username": "admin", "password": "admin", "csrfmiddlewaretoken": csrf}
        ).status_code
        == 302
    )
    key = browser.cookies["sessionid"].value
    session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    for name in (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY):
        del session[name]
    session.save()
    forged = Client(enforce_csrf_checks=True)
    forged.cookies["sessionid"] = key
    forged.post("/admin/logout/")
    assert AuthSession.objects.get(user=admin).revoked_at is None
    browser.post("/admin/logout/", {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})
    assert AuthSession.objects.get(user=admin).revoked_reason == "logout"


@pytest.mark.requirement("ASVS-V3.5.1")
@pytest.mark.parametrize("kept", ["dualauth_access", "dualauth_refresh"])
def test_a_logout_carrying_either_token_cookie_alone_needs_csrf_and_then_ends_the_sign_in(
    alice: Any, use_mode: Any, kept: str
) -> None:
    """The browser may hold one of the two cookies only (the access cookie expired first): still a cookie credential."""
    use_mode("jwt")
    client = SignInClient("cookie")
    client.login("alice")
    dropped = ({"dualauth_access", "dualauth_refresh"} - {kept}).pop()
    del client.client.cookies[dropped]
    forged = client.client.post("/api/auth/logout/", {}, format="json")
    assert forged.status_code == 403
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is None
    assert client.post("/api/auth/logout/").status_code == 204
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"


def test_a_bearer_logout_with_the_refresh_token_alone_in_the_body_ends_the_sign_in(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    response = APIClient().post("/api/auth/logout/", {"refresh": client.refresh}, format="json")
    assert response.status_code == 204
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"
