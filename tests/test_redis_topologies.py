"""The Redis settings of docs/redis.md for Sentinel (through a real failover) and for a cluster, on real servers."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import RequestFactory
from redis.backoff import NoBackoff
from redis.retry import Retry

from dualauth import services
from dualauth.stores import get_store
from dualauth.stores.redis import KEY_PREFIX, RedisStore

from .conftest import SignInClient, require_programs
from .redis_server import RedisCluster, RedisServer, SentinelServer, spare_port

pytestmark = pytest.mark.django_db(transaction=True)

CLUSTER_FACTORY = "dualauth.redis_cluster.ClusterConnectionFactory"


@pytest.fixture
def sentinel() -> Iterator[SentinelServer]:
    require_programs("redis-server")
    primary = RedisServer()
    primary.start()
    replica = RedisServer("--replicaof", "127.0.0.1", str(primary.port))
    replica.start()
    watcher = SentinelServer(primary)
    watcher.start()
    watcher.replica = replica  # type: ignore[attr-defined]
    try:
        yield watcher
    finally:
        for server in (watcher, replica, primary):
            server.close()


def _on_sentinel(redis_store: Any, sentinel: SentinelServer) -> None:
    redis_store(
        f"redis://{sentinel.service}/0",
        # cached_db: with the plain cache engine, the request that meets the failover loads no session and
        # Django deletes its cookie, a sign-out docs/redis.md warns of.
        sessions="cached_db",
        # The default client: every read goes to the primary, as sessions need (see docs/redis.md).
        CONNECTION_FACTORY="django_redis.pool.SentinelConnectionFactory",
        SENTINELS=[("127.0.0.1", sentinel.port)],
        SOCKET_CONNECT_TIMEOUT=0.5,
        SOCKET_TIMEOUT=0.5,
        IGNORE_EXCEPTIONS=True,  # cached_db refills the cache unguarded; the store sees errors anyway
    )


def _wait_for(condition: Any, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.parametrize("flavour", ["session", "header"])
def test_through_sentinel_and_a_failover_revocations_hold(
    sentinel: SentinelServer, redis_store: Any, monkeypatch: Any, alice: Any, flavour: str
) -> None:
    _on_sentinel(redis_store, sentinel)
    monkeypatch.setattr(RedisStore, "retry_after", 0.0)
    replica: RedisServer = sentinel.replica  # type: ignore[attr-defined]
    live, dead = SignInClient(flavour), SignInClient(flavour)
    live.login("alice")
    dead.login("alice")
    services.revoke(dead.session_id, "admin")  # type: ignore[arg-type]
    assert [c.get("/api/auth/me/").status_code for c in (live, dead)] == [200, 401]
    (key,) = sentinel.primary.client().keys(f"*{KEY_PREFIX}{dead.session_id}")
    assert json.loads(sentinel.primary.client().get(key))["r"] == 1  # type: ignore[arg-type]

    sentinel.primary.client().wait(1, 2000)  # the replica has every write so far
    sentinel.primary.stop()
    _wait_for(lambda: sentinel.primary_port() == replica.port, "Sentinel to promote the replica")

    store = get_store()

    def back_on_redis() -> bool:
        assert live.get("/api/auth/me/").status_code == 200  # answered all along, from the database if need be
        return store._outage_started is None

    _wait_for(back_on_redis, "the store to use the new primary")
    assert dead.get("/api/auth/me/").status_code == 401
    services.revoke(live.session_id, "admin")  # type: ignore[arg-type]
    assert live.get("/api/auth/me/").status_code == 401
    (key,) = replica.client().keys(f"*{KEY_PREFIX}{live.session_id}")
    assert json.loads(replica.client().get(key))["r"] == 1  # type: ignore[arg-type]


def test_a_private_server_whose_port_was_taken_meanwhile_moves_rather_than_borrow_the_taker() -> None:
    """Every test here counts or flushes keys on its own servers: one must never be another process's."""
    require_programs("redis-server")
    taker = RedisServer()
    taker.start()
    ports = iter([taker.port, spare_port()])
    ours = RedisServer(pick_port=lambda: next(ports))
    try:
        taker.client().set("the taker's", 1)
        ours.start()
        assert ours.port != taker.port
        assert ours.client().keys() == []
    finally:
        ours.close()
        taker.close()


@pytest.fixture
def cluster() -> Iterator[RedisCluster]:
    require_programs("redis-server", "redis-cli")
    nodes = RedisCluster()
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.close()


@pytest.mark.parametrize("flavour", ["session", "header"])
def test_on_a_redis_cluster_revocations_hold(
    cluster: RedisCluster, redis_store: Any, alice: Any, flavour: str, settings: Any
) -> None:
    redis_store(
        cluster.url,
        sessions="cached_db",  # survives the FLUSHALL below
        CONNECTION_FACTORY=CLUSTER_FACTORY,
        SOCKET_CONNECT_TIMEOUT=0.5,
        SOCKET_TIMEOUT=0.5,
    )
    settings.DUALAUTH = {**settings.DUALAUTH, "LOGIN_THROTTLE_RATE": None}
    # Keys land on nodes by hash: with 6 sign-ins all of them fell on one node once in a few hundred runs
    # (3 x (1/3)^6); with 12, about once in 180,000.
    clients = [SignInClient(flavour) for _ in range(12)]
    for client in clients:
        assert client.login("alice").status_code == 200
    for client in clients[::2]:
        services.revoke(client.session_id, "admin")  # type: ignore[arg-type]
    expected = [401, 200] * 6
    assert [c.get("/api/auth/me/").status_code for c in clients] == expected
    assert len(cluster.keys(f"*{KEY_PREFIX}*")) == 12
    assert sum(bool(node.client().keys(f"*{KEY_PREFIX}*")) for node in cluster.nodes) > 1
    cluster.flushall()
    assert [c.get("/api/auth/me/").status_code for c in clients] == expected


CLIENT_NAME = "dualauth-under-test"


def _open_connections(cluster: RedisCluster) -> int:
    """The store's connections the nodes still hold (its client names them)."""
    count = 0
    for node in cluster.nodes:
        probe = node.client()
        count += sum(entry["name"] == CLIENT_NAME for entry in probe.client_list())
        probe.close()
    return count


def test_closing_connections_as_each_request_ends_works_on_a_cluster(
    cluster: RedisCluster, redis_store: Any, alice: Any
) -> None:
    redis_store(
        cluster.url,
        mode="jwt",
        CONNECTION_FACTORY="dualauth.redis_cluster.ClusterConnectionFactory",
        CLOSE_CONNECTION=True,
        REDIS_CLIENT_KWARGS={"client_name": CLIENT_NAME},
        SOCKET_CONNECT_TIMEOUT=0.5,
        SOCKET_TIMEOUT=0.5,
    )
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    assert _open_connections(cluster) == 0
    services.revoke(client.session_id, "admin")  # type: ignore[arg-type]
    assert _open_connections(cluster) > 0  # outside a request, nothing closes them
    assert client.get("/api/auth/me/").status_code == 401
    assert _open_connections(cluster) == 0
    pattern = f"*{KEY_PREFIX}{client.session_id}"
    (entry,) = [node.client().get(key) for node in cluster.nodes for key in node.client().keys(pattern)]
    assert json.loads(entry)["r"] == 1  # type: ignore[arg-type]


def test_an_unreachable_cluster_is_an_outage_not_a_500(redis_store: Any, alice: Any) -> None:
    from django.core.management import call_command

    from .redis_server import spare_port

    redis_store(
        f"redis://127.0.0.1:{spare_port()}/0",
        mode="jwt",
        CONNECTION_FACTORY=CLUSTER_FACTORY,
        SOCKET_CONNECT_TIMEOUT=0.2,
        CONNECTION_POOL_KWARGS={"retry": Retry(NoBackoff(), 0)},
    )
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    services.revoke(client.session_id, "admin")  # type: ignore[arg-type]
    assert client.get("/api/auth/me/").status_code == 401
    call_command("check", "--deploy", "--fail-level", "ERROR", stdout=io.StringIO())


def test_a_cluster_that_cannot_be_reached_for_a_client_is_answered_by_the_database(
    redis_store: Any, alice: Any
) -> None:
    """A cluster client connects as it is made: a process whose first question is a request's check."""
    from .redis_server import spare_port

    redis_store(
        f"redis://127.0.0.1:{spare_port()}/0",
        mode="jwt",
        CONNECTION_FACTORY=CLUSTER_FACTORY,
        SOCKET_CONNECT_TIMEOUT=0.2,
        CONNECTION_POOL_KWARGS={"retry": Retry(NoBackoff(), 0)},
    )
    started = services.sign_in(RequestFactory().post("/"), alice, "jwt")
    store = RedisStore(get_store().alias)  # type: ignore[attr-defined]
    state, user = store.get_overlapping(started.auth_session.pk, lambda: alice)
    assert (state, user) == (store.database.get(started.auth_session.pk), alice)
    assert store._outage_started is not None
