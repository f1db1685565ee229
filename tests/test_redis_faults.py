"""Faults of the Redis behind the ``redis`` store and ``cached_db`` sessions, on a private redis-server.

Each fault is real: ``FLUSHALL``, a restart (no persistence, so it comes back
empty), a stopped server, and a network partition (a relay between the app
and Redis is cut: Redis keeps its data, nothing sent meanwhile reaches it). None may un-revoke a sign-in, break a live
one, or answer 500.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from redis.backoff import NoBackoff
from redis.retry import Retry

from dualauth import services
from dualauth.models import AuthSession
from dualauth.stores import get_store
from dualauth.stores.redis import KEY_PREFIX, RedisStore

from .conftest import SignInClient, require_programs
from .redis_server import Partition, RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

REVOKED = "revoked"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    require_programs("redis-server")
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def partition(server: RedisServer) -> Iterator[Partition]:
    relay = Partition(server.port)
    yield relay
    relay.cut()


@pytest.fixture
def redis(server: RedisServer, partition: Partition, redis_store: Any, monkeypatch: Any) -> Iterator[RedisServer]:
    """The store and ``cached_db`` sessions on the private server; Redis is tried again on every request."""
    if server.process is None:
        server.start()
    server.client().flushall()
    redis_store(
        partition.url,
        sessions="cached_db",
        SOCKET_CONNECT_TIMEOUT=0.5,
        SOCKET_TIMEOUT=0.5,
        IGNORE_EXCEPTIONS=True,  # for the sessions; the store sees every error regardless
        CONNECTION_POOL_KWARGS={"retry": Retry(NoBackoff(), 0)},
    )
    monkeypatch.setattr(RedisStore, "retry_after", 0.0)
    yield server
    partition.cut()
    partition.heal()


def _clients(flavour: str) -> dict[str, SignInClient]:
    """A live sign-in and a revoked one, both seen once so Redis holds their state."""
    live, dead = SignInClient(flavour), SignInClient(flavour)
    assert live.login("alice").status_code == 200
    assert dead.login("alice").status_code == 200
    services.revoke(dead.session_id, "admin")  # type: ignore[arg-type]
    for client in (live, dead):
        client.get("/api/auth/me/")
    return {"live": live, REVOKED: dead}


def _statuses(clients: dict[str, SignInClient]) -> dict[str, int]:
    return {name: client.get("/api/auth/me/").status_code for name, client in clients.items()}


def _entry(server: RedisServer, sid: Any) -> dict[str, Any] | None:
    keys = server.client().keys(f"*{KEY_PREFIX}{sid}")
    return json.loads(server.client().get(keys[0])) if keys else None  # type: ignore[arg-type]


FLAVOURS = ["session", "header", "cookie"]


@pytest.mark.parametrize("fault", ["flushall", "restart"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_after_a_flush_or_restart_revoked_sign_ins_stay_refused_and_live_ones_work(
    redis: RedisServer, alice: Any, flavour: str, fault: str
) -> None:
    clients = _clients(flavour)
    redis.client().flushall() if fault == "flushall" else redis.restart()
    assert _statuses(clients) == {"live": 200, REVOKED: 401}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_with_redis_down_the_database_answers_and_revocations_hold(
    redis: RedisServer, alice: Any, flavour: str
) -> None:
    clients = _clients(flavour)
    redis.stop()
    assert _statuses(clients) == {"live": 200, REVOKED: 401}
    newcomer = SignInClient(flavour)
    assert newcomer.login("alice").status_code == 200
    assert newcomer.get("/api/auth/me/").status_code == 200
    assert clients["live"].delete(f"/api/auth/sessions/{newcomer.session_id}/").status_code == 204
    assert newcomer.get("/api/auth/me/").status_code == 401
    assert clients["live"].post("/api/auth/logout/").status_code == 204
    assert _statuses(clients) == {"live": 401, REVOKED: 401}


@pytest.mark.parametrize("revoked", [False, True], ids=["live", "revoked"])
def test_a_partition_between_question_and_answer_is_answered_by_the_database(
    redis: RedisServer, partition: Partition, alice: Any, revoked: bool
) -> None:
    client = SignInClient("header")
    client.login("alice")
    if revoked:
        services.revoke(client.session_id, "admin")
    state, _ = get_store().get_overlapping(uuid.UUID(client.session_id), partition.cut)
    assert state is not None
    assert state.revoked is revoked
    partition.heal()
    assert get_store().get(uuid.UUID(client.session_id)) == state


def test_an_outage_is_logged_once_per_interval(redis: RedisServer, alice: Any, caplog: Any, monkeypatch: Any) -> None:
    clients = _clients("header")
    redis.stop()
    monkeypatch.setattr(RedisStore, "log_interval", 3600.0)
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        for _ in range(20):
            _statuses(clients)
    outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage) == 1
    monkeypatch.setattr(RedisStore, "log_interval", 0.0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        _statuses(clients)
    assert any(
        r.getMessage().startswith("dualauth: Redis store 'auth' still unreachable; ")
        and r.getMessage().endswith(" requests answered by the database so far")
        for r in caplog.records
    )


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_when_redis_is_back_the_store_uses_it_again(redis: RedisServer, alice: Any, flavour: str, caplog: Any) -> None:
    clients = _clients(flavour)
    redis.stop()
    _statuses(clients)
    redis.start()
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        assert _statuses(clients) == {"live": 200, REVOKED: 401}
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    assert _entry(redis, clients["live"].session_id)["r"] == 0  # type: ignore[index]
    assert _entry(redis, clients[REVOKED].session_id)["r"] == 1  # type: ignore[index]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_revocation_redis_missed_is_not_undone_when_it_comes_back(
    redis: RedisServer, partition: Partition, alice: Any, flavour: str
) -> None:
    """The trap: Redis keeps the "live" entry through an outage it did not restart in."""
    clients = _clients(flavour)
    live = clients["live"]
    assert _entry(redis, live.session_id)["r"] == 0  # type: ignore[index]
    partition.cut()
    services.revoke(live.session_id, "admin")  # type: ignore[arg-type]
    partition.heal()
    assert _entry(redis, live.session_id)["r"] == 0  # type: ignore[index]  # still stale in Redis...
    assert live.get("/api/auth/me/").status_code == 401  # ...and never served
    assert _entry(redis, live.session_id)["r"] == 1  # type: ignore[index]


def test_another_process_sees_the_missed_revocation_once_the_first_is_back(
    redis: RedisServer, partition: Partition, alice: Any
) -> None:
    """A process that never saw the outage reads Redis; the process that did re-syncs on its way back."""
    clients = _clients("header")
    live = clients["live"]
    partition.cut()
    services.revoke(live.session_id, "admin")  # type: ignore[arg-type]
    partition.heal()
    this_process = get_store()
    other_process = RedisStore("auth")
    this_process.get(uuid.uuid4())  # any request of this process re-syncs first
    state = other_process.get(uuid.UUID(live.session_id))
    assert state is not None
    assert state.revoked


@pytest.mark.parametrize("heals", [False, True], ids=["still-cut", "healed"])
def test_an_instance_cut_off_from_redis_is_seen_by_the_others_within_store_entry_max_age(
    redis: RedisServer, partition: Partition, alice: Any, settings: Any, heals: bool
) -> None:
    """Instance B is cut off from Redis, instance A is not: a logout through B is refused by A within
    ``STORE_ENTRY_MAX_AGE``, whether or not B ever serves another request (it serves none here)."""
    bound = 2.0
    settings.DUALAUTH = {**settings.DUALAUTH, "STORE_ENTRY_MAX_AGE": int(bound)}
    settings.CACHES = {**settings.CACHES, "direct": {**settings.CACHES["auth"], "LOCATION": redis.url}}
    client = SignInClient("header")
    client.login("alice")
    assert client.get("/api/auth/me/").status_code == 200  # instance B: this process, through the relay
    a = RedisStore("direct")  # instance A: straight to Redis
    sid = uuid.UUID(client.session_id)
    assert services.checking.live(a.get(sid), "jwt") is not None
    partition.cut()
    assert client.post("/api/auth/logout/").status_code == 204
    cut_at = time.monotonic()
    assert client.get("/api/auth/me/").status_code == 401  # B itself refuses at once
    if heals:
        partition.heal()  # and B serves nothing more: no request of B's can deliver what it missed
    seen_live = 0
    while services.checking.live(a.get(sid), "jwt") is not None:
        seen_live += 1
        assert time.monotonic() - cut_at < bound + 0.5, "instance A still accepts the sign-in past the bound"
        time.sleep(0.05)
    assert seen_live, "A never answered from its stale entry: the partition was not real"


def test_a_revocation_made_while_backing_off_reaches_a_redis_that_is_back(
    redis: RedisServer, partition: Partition, alice: Any, settings: Any, monkeypatch: Any
) -> None:
    """Instance B lost Redis a moment ago and is backing off (answering from the database) when Redis is
    reachable again; instance A already uses it. A revocation made through B in that moment must reach Redis
    at once, or A serves the live entry Redis still holds until B re-syncs."""
    monkeypatch.setattr(RedisStore, "retry_after", 60.0)  # B stays in its back-off for the whole test
    settings.CACHES = {**settings.CACHES, "direct": {**settings.CACHES["auth"], "LOCATION": redis.url}}
    client = SignInClient("header")
    client.login("alice")
    assert client.get("/api/auth/me/").status_code == 200
    a = RedisStore("direct")
    sid = uuid.UUID(client.session_id)
    partition.cut()
    assert client.get("/api/auth/me/").status_code == 200  # B fails over to the database, and backs off
    partition.heal()
    assert services.checking.live(a.get(sid), "jwt") is not None
    assert client.post("/api/auth/logout/").status_code == 204  # through B, still backing off
    state = a.get(sid)
    assert state is not None
    assert state.revoked


def test_a_hung_redis_costs_one_timeout_per_back_off_not_one_per_revocation(
    redis_store: Any, alice: Any, monkeypatch: Any
) -> None:
    """A Redis that accepts connections and never answers: "revoke all" of many sign-ins during the back-off
    tries Redis once, not once per sign-in."""
    import socket

    monkeypatch.setattr(RedisStore, "retry_after", 60.0)
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)  # accepts (the kernel does), never reads nor answers
    try:
        redis_store(f"redis://127.0.0.1:{hung.getsockname()[1]}/0", mode="jwt", SOCKET_CONNECT_TIMEOUT=0.3,
                    SOCKET_TIMEOUT=0.3, CONNECTION_POOL_KWARGS={"retry": Retry(NoBackoff(), 0)})  # fmt: skip
        clients = [SignInClient("header") for _ in range(8)]
        for client in clients:
            assert client.login("alice").status_code == 200
        started = time.monotonic()
        assert services.revoke_user(alice, "admin") == 8
        assert time.monotonic() - started < 8 * 0.3
    finally:
        hung.close()
    assert all(client.get("/api/auth/me/").status_code == 401 for client in clients)


def test_after_a_failure_redis_is_left_alone_for_a_moment(redis: RedisServer, alice: Any, monkeypatch: Any) -> None:
    """What keeps an outage cheap: one failed attempt per ``retry_after``, not one per request."""
    monkeypatch.setattr(RedisStore, "retry_after", 60.0)
    clients = _clients("header")
    redis.stop()
    assert _statuses(clients) == {"live": 200, REVOKED: 401}  # the first check fails over to the database
    store = get_store()
    real_client = store._client  # type: ignore[attr-defined]
    monkeypatch.setattr(store, "_client", lambda: pytest.fail("Redis was tried again during the back-off"))
    assert _statuses(clients) == {"live": 200, REVOKED: 401}
    tried: list[bool] = []
    monkeypatch.setattr(store, "_client", lambda: tried.append(True) or real_client())
    services.revoke(clients["live"].session_id, "admin")  # type: ignore[arg-type]
    assert tried == [True]  # a revocation is tried once, back-off or not (Redis may be back)
    monkeypatch.setattr(store, "_client", lambda: pytest.fail("Redis was tried again during the back-off"))
    assert _statuses(clients) == {"live": 401, REVOKED: 401}


def test_a_session_engine_that_cannot_delete_does_not_stop_a_revocation(
    redis: RedisServer, alice: Any, settings: Any, caplog: Any
) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "auth": {
            **settings.CACHES["auth"],
            "OPTIONS": {**settings.CACHES["auth"]["OPTIONS"], "IGNORE_EXCEPTIONS": False},
        },
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    client = SignInClient("session")
    client.login("alice")
    redis.stop()
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        assert services.revoke(client.session_id, "admin") is True  # type: ignore[arg-type]
    assert any("could not delete a revoked session" in r.getMessage() for r in caplog.records)
    assert services.check(client.session_id, "session") is None


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_restart_from_a_snapshot_does_not_bring_back_a_revocation(
    redis: RedisServer, alice: Any, flavour: str, caplog: Any
) -> None:
    """Redis with persistence: the snapshot predates the revocation, and the restart loads it."""
    clients = _clients(flavour)
    live = clients["live"]
    redis.client().save()  # the snapshot holds the live entry...
    services.revoke(live.session_id, "admin")  # type: ignore[arg-type]
    assert _entry(redis, live.session_id)["r"] == 1  # type: ignore[index]
    redis.restart()  # ...and comes back without the revocation
    assert _entry(redis, live.session_id)["r"] == 0  # type: ignore[index]
    with caplog.at_level(logging.INFO, logger="dualauth"):
        assert _statuses(clients) == {"live": 401, REVOKED: 401}
    assert _entry(redis, live.session_id)["r"] == 1  # type: ignore[index]
    assert any("a new server run" in r.getMessage() for r in caplog.records)


def test_a_command_run_during_an_outage_says_the_store_was_not_told(
    redis: RedisServer, partition: Partition, alice: Any
) -> None:
    """A command will not be around to deliver its writes later: it fails loudly, and cleanup heals."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from dualauth import stores

    client = _clients("header")["live"]
    partition.cut()
    with pytest.raises(CommandError, match="could not be told"):
        call_command("dualauth_revoke", "--user", "alice", stdout=io.StringIO())
    partition.heal()
    stores._store = None  # the command's process has exited; a web process never saw the outage
    assert _entry(redis, client.session_id)["r"] == 0  # type: ignore[index]
    call_command("dualauth_cleanup", stdout=io.StringIO())
    assert _entry(redis, client.session_id)["r"] == 1  # type: ignore[index]
    assert client.get("/api/auth/me/").status_code == 401


def test_changes_during_the_re_sync_wait_for_it_instead_of_being_lost(
    redis: RedisServer, partition: Partition, alice: Any, monkeypatch: Any
) -> None:
    """A revocation committed while another thread re-syncs must not be queued behind a finished re-sync."""
    clients = [SignInClient("header") for _ in range(2)]
    for client in clients:
        client.login("alice")
        client.get("/api/auth/me/")
    first, second = clients
    store = get_store()
    partition.cut()
    services.revoke(first.session_id, "admin")  # type: ignore[arg-type]
    partition.heal()
    real = store._write_revocations  # type: ignore[attr-defined]
    racer = threading.Thread(target=services.revoke, args=(second.session_id, "admin"))

    def resync_while_another_thread_revokes(client: Any, since: Any) -> int:
        written = real(client, since)  # the re-sync's query has run...
        if racer.ident is not None:
            return written
        racer.start()  # ...and now another request revokes
        racer.join(timeout=0.3)
        assert racer.is_alive(), "the racing revocation did not wait for the re-sync"
        return written

    monkeypatch.setattr(store, "_write_revocations", resync_while_another_thread_revokes)
    assert first.get("/api/auth/me/").status_code == 401  # this request re-syncs
    racer.join(timeout=10)
    monkeypatch.undo()
    assert _entry(redis, second.session_id)["r"] == 1  # type: ignore[index]
    assert second.get("/api/auth/me/").status_code == 401


def test_a_redis_without_info_still_serves_the_store(redis_store: Any, alice: Any) -> None:
    """Some managed services rename INFO away: restart detection is off, nothing else is."""
    require_programs("redis-server")
    server = RedisServer("--rename-command", "INFO", '""')
    server.start()
    try:
        redis_store(server.url, mode="jwt")
        client = SignInClient("header")
        assert client.login("alice").status_code == 200
        assert client.get("/api/auth/me/").status_code == 200
        services.revoke(client.session_id, "admin")  # type: ignore[arg-type]
        assert client.get("/api/auth/me/").status_code == 401
        assert _entry(server, client.session_id)["r"] == 1  # type: ignore[index]
        assert get_store()._outage_started is None  # type: ignore[attr-defined]
    finally:
        server.close()


# The store's own paths through an outage ---------------------------------------------------------------------


def _seen(partition: Partition) -> tuple[RedisStore, uuid.UUID]:
    """A bearer sign-in whose state Redis holds, and the store, healthy."""
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    store = get_store()
    assert isinstance(store, RedisStore)
    return store, uuid.UUID(client.session_id)


def test_a_plain_read_during_an_outage_is_answered_by_the_database(
    redis: RedisServer, partition: Partition, alice: Any, caplog: Any
) -> None:
    store, sid = _seen(partition)
    partition.cut()
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        assert store.get(sid) == store.database.get(sid)
    assert store._outage_started is not None
    assert "dualauth: Redis store 'auth' unreachable (ConnectionError: " in caplog.text


def test_work_that_fails_while_the_read_could_not_be_sent_raises_its_own_error(
    redis: RedisServer, partition: Partition, alice: Any
) -> None:
    store, sid = _seen(partition)
    partition.cut()

    def work() -> None:
        raise LookupError("the user's read failed")

    with pytest.raises(LookupError):
        store.get_overlapping(sid, work)


def test_a_re_sync_stops_at_the_first_failure_and_counts_what_it_did(
    redis: RedisServer, partition: Partition, alice: Any
) -> None:
    store, sid = _seen(partition)
    partition.cut()
    assert store.resync([sid, uuid.uuid4()]) == 0
    partition.heal()
    assert store.resync([sid, uuid.uuid4()]) == 2


def test_what_an_outage_remembers_is_bounded(
    redis: RedisServer, partition: Partition, alice: Any, monkeypatch: Any
) -> None:
    store, sid = _seen(partition)
    monkeypatch.setattr(store, "max_unsynced", 2)
    partition.cut()
    for other in (sid, uuid.uuid4(), uuid.uuid4()):
        store.changed(other)
    assert len(store._unsynced) == 2


def _blocked_read(store: RedisStore, sid: uuid.UUID, meanwhile: Any) -> Any:
    """``store.get(sid)`` from another thread, held at the store's lock while ``meanwhile()`` plays the part of
    the thread that had it; the answer, or what it raised."""
    answers: list[Any] = []

    def read() -> None:
        try:
            answers.append(store.get(sid))
        except Exception as exc:  # noqa: BLE001 - the test reports it
            answers.append(exc)

    with store._lock:
        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.2)  # the reader is now waiting for the lock
        meanwhile()
    reader.join(timeout=10)
    return answers[0]


def _backed_off(store: RedisStore, sid: uuid.UUID, partition: Partition) -> None:
    partition.cut()
    store.get(sid)
    partition.heal()
    assert store._outage_started is not None


def test_a_thread_that_waited_out_anothers_re_sync_uses_redis_without_re_syncing(
    redis: RedisServer, partition: Partition, alice: Any, caplog: Any
) -> None:
    store, sid = _seen(partition)
    _backed_off(store, sid, partition)

    def resynced() -> None:
        store._outage_started = None

    with caplog.at_level(logging.WARNING, logger="dualauth"):
        assert _blocked_read(store, sid, resynced) == store.database.get(sid)
    assert "reachable again" not in caplog.text


def test_a_thread_that_waited_out_anothers_failed_re_sync_backs_off_too(
    redis: RedisServer, partition: Partition, alice: Any, caplog: Any
) -> None:
    store, sid = _seen(partition)
    _backed_off(store, sid, partition)

    def failed_again() -> None:
        store._retry_at = time.monotonic() + 60

    with caplog.at_level(logging.WARNING, logger="dualauth"):
        assert _blocked_read(store, sid, failed_again) == store.database.get(sid)
    assert "reachable again" not in caplog.text
    assert store._outage_started is not None


def test_a_new_server_run_is_re_synced_by_one_thread_only(redis: RedisServer, partition: Partition, alice: Any) -> None:
    store, sid = _seen(partition)
    (boot_key,) = redis.client().keys("*dualauth:boot")
    recorded = redis.client().get(boot_key)
    store.boot_changed("a-new-run", recorded.decode())  # type: ignore[union-attr]

    def handled() -> None:
        store._new_run_id = None

    assert _blocked_read(store, sid, handled) == store.database.get(sid)
    assert redis.client().get(boot_key) == recorded, "the waiting thread wrote nothing"
    assert store._outage_started is None


def test_during_the_back_off_only_a_revocation_pays_for_a_write(
    redis: RedisServer, partition: Partition, alice: Any, monkeypatch: Any
) -> None:
    """A live sign-in's change waits for the re-sync; a revocation is tried at once (Redis may be back)."""
    store, sid = _seen(partition)
    other = SignInClient("header")
    assert other.login("alice").status_code == 200
    _backed_off(store, sid, partition)
    monkeypatch.setattr(store, "_retry_at", time.monotonic() + 60)
    written: list[Any] = []
    real_write = store._write

    def counted(client: Any, state: Any) -> None:
        written.append(state.sid)
        real_write(client, state)

    monkeypatch.setattr(store, "_write", counted)
    store.changed(sid)  # live: remembered for the re-sync
    assert written == []
    services.revoke(other.session_id, "admin")  # type: ignore[arg-type]
    assert written == [uuid.UUID(other.session_id)]


def test_after_an_outage_what_changed_meanwhile_is_read_afresh_and_only_new_revocations_rewritten(
    redis: RedisServer, partition: Partition, alice: Any, caplog: Any
) -> None:
    """The re-sync drops the entries of sign-ins changed while Redis was out of reach (their copies are stale)
    and writes again the revocations made meanwhile, not every one there is."""
    store, sid = _seen(partition)
    earlier = SignInClient("header")
    assert earlier.login("alice").status_code == 200
    services.revoke(earlier.session_id, "admin")  # type: ignore[arg-type]
    AuthSession.objects.filter(pk=earlier.session_id).update(revoked_at=timezone.now() - timedelta(hours=1))
    partition.cut()
    later = timezone.now() + timedelta(minutes=5)
    AuthSession.objects.filter(pk=sid).update(last_seen_at=later)
    store.changed(sid)  # not delivered: remembered for the re-sync
    for _ in range(2):
        during = SignInClient("header")
        assert during.login("alice").status_code == 200
        services.revoke(during.session_id, "admin")  # type: ignore[arg-type]
    partition.heal()
    store._retry_at = 0.0
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        state = store.get(sid)
    assert state is not None
    assert state.last_seen_at == later, "the stale copy was dropped"
    assert "dualauth: Redis store 'auth' reachable again after " in caplog.text
    assert ", 2 revocations written again" in caplog.text
