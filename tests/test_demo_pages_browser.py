"""The example project's two sign-in pages in a real browser (Debian's Chromium, driven by Playwright).

alice signs in through the page on two devices (two browser contexts); the
laptop sees the phone's sign-in listed, its own marked, and revokes the phone
from the page; the phone's next call finds it signed out, the laptop is still
in, then logs out. The token page never lets script see a token. Each screen
is saved under ``test-output/demo-pages/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from .browser import VIEWPORT, chromium_fixture, screenshot  # noqa: F401 (fixtures)
from .conftest import SignInClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("example_project.urls")]

PAGES = {"session": "/demo/session/", "jwt": "/demo/tokens/"}
TOKEN_COOKIES = ("dualauth_access", "dualauth_refresh")


class Device:
    """One browser context showing one demo page: its own cookies, as a separate device has."""

    def __init__(self, browser: Any, url: str, name: str, shots: str) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.url, self.name, self.shots = url, name, shots
        self.session_id: str | None = None
        self.login_body: dict[str, Any] = {}

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector("#sign-in:visible")

    def sign_in(self, username: str) -> None:
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", username)
        with self.page.expect_response(lambda r: r.url.endswith("/api/auth/login/")) as login:
            self.page.click("#sign-in button[type=submit]")
        assert login.value.status == 200
        self.login_body = login.value.json()
        self.session_id = self.login_body["session_id"]
        self.wait_signed_in()

    def wait_signed_in(self) -> None:
        self.page.wait_for_selector("#signed-in:visible")
        self.page.wait_for_selector("#sign-ins tbody tr")

    def click_refresh(self) -> None:
        with self.page.expect_response(lambda r: r.url.endswith("/api/auth/me/")):
            self.page.click("#refresh")

    def row(self, session_id: str | None) -> Any:
        return self.page.locator(f"#sign-ins tbody tr[data-session-id='{session_id}']")

    def fetch_status(self, path: str) -> int:
        return int(self.page.evaluate("async (path) => (await fetch(path)).status", path))

    def shot(self, name: str) -> None:
        screenshot(self.page, "demo-pages", f"{self.shots}-{name}-{self.name}")


@pytest.fixture
def devices(chromium: Any, live_server: Any) -> Iterator[Any]:
    opened: list[Device] = []

    def open_device(path: str, name: str, shots: str) -> Device:
        device = Device(chromium, f"{live_server.url}{path}", name, shots)
        opened.append(device)
        device.open()
        return device

    yield open_device
    for device in opened:
        device.context.close()


def assert_no_token_visible_to_script(device: Device) -> None:
    """The tokens are in HttpOnly cookies only: not in the login body, document.cookie, storage or the DOM."""
    assert not {"access", "refresh"} & device.login_body.keys()
    cookies = {c["name"]: c for c in device.context.cookies()}
    assert all(cookies[name]["httpOnly"] for name in TOKEN_COOKIES)
    visible = device.page.evaluate(
        "() => [document.cookie, JSON.stringify({...localStorage}), JSON.stringify({...sessionStorage}),"
        " document.documentElement.outerHTML].join('\\n')"
    )
    for name in TOKEN_COOKIES:
        assert name not in visible
        assert cookies[name]["value"] not in visible


@pytest.mark.parametrize(
    ("kind", "mode"), [("session", "hybrid"), ("jwt", "hybrid"), ("session", "session"), ("jwt", "jwt")]
)
def test_two_devices_sign_in_and_one_revokes_the_other_from_the_page(
    devices: Any, alice: Any, use_mode: Any, kind: str, mode: str
) -> None:
    use_mode(mode)
    shots = f"{'tokens' if kind == 'jwt' else 'session'}-{mode}"
    laptop = devices(PAGES[kind], "laptop", shots)
    laptop.shot("01-signed-out")
    laptop.sign_in("alice")
    phone = devices(PAGES[kind], "phone", shots)
    phone.sign_in("alice")
    assert laptop.session_id != phone.session_id
    assert phone.page.inner_text("#current-kind") == kind
    if kind == "jwt":
        for device in (laptop, phone):
            assert_no_token_visible_to_script(device)

    laptop.click_refresh()
    laptop.page.wait_for_selector("#sign-ins tbody tr >> nth=1")
    assert laptop.page.locator("#sign-ins tbody tr").count() == 2
    assert "this browser" in laptop.row(laptop.session_id).inner_text()
    assert laptop.row(laptop.session_id).get_attribute("class") == "current"
    assert "this browser" not in laptop.row(phone.session_id).inner_text()
    assert laptop.page.inner_text("#username") == "alice"
    laptop.shot("02-both-listed")

    with laptop.page.expect_response(lambda r: r.request.method == "DELETE") as revoke:
        laptop.row(phone.session_id).locator("button.revoke").click()
    assert revoke.value.status == 204
    laptop.row(phone.session_id).wait_for(state="detached")
    assert laptop.page.locator("#sign-ins tbody tr").count() == 1
    laptop.shot("03-phone-revoked")

    phone.click_refresh()
    phone.page.wait_for_selector("#sign-in:visible")
    assert "Signed out" in phone.page.inner_text("#status")
    assert phone.fetch_status("/api/auth/me/") == 401
    phone.shot("04-signed-out")

    laptop.click_refresh()
    laptop.wait_signed_in()
    assert laptop.fetch_status("/api/auth/me/") == 200

    laptop.page.click("#logout")
    laptop.page.wait_for_selector("#sign-in:visible")
    assert "Logged out" in laptop.page.inner_text("#status")
    assert laptop.fetch_status("/api/auth/me/") == 401
    laptop.page.reload()
    laptop.page.wait_for_selector("#sign-in:visible")
    laptop.shot("05-logged-out")


def test_the_token_page_refreshes_an_expired_access_token_once(devices: Any, alice: Any, use_mode: Any) -> None:
    use_mode("hybrid")
    laptop = devices(PAGES["jwt"], "laptop", "tokens-hybrid")
    laptop.sign_in("alice")
    laptop.context.clear_cookies(name="dualauth_access")  # what the browser does when the cookie expires
    calls: list[tuple[str, int]] = []
    laptop.page.on("response", lambda r: calls.append((urlsplit(r.url).path, r.status)))
    with laptop.page.expect_response(lambda r: r.url.endswith("/api/auth/sessions/")):
        laptop.page.click("#refresh")
    assert calls == [
        ("/api/auth/me/", 401),
        ("/api/auth/token/refresh/", 200),
        ("/api/auth/me/", 200),
        ("/api/auth/sessions/", 200),
    ]
    assert laptop.page.is_visible("#signed-in")
    assert_no_token_visible_to_script(laptop)


@pytest.mark.parametrize(("mode", "path"), [("session", "/demo/tokens/"), ("jwt", "/demo/session/")])
def test_a_page_whose_kind_the_mode_refuses_says_so(client: Any, use_mode: Any, mode: str, path: str) -> None:
    use_mode(mode)
    response = client.get(path)
    assert response.status_code == 200
    assert f"runs in {mode} mode" in response.content.decode()
    assert b'id="demo"' not in response.content


def test_the_token_page_needs_the_cookie_transport(client: Any, use_mode: Any) -> None:
    use_mode("hybrid", JWT_TRANSPORTS=["header"])
    assert b"cookie transport is not enabled" in client.get("/demo/tokens/").content
    assert b'id="demo"' in client.get("/demo/session/").content


def test_the_home_page_links_both_demo_pages(client: Any) -> None:
    content = client.get("/").content.decode()
    assert all(f'href="{path}"' in content for path in PAGES.values())


def test_the_page_shows_a_hostile_user_agent_as_text(devices: Any, alice: Any, use_mode: Any) -> None:
    use_mode("hybrid")
    hostile = '<img src=x onerror="window.pwned=1">Chrome/120 <b>bold</b>'
    other = SignInClient("header")
    other.client.defaults["HTTP_USER_AGENT"] = hostile
    assert other.login("alice").status_code == 200
    laptop = devices(PAGES["session"], "laptop", "session-hybrid")
    laptop.sign_in("alice")
    row = laptop.row(other.session_id)
    assert row.locator("td:nth-child(2)").get_attribute("title") == hostile
    assert row.locator("img, b").count() == 0
    assert laptop.page.evaluate("() => window.pwned") is None
