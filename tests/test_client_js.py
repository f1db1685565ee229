"""dualauth/static/dualauth/client.js in a real browser (Debian's Chromium): CSRF, refresh, origins.

The demo pages show the client at work; these tests load it on a page of the
suite's own project (tests/project/), alone, and pin what a project relying
on it needs: the CSRF token never leaves the page's origin, an HttpOnly CSRF
cookie still works, and calls that meet an expired access token together
share one refresh (two would look like refresh-token re-use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from .browser import chromium_fixture, page_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

# The live server answers concurrent requests from concurrent threads. On the suite's in-memory SQLite they would
# all share the test's one connection, which sqlite3 does not allow (Python 3.13: "bad parameter or other API
# misuse"); a real database server gives each thread its own. These run in both PostgreSQL profiles.
CONCURRENT = pytest.mark.postgres

SIGN_IN = """async ([kind]) => {
  const auth = dualauth.client({ refresh: kind === "jwt" });
  const body = { username: "alice", password: "alice", kind };
  if (kind === "jwt") body.transport = "cookie";
  return (await auth.send("POST", "login/", body)).status;
}"""


@dataclass
class ClientPage:
    """A page of the suite's project that loads client.js (and nothing else), and every request it has made."""

    page: Any
    requests: list[Any] = field(default_factory=list)

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)


@pytest.fixture
def client_page(page: Any, live_server: Any, alice: Any, use_mode: Any) -> ClientPage:
    use_mode("hybrid", LOGIN_THROTTLE_RATE=None)
    client_page = ClientPage(page)
    page.on("request", lambda request: client_page.requests.append(request))
    page.goto(f"{live_server.url}/client-js/")
    page.wait_for_function("() => window.dualauth !== undefined")
    return client_page


def test_the_csrf_token_is_sent_to_this_origin_only(client_page: Any) -> None:
    captured: list[dict[str, str]] = []

    def elsewhere(route: Any) -> None:
        captured.append(route.request.headers)
        allow_all = {"Access-Control-Allow-" + name: "*" for name in ("Origin", "Headers", "Methods")}
        route.fulfill(status=200, body="{}", headers=allow_all)

    client_page.page.route("**/collect", elsewhere)
    statuses = client_page.evaluate(
        """async () => {
          const auth = dualauth.client();
          const mine = await auth.send("POST", "logout/", {});
          const theirs = await auth.send("POST", "https://elsewhere.test/collect", {});
          const relative = await auth.send("POST", "//elsewhere.test/collect", {});
          return [mine.status, theirs.status, relative.status];
        }"""
    )
    assert statuses == [204, 200, 200]
    ours = next(r for r in client_page.requests if r.url.endswith("/api/auth/logout/"))
    assert ours.headers.get("x-csrftoken")
    assert len(captured) == 2
    assert all("x-csrftoken" not in headers for headers in captured)


def test_an_httponly_csrf_cookie_is_read_from_the_csrf_endpoint(client_page: Any, settings: Any) -> None:
    settings.CSRF_COOKIE_HTTPONLY = True
    client_page.page.context.clear_cookies()
    assert client_page.evaluate(SIGN_IN, ["session"]) == 200
    assert client_page.evaluate("async () => (await dualauth.client().call('GET', 'me/')).status") == 200


@CONCURRENT
def test_calls_that_meet_an_expired_access_token_together_share_one_refresh(client_page: Any) -> None:
    assert client_page.evaluate(SIGN_IN, ["jwt"]) == 200
    client_page.page.context.clear_cookies(name="dualauth_access")  # as if it had expired
    client_page.requests.clear()
    statuses = client_page.evaluate(
        """async () => {
          const auth = dualauth.client({ refresh: true });
          const answers = await Promise.all([auth.call("GET", "me/"), auth.call("GET", "sessions/"),
                                             auth.call("GET", "me/")]);
          return answers.map((answer) => answer.status);
        }"""
    )
    assert statuses == [200, 200, 200]
    refreshes = [r for r in client_page.requests if r.url.endswith("/api/auth/token/refresh/")]
    assert len(refreshes) == 1


@CONCURRENT
def test_a_call_answered_after_a_refresh_succeeded_retries_without_refreshing_again(client_page: Any) -> None:
    """The 401 of a call sent before the refresh arrives after it: retry with the new cookie, spend no token."""
    assert client_page.evaluate(SIGN_IN, ["jwt"]) == 200
    client_page.page.context.clear_cookies(name="dualauth_access")
    client_page.requests.clear()
    statuses = client_page.evaluate(
        """async () => {
          const fetchAsIs = window.fetch;
          let release;
          const refreshed = new Promise((resolve) => { release = resolve; });
          window.fetch = async (input, init) => {
            const response = await fetchAsIs(input, init);
            const url = String(input);
            if (url.endsWith("/sessions/") && response.status === 401) await refreshed;  // held past the refresh
            if (url.endsWith("/token/refresh/")) setTimeout(release, 0);  // after the client has seen it
            return response;
          };
          try {
            const auth = dualauth.client({ refresh: true });
            const answers = await Promise.all([auth.call("GET", "sessions/"), auth.call("GET", "me/")]);
            return answers.map((answer) => answer.status);
          } finally {
            window.fetch = fetchAsIs;
          }
        }"""
    )
    assert statuses == [200, 200]
    assert len([r for r in client_page.requests if r.url.endswith("/api/auth/token/refresh/")]) == 1


@CONCURRENT
def test_two_tabs_refreshing_at_once_both_stay_signed_in(client_page: Any, use_mode: Any) -> None:
    """Two clients (tabs) share the cookies but not the single refresh: the loser's conflict is not an end."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE=None, REFRESH_REUSE_GRACE=30)
    assert client_page.evaluate(SIGN_IN, ["jwt"]) == 200
    client_page.page.context.clear_cookies(name="dualauth_access")
    answered: list[int] = []
    client_page.page.on("response", lambda r: answered.append(r.status) if r.url.endswith("/token/refresh/") else None)
    statuses = client_page.evaluate(
        """async () => {
          const tabs = [dualauth.client({ refresh: true }), dualauth.client({ refresh: true })];
          const answers = await Promise.all(tabs.map((tab) => tab.call("GET", "me/")));
          return answers.map((answer) => answer.status);
        }"""
    )
    assert sorted(answered) == [200, 401]  # the race happened: one rotation, one refresh_conflict
    assert statuses == [200, 200]
