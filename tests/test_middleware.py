"""DualAuthMiddleware and mode confinement: the right request.user, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from dualauth import services
from dualauth.middleware import DualAuthMiddleware
from dualauth.models import AuthSession

from .conftest import SignInClient, session_exists, stored_session_count

pytestmark = pytest.mark.django_db


def test_revoked_credential_leaves_plain_views_anonymous(signed_in: SignInClient) -> None:
    assert b"Signed in as" in signed_in.get("/").content
    services.revoke(signed_in.session_id, "admin")  # type: ignore[arg-type]
    response = signed_in.get("/")
    assert response.status_code == 200
    assert b"Not signed in" in response.content


# The admin's own sign-ins: tracked, rotated and killable like any other ----------------------------------


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user("admin", is_staff=True, is_superuser=True)


def _admin_browser() -> Client:
    browser = Client()
    assert browser.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin"}).status_code == 302
    return browser


@pytest.mark.requirement("ASVS-V7.2.4")
@pytest.mark.parametrize("mode", ["session", "jwt", "hybrid"])
def test_admin_login_is_a_tracked_sign_in_with_a_fresh_key(admin_user: Any, use_mode: Any, mode: str) -> None:
    """ASVS 5.0 V7.2.4: the admin's login issues a new session id and is recorded as a sign-in, in every mode
    (the admin keeps Django's sessions in jwt mode too)."""
    use_mode(mode)
    browser = Client()
    browser.get("/admin/login/")
    browser.cookies["sessionid"] = "planted0000000000000000000000000"
    response = browser.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin"})
    assert response.status_code == 302
    key = browser.cookies["sessionid"].value
    assert key != "planted0000000000000000000000000"
    row = AuthSession.objects.get(user=admin_user)
    assert (row.kind, row.session_key, row.status) == ("session", key, "active")
    assert browser.get("/admin/").status_code == 200


@pytest.mark.requirement("ASVS-V7.4.5")
@pytest.mark.parametrize("mode", ["session", "jwt", "hybrid"])
def test_killing_an_admin_sign_in_ends_admin_access_on_the_next_request(
    admin_user: Any, use_mode: Any, mode: str
) -> None:
    """ASVS 5.0 V7.4.5: administrators' sessions can be terminated too, and it takes effect at once."""
    use_mode(mode)
    browser = _admin_browser()
    assert browser.get("/admin/").status_code == 200
    services.revoke(AuthSession.objects.get(user=admin_user), "admin")
    response = browser.get("/admin/")
    assert response.status_code == 302  # killed: back to the login page
    assert "/admin/login/" in response["Location"]
    assert stored_session_count() == 0
    browser.get("/admin/logout/")


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_losing_staff_rights_ends_the_admin_session(admin_user: Any) -> None:
    """OWASP Session Management Cheat Sheet, "Renew the Session ID After Any Privilege Level Change"."""
    browser = _admin_browser()
    before = browser.cookies["sessionid"].value
    admin_user.is_staff = admin_user.is_superuser = False
    admin_user.save()
    assert not session_exists(before)
    assert AuthSession.objects.get(user=admin_user).revoked_reason == "privilege_change"
    assert browser.get("/admin/").status_code == 302


@pytest.mark.requirement("ASVS-V8.2.1")
def test_a_plain_user_session_does_not_open_the_admin(alice: Any) -> None:
    """A guard on Django's admin: it still checks is_staff on top of a valid dualauth sign-in."""
    browser = Client()
    browser.force_login(alice)
    assert browser.get("/admin/").status_code == 302


def test_django_logout_ends_the_sign_in(make_user: Any) -> None:
    make_user("admin", is_staff=True)
    browser = Client()
    browser.post("/admin/login/", {"username": "admin", "password": "admin"})
    browser.post("/admin/logout/")
    assert AuthSession.objects.get().revoked_reason == "logout"


def test_session_from_before_dualauth_is_adopted(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    browser = Client()
    browser.force_login(alice)
    AuthSession.objects.all().delete()
    session = browser.session
    del session[services.SESSION_SID_KEY]
    session.save()
    assert SESSION_KEY in browser.session
    response = browser.get("/")
    assert b"Signed in as <strong>alice</strong>" in response.content
    row = AuthSession.objects.get()
    assert row.session_key == browser.session.session_key
    assert browser.session[services.SESSION_SID_KEY] == str(row.pk)


def test_unknown_sid_in_a_session_is_not_adopted(alice: Any) -> None:
    browser = Client()
    browser.force_login(alice)
    AuthSession.objects.all().delete()
    assert b"Not signed in" in browser.get("/").content
    assert not AuthSession.objects.exists()


@pytest.mark.requirement("ASVS-V7.2.1")
def test_a_session_id_the_server_never_issued_is_not_adopted(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.2.1: only ids the server issued are honoured; a made-up one creates nothing."""
    use_mode("session")
    browser = SignInClient("session")
    browser.client.cookies["sessionid"] = "x" * 32
    assert b"Not signed in" in browser.get("/").content
    assert browser.get("/api/auth/me/").status_code == 401
    assert stored_session_count() == 0
    assert not AuthSession.objects.exists()


@pytest.mark.parametrize(
    ("signed_in_as", "flavour", "then", "plain_view_sees"),
    [
        ("jwt", "header", "session", b"Not signed in"),  # bearer tokens are ignored in session mode
        ("session", "session", "jwt", b"Signed in as"),  # session cookies: not for API calls, still for the admin
    ],
)
def test_a_credential_of_the_other_mode_does_not_authenticate_api_calls(
    alice: Any, use_mode: Any, signed_in_as: str, flavour: str, then: str, plain_view_sees: bytes
) -> None:
    use_mode(signed_in_as)
    signer = SignInClient(flavour)
    signer.login("alice")
    use_mode(then)
    assert signer.get("/api/notes/").status_code == 401
    assert plain_view_sees in signer.get("/").content


def test_invalid_bearer_next_to_a_valid_session_is_401_not_a_fallback(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid")
    signer = SignInClient("session")
    signer.login("alice")
    assert signer.get("/api/notes/").status_code == 200
    assert signer.get("/api/notes/", HTTP_AUTHORIZATION="Bearer garbage").status_code == 401


@pytest.mark.requirement("ASVS-V14.2.1")
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


def test_header_wins_over_the_cookie(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("jwt")
    as_alice = SignInClient("cookie")
    as_alice.login("alice")
    as_bob = SignInClient("header")
    as_bob.login("bob")
    response = as_alice.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {as_bob.access}")
    assert response.json()["user"]["username"] == "bob"


def test_activity_is_written_at_most_once_per_interval(signed_in: SignInClient, monkeypatch: Any) -> None:
    def seen() -> Any:
        return AuthSession.objects.get(pk=signed_in.session_id).last_seen_at

    at_login = seen()
    signed_in.get("/api/auth/me/")
    assert seen() == at_login
    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr(timezone, "now", lambda: later)
    signed_in.get("/api/auth/me/")
    assert seen() == later
    signed_in.get("/api/auth/me/")
    assert seen() == later


def _presenting(signed_in: SignInClient, rf: RequestFactory) -> Any:
    """A bare request carrying the client's credential, as SessionMiddleware and AuthenticationMiddleware leave it."""
    from importlib import import_module

    from django.conf import settings

    request = rf.get("/")
    if signed_in.flavour == "header":
        request.META["HTTP_AUTHORIZATION"] = f"Bearer {signed_in.access}"
    else:
        request.COOKIES = {k: m.value for k, m in signed_in.client.cookies.items()}
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(request.COOKIES.get("sessionid"))
    request.user = None
    return request


def test_async_auser(signed_in: SignInClient, rf: RequestFactory) -> None:
    from asgiref.sync import async_to_sync

    request = _presenting(signed_in, rf)
    DualAuthMiddleware(lambda r: None)(request)  # type: ignore[arg-type, return-value]
    assert async_to_sync(request.auser)().username == "alice"


def test_middleware_without_session_middleware_fails_loudly(rf: RequestFactory) -> None:
    with pytest.raises(ImproperlyConfigured, match="SessionMiddleware"):
        DualAuthMiddleware(lambda r: None)(rf.get("/"))  # type: ignore[arg-type, return-value]


def test_under_asgi_the_middleware_runs_on_the_event_loop(signed_in: SignInClient, rf: RequestFactory) -> None:
    """Async-capable like Django's own middleware: an ASGI deployment pays no thread hop for it."""
    import threading

    from asgiref.sync import async_to_sync, iscoroutinefunction
    from django.http import HttpResponse

    seen: dict[str, Any] = {}

    async def view(request: Any) -> HttpResponse:
        seen["thread"] = threading.get_ident()
        seen["user"] = (await request.auser()).get_username()
        return HttpResponse("ok")

    middleware = DualAuthMiddleware(view)
    assert iscoroutinefunction(middleware)
    request = _presenting(signed_in, rf)

    async def run() -> Any:
        seen["loop_thread"] = threading.get_ident()
        return await middleware(request)

    response = async_to_sync(run)()  # thread-sensitive work comes back to this thread, as in Django's tests
    assert response.status_code == 200
    assert seen["thread"] == seen["loop_thread"]
    assert seen["user"] == "alice"


@pytest.mark.parametrize(("mode", "flavour"), [("hybrid", "session"), ("hybrid", "header"), ("jwt", "cookie")])
def test_an_asgi_request_sees_its_sign_in_and_not_a_revoked_one(
    alice: Any, use_mode: Any, mode: str, flavour: str
) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    use_mode(mode)
    client = SignInClient(flavour)
    client.login("alice")
    browser = AsyncClient()
    for name, morsel in client.client.cookies.items():
        browser.cookies[name] = morsel.value
    headers = {"Authorization": f"Bearer {client.access}"} if flavour == "header" else {}
    assert async_to_sync(browser.get)("/api/auth/me/", headers=headers).status_code == 200
    services.revoke(client.session_id, "admin")
    assert async_to_sync(browser.get)("/api/auth/me/", headers=headers).status_code == 401
