"""The admin (ASVS 5.0 V7.2.4, V7.4.5, V8.2.1, V8.3.1): its own sign-ins tracked, rotated, killable and
CSRF-protected; dualauth's screens shown only with ``view_authsession``, and every revocation, forged
or not, refused without ``revoke_authsession``."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dualauth import services
from dualauth.models import AuthSession

from ..conftest import SignInClient, session_exists, stored_session_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user("admin", is_staff=True, is_superuser=True)


def _admin_browser() -> Client:
    browser = Client()
    assert browser.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin"}).status_code == 302
    return browser


@pytest.mark.parametrize("mode", ["session", "jwt", "hybrid"])
def test_admin_login_is_a_tracked_sign_in_with_a_fresh_key(admin_user: Any, use_mode: Any, mode: str) -> None:
    """ASVS 5.0 V7.2.4: the admin's login issues a new session id and is recorded as a sign-in, in every mode."""
    use_mode(mode)
    browser = Client()
    browser.get("/admin/login/")
    browser.cookies["sessionid"] = "planted0000000000000000000000000"
    browser.post("/admin/login/", {"username": "admin", "password": "admin"})
    key = browser.cookies["sessionid"].value
    assert key != "planted0000000000000000000000000"
    row = AuthSession.objects.get(user=admin_user)
    assert (row.kind, row.session_key) == ("session", key)


def test_admin_login_needs_csrf(admin_user: Any) -> None:
    """ASVS 5.0 V3.5.1 (a guard on Django's admin, which dualauth relies on): login CSRF on the admin's form."""
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/admin/login/", {"username": "admin", "password": "admin"}).status_code == 403
    assert not AuthSession.objects.exists()


def test_killing_an_admin_sign_in_ends_admin_access_on_the_next_request(admin_user: Any) -> None:
    """ASVS 5.0 V7.4.5: administrators' sessions can be terminated too, and it takes effect at once."""
    browser = _admin_browser()
    assert browser.get("/admin/").status_code == 200
    services.revoke(AuthSession.objects.get(user=admin_user), "admin")
    response = browser.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert stored_session_count() == 0


def test_losing_staff_rights_ends_the_admin_session(admin_user: Any) -> None:
    """OWASP Session Management Cheat Sheet, "Renew the Session ID After Any Privilege Level Change"."""
    browser = _admin_browser()
    before = browser.cookies["sessionid"].value
    admin_user.is_staff = admin_user.is_superuser = False
    admin_user.save()
    assert not session_exists(before)
    assert AuthSession.objects.get(user=admin_user).revoked_reason == "privilege_change"
    assert browser.get("/admin/").status_code == 302


def test_a_plain_user_session_does_not_open_the_admin(alice: Any) -> None:
    """A guard on Django's admin: it still checks is_staff on top of a valid dualauth sign-in."""
    browser = Client()
    browser.force_login(alice)
    assert browser.get("/admin/").status_code == 302


# Permissions on dualauth's screens -----------------------------------------------------------

VIEW_ONLY_GETS = [
    "/admin/dualauth/authsession/",
    "/admin/dualauth/authsession/revoke-token/",
    "/admin/dualauth/storedsession/",
    "/admin/token_blacklist/outstandingtoken/",
    "/admin/token_blacklist/blacklistedtoken/",
]


def _staff(make_user: Any, name: str, *codenames: str) -> Client:
    from django.contrib.auth.models import Permission

    user = make_user(name, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def victim(alice: Any, use_mode: Any) -> SignInClient:
    use_mode("hybrid")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    return client


@pytest.mark.parametrize("url", VIEW_ONLY_GETS)
def test_staff_without_view_permission_sees_nothing(make_user: Any, victim: SignInClient, url: str) -> None:
    """ASVS 5.0 V8.2.1: function-level access control; being staff is not enough."""
    assert _staff(make_user, "clerk").get(url).status_code == 403


def test_staff_who_may_only_view_get_no_revoke_controls(make_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V8.2.1: a viewer is shown no action, button or form that revokes."""
    viewer = _staff(make_user, "viewer", "view_authsession")
    for url in VIEW_ONLY_GETS:
        assert viewer.get(url).status_code == 200
    changelist = viewer.get("/admin/dualauth/authsession/").content.decode()
    assert "revoke_selected" not in changelist
    assert "revoke_users" not in changelist
    detail = viewer.get(f"/admin/dualauth/authsession/{victim.session_id}/change/").content.decode()
    assert 'id="dualauth-revoke"' not in detail
    inspected = viewer.post("/admin/dualauth/authsession/revoke-token/", {"token": victim.access, "_inspect": "1"})
    assert victim.session_id in inspected.content.decode()
    assert "_revoke" not in inspected.content.decode()


def _forged_posts(victim: SignInClient, alice: Any) -> list[tuple[str, dict[str, Any]]]:
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    token = OutstandingToken.objects.get(user=alice)
    sid = victim.session_id
    return [
        ("/admin/dualauth/authsession/", {"action": "revoke_selected", "_selected_action": [sid], "post": "yes"}),
        ("/admin/dualauth/authsession/", {"action": "revoke_users", "_selected_action": [sid], "post": "yes"}),
        (f"/admin/dualauth/authsession/{sid}/revoke/", {}),
        ("/admin/dualauth/authsession/revoke-token/", {"token": victim.access, "_revoke": "1"}),
        ("/admin/dualauth/storedsession/", {"action": "kill_selected", "_selected_action": [sid], "post": "yes"}),
        (
            "/admin/token_blacklist/outstandingtoken/",
            {"action": "blacklist_selected", "_selected_action": [token.pk], "post": "yes"},
        ),
        (f"/admin/auth/user/{alice.pk}/revoke-sign-ins/", {}),
    ]


@pytest.mark.parametrize("index", range(7))
def test_a_forged_revoke_from_a_viewer_is_403_and_changes_nothing(
    make_user: Any, victim: SignInClient, alice: Any, index: int
) -> None:
    """ASVS 5.0 V8.3.1: authorization is enforced on the server, whatever the page offered."""
    viewer = _staff(make_user, "viewer", "view_authsession", "view_user", "change_user")
    url, data = _forged_posts(victim, alice)[index]
    assert viewer.post(url, data).status_code == 403
    assert AuthSession.objects.get(pk=victim.session_id).revoked_at is None
    assert victim.get("/api/auth/me/").status_code == 200


def test_staff_with_the_revoke_permission_revoke_and_are_named_in_the_log(make_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V16.3.2 (logging of security-relevant actions): who ended which sign-in, in the admin's LogEntry."""
    from django.contrib.admin.models import LogEntry

    revoker = _staff(make_user, "revoker", "view_authsession", "revoke_authsession")
    assert revoker.post(f"/admin/dualauth/authsession/{victim.session_id}/revoke/").status_code == 302
    assert victim.get("/api/auth/me/").status_code == 401
    entry = LogEntry.objects.get(object_id=str(victim.session_id))
    assert entry.user.username == "revoker"
    assert AuthSession.objects.get(pk=victim.session_id).revoked_reason == "admin"


def test_admin_revocation_forms_need_csrf(admin_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V3.5.1: a cross-site form cannot make an administrator revoke."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.post(f"/admin/dualauth/authsession/{victim.session_id}/revoke/").status_code == 403
    assert victim.get("/api/auth/me/").status_code == 200


def test_the_token_form_never_logs_the_pasted_token(admin_user: Any, victim: SignInClient, caplog: Any) -> None:
    """ASVS 5.0 V16.2.5: credentials do not reach the logs, even when an administrator pastes one."""
    import logging

    browser = Client()
    browser.force_login(admin_user)
    with caplog.at_level(logging.DEBUG):
        browser.post("/admin/dualauth/authsession/revoke-token/", {"token": victim.access, "_revoke": "1"})
        browser.post("/admin/dualauth/authsession/revoke-token/", {"token": victim.access + "x", "_revoke": "1"})
    assert victim.access not in caplog.text


def test_revoking_a_users_sign_ins_needs_sight_of_that_user(make_user: Any, victim: SignInClient, alice: Any) -> None:
    """ASVS 5.0 V8.2.2: the revoke permission alone does not open the user admin's objects."""
    revoker = _staff(make_user, "revoker", "view_authsession", "revoke_authsession")
    assert revoker.post(f"/admin/auth/user/{alice.pk}/revoke-sign-ins/", {"post": "yes"}).status_code == 403
    assert victim.get("/api/auth/me/").status_code == 200


@pytest.mark.parametrize("object_id", ["abc", "999999", "1_2F2"])
def test_a_bad_user_id_is_a_404_not_a_500(admin_user: Any, object_id: str) -> None:
    browser = Client()
    browser.force_login(admin_user)
    assert browser.post(f"/admin/auth/user/{object_id}/revoke-sign-ins/").status_code == 404


@pytest.mark.parametrize("object_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_bad_sign_in_id_is_a_404_not_a_500(admin_user: Any, object_id: str) -> None:
    browser = Client()
    browser.force_login(admin_user)
    assert browser.post(f"/admin/dualauth/authsession/{object_id}/revoke/").status_code == 404


def test_the_viewer_sees_no_revoke_button_on_the_user_page(make_user: Any, victim: SignInClient, alice: Any) -> None:
    viewer = _staff(make_user, "viewer", "view_authsession", "view_user")
    page = viewer.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert 'id="dualauth-user-sign-ins"' in page
    assert 'id="dualauth-revoke-all"' not in page


def _pasteable() -> Any:
    from hypothesis import strategies as st

    chars = st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, blacklist_categories=("Cs",))
    b64ish = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.", max_size=200)
    return st.one_of(st.text(chars, max_size=400), st.builds(lambda a, b, c: f"{a}.{b}.{c}", b64ish, b64ish, b64ish))


def test_any_pasted_text_is_a_page_never_a_500(admin_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V1.2 / V16.5.3: the token form treats whatever an administrator pastes as untrusted input."""
    from hypothesis import given

    browser = Client()
    browser.force_login(admin_user)

    @given(text=_pasteable())
    def paste(text: str) -> None:
        for button in ("_inspect", "_revoke"):
            response = browser.post("/admin/dualauth/authsession/revoke-token/", {"token": text, button: "1"})
            assert response.status_code in (200, 302), response.status_code

    paste()
    assert victim.get("/api/auth/me/").status_code == 200
