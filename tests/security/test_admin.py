"""The Django admin's own sign-ins (ASVS 5.0 V7.2.4, V7.4.5): tracked, rotated, killable, CSRF-protected.

The admin screens for sign-ins and tokens arrive with the admin issue; these tests hold
the guarantees that exist now and that those screens will build on.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dualauth import services
from dualauth.models import AuthSession

from ..conftest import session_exists, stored_session_count

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
