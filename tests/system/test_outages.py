"""Outages of a deployment, on real instances: the session store down, and one instance cut off from Redis.

Two gunicorn instances of the example project share PostgreSQL and a private
``redis-server`` that persists (append-only file, fsync on every write), which
holds both Django's sessions (the ``cache`` engine: nowhere else) and the
``redis`` state store. Checked each time: every revocation answered 2xx is in
the database, and no credential ended is accepted again, on either instance,
after Redis comes back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from ..conftest import require_programs
from ..redis_server import Partition, RedisServer
from . import instances
from .instances import Browser, Instance, revoked_in_database

pytestmark = pytest.mark.system

BOUND = 3  # STORE_ENTRY_MAX_AGE for these instances, in seconds


@pytest.fixture(scope="module")
def deployment() -> Iterator[tuple[Instance, Instance, RedisServer, Partition]]:
    """Instance A reaches Redis directly; instance B through a relay that the test can cut."""
    require_programs("redis-server")
    server = RedisServer("--appendonly", "yes", "--appendfsync", "always")
    started: list[Instance] = []
    relay: Partition | None = None
    try:
        server.start()
        relay = Partition(server.port)
        common = {
            "DJANGO_SESSION_ENGINE": "django.contrib.sessions.backends.cache",
            "DUALAUTH_LOGIN_THROTTLE_RATE": "off",
            "DUALAUTH_STORE_ENTRY_MAX_AGE": str(BOUND),
        }
        instances.prepare(server.url)
        started.append(instances.start("A", "gunicorn", instances.environment(server.url, **common)))
        started.append(instances.start("B", "gunicorn", instances.environment(relay.url, **common)))
        yield started[0], started[1], server, relay
    finally:
        for instance in started:
            instances.stop(instance)
        if relay is not None:
            relay.cut()
        server.close()
        instances.drop_database()


@pytest.fixture(autouse=True)
def _whole(deployment: tuple[Instance, Instance, RedisServer, Partition]) -> Iterator[None]:
    """Each test starts and ends with Redis up and the relay whole."""
    yield
    _a, _b, server, relay = deployment
    if server.process is None:
        server.start()
    if relay.is_cut:
        relay.heal()


def _signed_in(pair: tuple[Instance, Instance], index: int, kind: str) -> tuple[Browser, str]:
    browser = Browser()
    login = browser.login(pair[index % 2], "alice", kind, "header" if kind == "jwt" else None)
    assert login.status == 200, login.body
    for instance in pair:
        assert browser.get(instance, "/api/auth/me/").status == 200
    return browser, login.json()["session_id"]


def _live_entry_in_redis(server: RedisServer, a: Instance, browser: Browser, sid: str) -> None:
    """Wait until Redis holds a live entry for ``sid`` that A will trust (A's workers may still be backing off
    after an earlier outage, answering from the database without writing one)."""
    deadline = time.monotonic() + 10
    while True:
        assert browser.get(a, "/api/auth/me/").status == 200
        keys = server.client().keys(f"*dualauth:sid:{sid}")
        if keys and json.loads(server.client().get(keys[0]) or b"{}").get("r") == 0:
            return
        assert time.monotonic() < deadline, "A never wrote a live entry for the sign-in"
        time.sleep(0.2)


@pytest.mark.parametrize("heals", [False, True], ids=["still-cut", "healed"])
@pytest.mark.parametrize("kind", ["session", "jwt"])
def test_a_logout_through_an_instance_cut_off_from_redis_reaches_the_other_within_the_bound(
    deployment: tuple[Instance, Instance, RedisServer, Partition], kind: str, heals: bool
) -> None:
    """B cannot reach Redis (sessions nor store); A can, and holds a live entry for the sign-in. A logout through
    B is refused by A within STORE_ENTRY_MAX_AGE, with B serving nothing more once the partition heals."""
    a, b, server, relay = deployment
    browser, sid = _signed_in((a, b), 0, kind)
    copy = Browser(cookies=dict(browser.cookies), bearer=browser.bearer)
    _live_entry_in_redis(server, a, copy, sid)
    relay.cut()
    answer = browser.post(b, "/api/auth/logout/")
    cut_at = time.monotonic()
    assert answer.status == 204, answer.body
    assert revoked_in_database([sid]) == {sid}
    if heals:
        relay.heal()
    stale = 0
    while copy.get(a, "/api/auth/me/").status == 200:
        stale += 1
        assert time.monotonic() - cut_at < BOUND + 1.0, f"A still accepts the {kind} sign-in past the bound"
        time.sleep(0.1)
    print(f"{kind}: A answered from its entry {stale} times, refused {time.monotonic() - cut_at:.1f} s after")
    assert stale, "A never answered from its entry: the partition was not real"
    if not heals:
        assert copy.get(b, "/api/auth/me/").status == 401


# Last: it restarts Redis, after which the instances' workers back off for a moment.
def test_logouts_while_the_session_store_is_down_hold_when_it_comes_back(
    deployment: tuple[Instance, Instance, RedisServer, Partition],
) -> None:
    a, b, server, _relay = deployment
    pair = (a, b)
    signed_in = [_signed_in(pair, index, "session") for index in range(12)]
    copies = [Browser(cookies=dict(browser.cookies)) for browser, _sid in signed_in]  # what a thief kept
    server.stop()
    ended: list[str] = []
    for index, (browser, sid) in enumerate(signed_in[:6]):
        answer = browser.post(pair[index % 2], "/api/auth/logout/")
        assert answer.status == 204, answer.body  # the database is up: the logout is recorded, whatever Redis does
        ended.append(sid)
    assert revoked_in_database(ended) == set(ended)  # every revocation answered 2xx is in the database
    server.start()  # from its append-only file: every session is back, the logged-out ones included
    for copy, (_browser, sid) in zip(copies[:6], signed_in[:6], strict=True):
        for instance in pair:
            assert copy.get(instance, "/api/auth/me/").status == 401, f"logged-out {sid} accepted by {instance.name}"
    for copy in copies[6:]:  # the others' sessions came back with Redis: it really restored them
        for instance in pair:
            assert copy.get(instance, "/api/auth/me/").status == 200
