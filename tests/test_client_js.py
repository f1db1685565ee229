"""dualauth/static/dualauth/client.js in a real browser (Debian's Chromium): CSRF, refresh, origins.

The demo pages show the client at work; these tests pin what a project relying
on it needs: the CSRF token never leaves the page's origin, an HttpOnly CSRF
cookie still works, and calls that meet an expired access token together
share one refresh (two would look like refresh-token re-use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from .browser import chromium_fixture, page_fixture  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("example_project.urls")]  # its demo page

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
class Demo:
    """The session demo page, which loads client.js, and every request it has made."""

    page: Any
    requests: list[Any] = field(default_factory=list)

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)


@pytest.fixture
def demo(page: Any, live_server: Any, alice: Any, use_mode: Any) -> Demo:
    use_mode("hybrid", LOGIN_THROTTLE_RATE=None)
    demo = Demo(page)
    page.on("request", lambda request: demo.requests.append(request))
    page.goto(f"{live_server.url}/demo/session/")
    page.wait_for_function("() => window.dualauth !== undefined")
    return demo


def test_the_csrf_token_is_sent_to_this_origin_only(demo: Any) -> None:
    captured: list[dict[str, str]] = []

    def elsewhere(route: Any) -> None:
        captured.append(route.request.headers)
        allow_all = {"Access-Control-Allow-" + name: "*" for name in ("Origin", "Headers", "Methods")}
        route.fulfill(status=200, body="{}", headers=allow_all)

    demo.page.route("**/collect", elsewhere)
    statuses = demo.evaluate(
        """async () => {
          const auth = dualauth.client();
          const mine = await auth.send("POST", "logout/", {});
          const theirs = await auth.send("POST", "https://elsewhere.test/collect", {});
          const relative = await auth.send("POST", "//elsewhere.test/collect", {});
          return [mine.status, theirs.status, relative.status];
        }"""
    )
    assert statuses == [204, 200, 200]
    ours = next(r for r in demo.requests if r.url.endswith("/api/auth/logout/"))
    assert ours.headers.get("x-csrftoken")
    assert len(captured) == 2
    assert all("x-csrftoken" not in headers for headers in captured)


def test_an_httponly_csrf_cookie_is_read_from_the_csrf_endpoint(demo: Any, settings: Any) -> None:
    settings.CSRF_COOKIE_HTTPONLY = True
    demo.page.context.clear_cookies()
    assert demo.evaluate(SIGN_IN, ["session"]) == 200
    assert demo.evaluate("async () => (await dualauth.client().call('GET', 'me/')).status") == 200


@CONCURRENT
def test_calls_that_meet_an_expired_access_token_together_share_one_refresh(demo: Any) -> None:
    assert demo.evaluate(SIGN_IN, ["jwt"]) == 200
    demo.page.context.clear_cookies(name="dualauth_access")  # as if it had expired
    demo.requests.clear()
    statuses = demo.evaluate(
        """async () => {
          const auth = dualauth.client({ refresh: true });
          const answers = await Promise.all([auth.call("GET", "me/"), auth.call("GET", "sessions/"),
                                             auth.call("GET", "me/")]);
          return answers.map((answer) => answer.status);
        }"""
    )
    assert statuses == [200, 200, 200]
    refreshes = [r for r in demo.requests if r.url.endswith("/api/auth/token/refresh/")]
    assert len(refreshes) == 1


@CONCURRENT
def test_a_call_answered_after_a_refresh_succeeded_retries_without_refreshing_again(demo: Any) -> None:
    """The 401 of a call sent before the refresh arrives after it: retry with the new cookie, spend no token."""
    assert demo.evaluate(SIGN_IN, ["jwt"]) == 200
    demo.page.context.clear_cookies(name="dualauth_access")
    demo.requests.clear()
    statuses = demo.evaluate(
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
    assert len([r for r in demo.requests if r.url.endswith("/api/auth/token/refresh/")]) == 1


@CONCURRENT
def test_two_tabs_refreshing_at_once_both_stay_signed_in(demo: Any, use_mode: Any) -> None:
    """Two clients (tabs) share the cookies but not the single refresh: the loser's conflict is not an end."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE=None, REFRESH_REUSE_GRACE=30)
    assert demo.evaluate(SIGN_IN, ["jwt"]) == 200
    demo.page.context.clear_cookies(name="dualauth_access")
    answered: list[int] = []
    demo.page.on("response", lambda r: answered.append(r.status) if r.url.endswith("/token/refresh/") else None)
    statuses = demo.evaluate(
        """async () => {
          const tabs = [dualauth.client({ refresh: true }), dualauth.client({ refresh: true })];
          const answers = await Promise.all(tabs.map((tab) => tab.call("GET", "me/")));
          return answers.map((answer) => answer.status);
        }"""
    )
    assert sorted(answered) == [200, 401]  # the race happened: one rotation, one refresh_conflict
    assert statuses == [200, 200]
