"""The administrator's story in a real browser (Debian's Chromium, driven by Playwright).

alice signs in twice, a browser session and an app with tokens; an admin finds
her sign-ins by name, revokes one with the action, pastes her other access
token into "Revoke a token" and revokes it; both of alice's clients are
refused on their next call. Each screen is saved under ``test-output/``.
"""

from __future__ import annotations

from typing import Any

import pytest

from .browser import chromium_fixture, page_fixture, screenshot  # noqa: F401 (fixtures)
from .conftest import SignInClient

pytestmark = pytest.mark.django_db(transaction=True)


def _shot(page: Any, name: str) -> None:
    screenshot(page, "admin-browser", name)


def test_an_admin_finds_and_kills_both_of_alices_sign_ins(
    page: Any, live_server: Any, make_user: Any, alice: Any, use_mode: Any
) -> None:
    use_mode("hybrid")
    make_user("admin", is_staff=True, is_superuser=True)
    laptop, phone = SignInClient("session"), SignInClient("header")
    assert laptop.login("alice").status_code == 200
    assert phone.login("alice").status_code == 200
    assert [c.get("/api/auth/me/").status_code for c in (laptop, phone)] == [200, 200]

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    _shot(page, "01-admin-login")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/dualauth/authsession/")
    page.fill("#searchbar", "alice")
    page.press("#searchbar", "Enter")
    page.wait_for_load_state()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    _shot(page, "02-alices-sign-ins")

    page.check(f"input[name=_selected_action][value='{laptop.session_id}']")
    page.select_option("select[name=action]", "revoke_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#dualauth-revoke-list")
    assert "alice" in page.inner_text("#dualauth-revoke-list")
    _shot(page, "03-confirm-revoke")
    page.click("input[value='Yes, revoke']")
    page.wait_for_selector(".messagelist")
    assert "Revoked 1 sign-in" in page.inner_text(".messagelist")
    _shot(page, "04-revoked")

    page.click("#dualauth-revoke-token")
    page.fill("textarea[name=token]", phone.access)  # type: ignore[arg-type]
    page.click("input[name=_inspect]")
    page.wait_for_selector("#dualauth-token-report")
    report = page.inner_text("#dualauth-token-report")
    assert phone.session_id in report
    assert "alice" in report
    _shot(page, "05-token-inspected")
    page.click("#dualauth-revoke-token-submit")
    page.wait_for_selector(".messagelist")
    assert "Revoked" in page.inner_text(".messagelist")
    _shot(page, "06-token-revoked")

    assert laptop.get("/api/auth/me/").status_code == 401
    assert phone.get("/api/auth/me/").status_code == 401


def test_the_admin_login_refuses_a_password_guesser_and_says_when_to_retry(
    page: Any, live_server: Any, make_user: Any, use_mode: Any
) -> None:
    """The login limiter in front of every password check: the admin's own form error, not a JSON body."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE="3/min")
    make_user("admin", is_staff=True, is_superuser=True)
    for password in ("guess-1", "guess-2", "guess-3", "admin"):  # three guesses, then the right password
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_selector(".errornote")
    error = page.inner_text(".errornote")
    assert "Too many sign-in attempts. Try again in" in error
    assert page.url.startswith(f"{live_server.url}/admin/login/")
    _shot(page, "07-login-throttled")
