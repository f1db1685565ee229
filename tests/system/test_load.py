"""Load across two instances, with and without a Redis outage: nothing lost, nothing wrongly accepted.

Fifty clients for a minute (``DUALAUTH_LOAD_SECONDS``), each in a loop: sign
in (session or jwt) on either instance, call the API on either, refresh (and
sometimes race two refreshes of one token across both instances), then end
the sign-in by logout or by revoking it, and try the old credential on both
instances at once. Checked: no answer is a 5xx; no request is accepted with
a credential after its revocation returned; every revocation answered 2xx
is in the database; no refresh token yields two token families; every
login is a row. The figures are printed per operation.
The second run stops the instances' Redis (its own redis-server on a spare
port) for ten seconds in the middle and prints the errors and latency of
that window.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from ..conftest import require_programs
from ..redis_server import RedisServer
from . import instances
from .instances import Browser, Instance

pytestmark = pytest.mark.system

CLIENTS = 50
SECONDS = float(os.environ.get("DUALAUTH_LOAD_SECONDS", "60"))
OUTAGE = 10.0
OK_STATUSES = {"login": {200}, "me": {200}, "refresh": {200}, "logout": {204}, "revoke": {204}}


@dataclass
class Tally:
    """What every client saw, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[tuple[float, float, int]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    violations: list[str] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # no answer at all (refused, timed out)
    sids: set[str] = field(default_factory=set)
    outage: threading.Event = field(default_factory=threading.Event)
    revoked_in_outage: list[tuple[str, Browser]] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)  # sign-ins whose revocation was answered 2xx

    @property
    def logins(self) -> int:
        return len(self.sids)

    def record(self, op: str, started: float, status: int) -> None:
        with self.lock:
            self.latencies[op].append((started, time.monotonic() - started, status))
            self.statuses[op][status] += 1
            if status >= 500:
                self.violations.append(f"{op} answered {status}")
            if status == 0:
                self.failures.append((started, op))

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)


def _call(tally: Tally, op: str, browser: Browser, instance: Instance, method: str, path: str, data: Any = None) -> Any:
    started = time.monotonic()
    try:
        response = browser.request(instance, method, path, data)
    except OSError as exc:  # refused or timed out: an error to count, not a verdict
        tally.record(op, started, 0)
        return type("Failed", (), {"status": 0, "error": exc})()
    tally.record(op, started, response.status)
    return response


def _client(pair: tuple[Instance, Instance], tally: Tally, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        kind = rng.choice(["session", "jwt"])
        here, there = rng.sample(pair, 2)
        browser = Browser()
        _call(tally, "csrf", browser, here, "GET", "/api/auth/csrf/")
        body: dict[str, Any] = {"username": "alice", "password": "alice", "kind": kind}
        if kind == "jwt":
            body["transport"] = "header"
        login = _call(tally, "login", browser, here, "POST", "/api/auth/login/", body)
        if login.status != 200:
            continue
        tokens = login.json()
        sid, refresh = tokens["session_id"], tokens.get("refresh")
        with tally.lock:
            tally.sids.add(sid)
        browser.bearer = tokens.get("access")
        for _ in range(rng.randint(3, 8)):
            _call(tally, "me", browser, rng.choice(pair), "GET", "/api/auth/me/")
        if kind == "jwt" and rng.random() < 0.5:
            if rng.random() < 0.3:
                _race(tally, pair, refresh)
                continue  # the race's loser may have ended the sign-in; start afresh
            answer = _call(
                tally, "refresh", browser, rng.choice(pair), "POST", "/api/auth/token/refresh/", {"refresh": refresh}
            )
            if answer.status == 200:
                browser.bearer = answer.json()["access"]
        kept = Browser(cookies=dict(browser.cookies), bearer=browser.bearer)
        # The credential works on the other instance until the moment it is revoked: the refusals below mean something.
        control = _call(tally, "me before revocation", kept, there, "GET", "/api/auth/me/")
        if control.status not in (0, 200):
            tally.violation(f"{kind} sign-in {sid} refused by instance {there.name} before its revocation")
        if rng.random() < 0.5:
            ended = _call(tally, "logout", browser, here, "POST", "/api/auth/logout/", {})
            done = ended.status == 204
        else:
            ended = _call(tally, "revoke", browser, here, "DELETE", f"/api/auth/sessions/{sid}/")
            done = ended.status == 204
        if done:
            with tally.lock:
                tally.revoked.add(sid)
            if tally.outage.is_set():
                with tally.lock:
                    tally.revoked_in_outage.append((sid, kept))
            _refused_everywhere(tally, pair, kept, sid, "me after revocation")


def _refused_everywhere(tally: Tally, pair: tuple[Instance, Instance], kept: Browser, sid: str, op: str) -> None:
    for instance in pair:
        after = _call(tally, op, kept, instance, "GET", "/api/auth/me/")
        if after.status not in (0, 401):
            tally.violation(f"sign-in {sid} answered {after.status} by instance {instance.name} after its revocation")


def _race(tally: Tally, pair: tuple[Instance, Instance], refresh: str) -> None:
    """The same refresh token presented to both instances at once: one new family at most."""
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def present(instance: Instance) -> None:
        barrier.wait()
        answers.append(_call(tally, "refresh race", Browser(), instance, "POST", "/api/auth/token/refresh/",
                             {"refresh": refresh}).status)  # fmt: skip

    racers = [threading.Thread(target=present, args=(instance,)) for instance in pair]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    if answers.count(200) > 1:
        tally.violation(f"one refresh token made {answers.count(200)} token families")


def _rows() -> set[str]:
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=instances.DATABASE) as connection:
        return {str(row[0]) for row in connection.execute("SELECT id FROM dualauth_authsession")}


def _report(title: str, tally: Tally, elapsed: float, window: tuple[float, float] | None = None) -> None:
    print(f"\n{title}: {CLIENTS} clients, {elapsed:.0f} s, {tally.logins} logins")
    print(f"{'operation':<22}{'count':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for op, samples in sorted(tally.latencies.items()):
        times = sorted(duration for _started, duration, _status in samples)
        p50, p99 = times[len(times) // 2] * 1000, times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses[op].items()))
        print(f"{op:<22}{len(times):>8}{len(times) / elapsed:>8.1f}{p50:>9.1f}{p99:>9.1f}  {statuses}")
    if window is not None:
        inside = [
            (op, d, st) for op, samples in tally.latencies.items() for t, d, st in samples if window[0] <= t < window[1]
        ]
        failed = [
            1 for op, _d, st in inside if st == 0 or st >= 500 or (op in OK_STATUSES and st not in OK_STATUSES[op])
        ]
        durations = sorted(d for _op, d, _st in inside)
        if durations:
            print(
                f"during the Redis outage: {len(durations)} requests, {len(failed)} failed"
                f" ({len(failed) / len(durations):.1%}), p50 {statistics.median(durations) * 1000:.1f} ms,"
                f" p99 {durations[min(len(durations) - 1, int(len(durations) * 0.99))] * 1000:.1f} ms"
            )


def _run(pair: tuple[Instance, Instance], tally: Tally, seconds: float) -> float:
    started = time.monotonic()
    deadline = started + seconds
    clients = [threading.Thread(target=_client, args=(pair, tally, deadline, seed)) for seed in range(CLIENTS)]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=seconds + 60)
    assert not any(client.is_alive() for client in clients), "a client hung"
    return time.monotonic() - started


def _check(tally: Tally, window: tuple[float, float] | None = None) -> None:
    assert not tally.violations, tally.violations[:10]
    outside = [op for started, op in tally.failures if window is None or not window[0] <= started < window[1]]
    assert not outside, f"{len(outside)} requests got no answer outside the outage, e.g. {outside[:5]}"
    assert tally.logins > CLIENTS
    assert _rows() == tally.sids  # every login is a row, and nothing else made one
    unrecorded = tally.revoked - instances.revoked_in_database(tally.revoked)
    assert not unrecorded, f"{len(unrecorded)} revocations answered 2xx are not in the database, e.g. {unrecorded}"


@pytest.fixture
def load_pair() -> Iterator[tuple[Instance, Instance, RedisServer]]:
    """Two gunicorn instances on their own redis-server, login throttles off, sessions in cached_db."""
    require_programs("redis-server")
    server = RedisServer("--appendonly", "yes")
    env = instances.environment(
        server.url,
        DJANGO_SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
        DUALAUTH_LOGIN_THROTTLE_RATE="off",
    )
    started: list[Instance] = []
    try:
        server.start()
        instances.prepare(server.url)
        started.append(instances.start("A", "gunicorn", env))
        started.append(instances.start("B", "gunicorn", env))
        yield started[0], started[1], server
    finally:
        for instance in started:
            instances.stop(instance)
        server.close()
        instances.drop_database()


def test_a_minute_of_load_loses_nothing(load_pair: tuple[Instance, Instance, RedisServer]) -> None:
    a, b, _server = load_pair
    tally = Tally()
    elapsed = _run((a, b), tally, SECONDS)
    _report("load", tally, elapsed)
    _check(tally)


def test_a_redis_outage_under_load_loses_nothing(load_pair: tuple[Instance, Instance, RedisServer]) -> None:
    """Redis keeps an append-only file: it comes back with the entries it had, stale ones included."""
    a, b, server = load_pair
    tally = Tally()
    window: list[float] = []
    length = min(OUTAGE, SECONDS / 3)

    def outage() -> None:
        time.sleep(SECONDS / 2 - length / 2)
        window.append(time.monotonic())
        tally.outage.set()
        server.stop()
        time.sleep(length)
        server.start()
        tally.outage.clear()
        window.append(time.monotonic())

    breaker = threading.Thread(target=outage)
    breaker.start()
    elapsed = _run((a, b), tally, SECONDS)
    breaker.join()
    _report(f"load with Redis stopped for {length:.0f} s", tally, elapsed, (window[0], window[1]))
    inside = [
        1 for samples in tally.latencies.values() for started, _d, _s in samples if window[0] <= started < window[1]
    ]
    assert len(inside) > 50, "the outage did not overlap the load"
    assert tally.revoked_in_outage
    for sid, kept in tally.revoked_in_outage:  # revoked while Redis was away: still refused now it is back
        _refused_everywhere(tally, (a, b), kept, sid, "revoked in the outage, tried after")
    print(f"{len(tally.revoked_in_outage)} sign-ins revoked during the outage, all refused on both instances after it")
    _check(tally, (window[0], window[1]))
