"""The ``redis`` state store on the machine's real Redis: a cache of the database that can never un-revoke."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dualauth import services
from dualauth.models import AuthSession
from dualauth.stores import get_store
from dualauth.stores.redis import RedisStore
from dualauth.stores.redis_entries import KEY_PREFIX, micros

from .conftest import SignInClient, require_programs, rewrite_sign_in
from .redis_server import RedisServer


@pytest.fixture
def store(redis_cache: str, use_mode: Any) -> RedisStore:
    use_mode("hybrid", STORE="redis")
    store = get_store()
    assert isinstance(store, RedisStore)
    return store


@pytest.fixture
def raw(redis_cache: str) -> redis.Redis:
    return redis.Redis.from_url(redis_cache)


def _entry(raw: redis.Redis, sid: Any) -> dict[str, Any] | None:
    (key,) = raw.keys(f"*{KEY_PREFIX}{sid}")
    value = raw.get(key)
    return None if value is None else json.loads(value)


def _pttl(raw: redis.Redis, sid: Any) -> int:
    (key,) = raw.keys(f"*{KEY_PREFIX}{sid}")
    return raw.pttl(key)  # type: ignore[return-value]


@pytest.mark.parametrize("flavour", ["session", "header"])
def test_a_cached_sign_in_is_checked_without_the_database(store: RedisStore, alice: Any, flavour: str) -> None:
    client = SignInClient(flavour)
    client.login("alice")
    client.get("/api/auth/me/")
    with CaptureQueriesContext(connection) as queries:
        state = store.get(uuid.UUID(client.session_id))
    assert state is not None
    assert not state.revoked
    assert len(queries) == 0


def test_a_revocation_is_cached_and_refused_without_the_database(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    services.revoke(client.session_id, "admin")
    assert _entry(raw, client.session_id)["r"] == 1  # type: ignore[index]
    with CaptureQueriesContext(connection) as queries:
        assert services.check(client.session_id, "jwt") is None
    assert len(queries) == 0
    assert client.get("/api/auth/me/").status_code == 401


def test_a_revocation_is_kept_as_long_as_the_sign_in_could_have_lived(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    services.revoke(client.session_id, "admin")
    row = AuthSession.objects.get(pk=client.session_id)
    left_ms = (row.expires_at - timezone.now()).total_seconds() * 1000
    assert left_ms - 60_000 < _pttl(raw, client.session_id) <= left_ms + 1000  # far above the 5-minute cap


@pytest.mark.parametrize("max_age", [None, 7])
def test_a_live_entry_is_trusted_for_store_entry_max_age_at_most(
    redis_cache: str, use_mode: Any, alice: Any, raw: Any, max_age: int | None
) -> None:
    use_mode("jwt", STORE="redis", **({} if max_age is None else {"STORE_ENTRY_MAX_AGE": max_age}))
    client = SignInClient("header")
    client.login("alice")
    cap_ms = (max_age or 30) * 1000
    assert cap_ms - 5000 < _pttl(raw, client.session_id) <= cap_ms


def test_with_an_idle_timeout_entries_expire_when_the_sign_in_would_go_idle(
    redis_cache: str, use_mode: Any, alice: Any, raw: Any
) -> None:
    use_mode("jwt", STORE="redis", SESSION_IDLE_TIMEOUT=120, STORE_ENTRY_MAX_AGE=600)
    client = SignInClient("header")
    client.login("alice")
    assert 115_000 < _pttl(raw, client.session_id) <= 120_000


def test_a_miss_is_refilled_from_the_database(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    raw.flushdb()
    assert client.get("/api/auth/me/").status_code == 200
    assert _entry(raw, client.session_id)["r"] == 0  # type: ignore[index]


def test_a_refill_that_read_before_a_revocation_cannot_bring_it_back(
    store: RedisStore, alice: Any, raw: Any, monkeypatch: Any
) -> None:
    """The race: a check misses, reads the row (live), and before it refills, another request revokes."""
    client = SignInClient("header")
    client.login("alice")
    raw.flushdb()
    read_row = store.database.get

    def read_then_lose_the_race(sid: Any) -> Any:
        state = read_row(sid)  # live when read...
        services.revoke(sid, "admin")  # ...revoked (database, then cache) before the refill lands
        return state

    monkeypatch.setattr(store.database, "get", read_then_lose_the_race)
    stale = store.get(uuid.UUID(client.session_id))
    assert stale is not None
    assert not stale.revoked
    monkeypatch.undo()
    assert _entry(raw, client.session_id)["r"] == 1
    assert client.get("/api/auth/me/").status_code == 401


def test_a_revocation_overwrites_a_refill_that_landed_first(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    assert _entry(raw, client.session_id)["r"] == 0
    services.revoke(client.session_id, "admin")
    assert _entry(raw, client.session_id)["r"] == 1


def test_an_older_state_never_replaces_a_newer_one(store: RedisStore, alice: Any, raw: Any, monkeypatch: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    old = store.database.get(uuid.UUID(client.session_id))
    later = timezone.now() + timedelta(seconds=120)
    monkeypatch.setattr(timezone, "now", lambda: later)
    client.get("/api/auth/me/")  # activity written: last seen is now "later"
    store._write(store._client(), old)  # a slow refill with the state it read before
    assert _entry(raw, client.session_id)["s"] == micros(later)


def test_an_entry_it_did_not_write_is_a_miss(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    (key,) = raw.keys(f"*{KEY_PREFIX}{client.session_id}")
    raw.set(key, b"\x80not json")
    assert client.get("/api/auth/me/").status_code == 200
    assert _entry(raw, client.session_id)["r"] == 0


def test_session_keys_are_never_written_to_the_store(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("session")
    client.login("alice")
    key = client.client.cookies["sessionid"].value
    client.get("/api/auth/me/")
    assert key not in json.dumps(_entry(raw, client.session_id))


def test_a_deleted_sign_in_leaves_no_entry(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    alice.delete()
    assert raw.keys(f"*{KEY_PREFIX}{client.session_id}") == []
    assert client.get("/api/auth/me/").status_code == 401


def test_a_lagging_replica_never_answers(redis_url: str, settings: Any, use_mode: Any, alice: Any) -> None:
    """With a primary and a replica in LOCATION, django-redis reads from the replica; the store must not."""
    require_programs("redis-server")
    replica_server = RedisServer()  # its own: a database of the shared server may be another run's
    replica_server.start()
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"{redis_url},{replica_server.url}"}
    }
    use_mode("jwt", STORE="redis")
    primary, replica = redis.Redis.from_url(redis_url), replica_server.client()
    try:
        client = SignInClient("header")
        client.login("alice")
        (key,) = primary.keys(f"*{KEY_PREFIX}{client.session_id}")
        replica.set(key, primary.get(key))  # the replica has the live state...
        services.revoke(client.session_id, "admin")  # ...and has not caught up with this yet
        assert client.get("/api/auth/me/").status_code == 401
    finally:
        replica_server.close()


def test_an_ended_sign_in_leaves_no_entry(store: RedisStore, alice: Any, raw: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    rewrite_sign_in(client.session_id, expires_at=timezone.now() - timedelta(seconds=1))
    assert raw.keys(f"*{KEY_PREFIX}{client.session_id}") == []
    assert client.get("/api/auth/me/").status_code == 401


@pytest.mark.parametrize(
    "entry",
    [
        {"r": 0, "s": 1, "u": "not-a-user-id", "k": "jwt", "h": "", "c": 1, "e": 10**18},
        {"r": 0, "s": 10**30, "u": "1", "k": "jwt", "h": "", "c": 1, "e": 10**30},
        {"r": 0},
        [1, 2, 3],
    ],
)
def test_a_malformed_entry_is_a_miss_not_a_500(store: RedisStore, alice: Any, raw: Any, entry: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    (key,) = raw.keys(f"*{KEY_PREFIX}{client.session_id}")
    raw.set(key, json.dumps(entry))
    assert client.get("/api/auth/me/").status_code == 200


def test_an_overlapped_lookup_answers_what_get_answers(store: RedisStore, alice: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    sid = uuid.UUID(client.session_id)
    ran: list[str] = []
    state, result = store.get_overlapping(sid, lambda: ran.append("work") or "user")
    assert (state, result, ran) == (store.get(sid), "user", ["work"])
    services.revoke(sid, "admin")
    state, _ = store.get_overlapping(sid, lambda: None)
    assert state is not None
    assert state.revoked
    assert store.get_overlapping(uuid.uuid4(), lambda: None) == (None, None)


def test_work_that_fails_leaves_no_reply_behind_for_the_next_command(store: RedisStore, alice: Any) -> None:
    """The ``GET`` was sent before the work; its reply must never answer someone else's question."""
    client = SignInClient("header")
    client.login("alice")
    sid = uuid.UUID(client.session_id)
    store.get(sid)
    for _ in range(3):
        with pytest.raises(ZeroDivisionError):
            store.get_overlapping(sid, lambda: 1 / 0)
    for _ in range(3):
        assert store.get(uuid.uuid4()) is None
    pool = store._client().connection_pool
    assert not pool._in_use_connections


def test_every_store_on_a_pool_hears_that_the_server_run_changed(redis_cache: str, use_mode: Any) -> None:
    """Stores share django-redis' pool (a settings change makes a new one, a test makes several): a new
    connection to a server on another run than the one recorded tells each of them, not just the last."""
    from dualauth.stores.redis_server import BOOT_KEY

    use_mode("hybrid", STORE="redis")
    configured = get_store()
    assert isinstance(configured, RedisStore)
    another = RedisStore(configured.alias)
    for store in (configured, another):
        store._client()
    client = configured._client()
    client.set(configured._name(BOOT_KEY), "a-run-before-a-restart")
    client.connection_pool.disconnect()  # the next command opens a new connection, as after a restart
    client.ping()
    assert configured._new_run_id is not None
    assert another._new_run_id is not None


class _WorkerTimeout(BaseException):
    """What a server's worker timeout raises in the middle of any call (gunicorn's is a SystemExit)."""


def _fail_once(monkeypatch: Any, method: str, error: BaseException) -> None:
    """The next ``method`` of any redis-py connection raises ``error``: a socket gone bad, or a worker timeout."""
    real = getattr(redis.Connection, method)
    failed: list[bool] = []

    def once(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not failed:
            failed.append(True)
            raise error
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Connection, method, once)


def _bearer_sign_in() -> uuid.UUID:
    client = SignInClient("header")
    client.login("alice")
    return uuid.UUID(client.session_id)


@pytest.mark.parametrize("method", ["send_command", "read_response"])
def test_an_overlapped_read_that_fails_on_the_wire_is_answered_by_the_plain_path(
    store: RedisStore, alice: Any, monkeypatch: Any, method: str
) -> None:
    sid = _bearer_sign_in()
    expected = store.get(sid)
    _fail_once(monkeypatch, method, redis.ConnectionError("Connection reset by peer"))
    assert store.get_overlapping(sid, lambda: "user") == (expected, "user")
    assert not store._client().connection_pool._in_use_connections
    assert store._outage_started is None, "one bad socket is not an outage"


@pytest.mark.parametrize("method", ["send_command", "read_response"])
def test_a_worker_timeout_in_an_overlapped_read_loses_no_connection(
    store: RedisStore, alice: Any, monkeypatch: Any, method: str
) -> None:
    sid = _bearer_sign_in()
    expected = store.get(sid)
    _fail_once(monkeypatch, method, _WorkerTimeout())
    with pytest.raises(_WorkerTimeout):
        store.get_overlapping(sid, lambda: "user")
    assert not store._client().connection_pool._in_use_connections
    assert store.get_overlapping(sid, lambda: "user") == (expected, "user"), "no reply was left on the wire"


def test_a_server_whose_info_names_no_run_id_is_served_without_restart_detection(
    redis_cache: str, use_mode: Any, monkeypatch: Any
) -> None:
    """A proxy in front of Redis may answer INFO without ``run_id``: nothing is taken for a new run."""
    import re

    from dualauth.stores import redis_server

    monkeypatch.setattr(redis_server, "_RUN_ID", re.compile(rb"^no-such-field:(\S+)$", re.MULTILINE))
    use_mode("hybrid", STORE="redis")
    store = get_store()
    assert isinstance(store, RedisStore)
    client = store._client()
    client.connection_pool.disconnect()
    client.ping()
    assert store._new_run_id is None


def test_a_connect_hook_of_the_projects_own_still_runs(
    redis_url: str, settings: Any, use_mode: Any, monkeypatch: Any
) -> None:
    """``CONNECTION_POOL_KWARGS["redis_connect_func"]`` (a project's handshake) runs first on every new connection;
    the store's run check follows it."""
    from django_redis.pool import ConnectionFactory

    from dualauth.stores.redis_server import BOOT_KEY

    handshakes: list[Any] = []

    def handshake(connection: Any) -> None:
        handshakes.append(connection)
        connection.on_connect()

    monkeypatch.setattr(ConnectionFactory, "_pools", {})
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "OPTIONS": {"CONNECTION_POOL_KWARGS": {"redis_connect_func": handshake}},
        }
    }
    use_mode("hybrid", STORE="redis")
    store = get_store()
    assert isinstance(store, RedisStore)
    client = store._client()
    client.set(store._name(BOOT_KEY), "a-run-before-a-restart")
    client.connection_pool.disconnect()
    client.ping()
    assert handshakes
    assert store._new_run_id is not None


def _new_connection(store: RedisStore) -> None:
    client = store._client()
    client.connection_pool.disconnect()
    client.ping()


@pytest.mark.django_db
def test_a_new_server_run_is_a_warning_and_a_first_one_news(redis_cache: str, use_mode: Any, caplog: Any) -> None:
    """A restart or failover (a run recorded before) is worth a warning; a server new to dualauth, a line."""
    from dualauth.stores.redis_server import BOOT_KEY

    use_mode("hybrid", STORE="redis")
    store = get_store()
    assert isinstance(store, RedisStore)
    client = store._client()
    client.delete(store._name(BOOT_KEY))
    _new_connection(store)
    run_id = store._new_run_id
    assert run_id is not None
    with caplog.at_level(logging.INFO, logger="dualauth"):
        store.get(uuid.uuid4())
    (first,) = [r for r in caplog.records if "a new server run" in r.getMessage()]
    assert first.levelno == logging.INFO
    assert first.getMessage().startswith(f"dualauth: Redis store {store.alias!r}: a new server run (")
    assert f"run_id {run_id});" in first.getMessage()
    _new_connection(store)
    assert store._new_run_id is None, "the same run, reached again, is no new run"
    client.set(store._name(BOOT_KEY), "a-run-before-a-restart")
    _new_connection(store)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dualauth"):
        store.get(uuid.uuid4())
    (restart,) = [r for r in caplog.records if "a new server run" in r.getMessage()]
    assert restart.levelno == logging.WARNING


def test_a_pool_is_watched_once_however_many_stores_use_it(redis_cache: str, use_mode: Any) -> None:
    from dualauth.stores.redis_server import watch

    use_mode("hybrid", STORE="redis")
    store = get_store()
    assert isinstance(store, RedisStore)
    pool = store._client().connection_pool
    installed = pool.connection_kwargs["redis_connect_func"]
    watch(pool, RedisStore(store.alias))
    assert pool.connection_kwargs["redis_connect_func"] is installed


def test_entries_keep_one_version_whatever_the_caches_version(
    redis_url: str, settings: Any, use_mode: Any, alice: Any, raw: redis.Redis
) -> None:
    """Processes of a rolling deploy that changes CACHES' VERSION share the store's entries."""
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url, "VERSION": 7}}
    use_mode("hybrid", STORE="redis")
    client = SignInClient("header")
    client.login("alice")
    client.get("/api/auth/me/")
    (key,) = raw.keys(f"*{KEY_PREFIX}{client.session_id}")
    assert key.startswith(b":1:")
