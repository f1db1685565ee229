"""Redis Cluster through ``dualauth.redis_cluster`` with django-redis's ``CLOSE_CONNECTION``: the cluster client is
closed as each request ends (RedisCluster has no single connection pool to close), and the next request connects
again. On real servers; the rest of the cluster's behaviour is in tests/test_redis_topologies.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dualauth import services
from dualauth.stores.redis import KEY_PREFIX

from .conftest import SignInClient, require_programs
from .redis_server import RedisCluster

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster() -> Iterator[RedisCluster]:
    require_programs("redis-server", "redis-cli")
    nodes = RedisCluster()
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.close()


NAME = "dualauth-under-test"


def _open_connections(cluster: RedisCluster) -> int:
    """The store's connections the nodes still hold (its client names them)."""
    count = 0
    for node in cluster.nodes:
        probe = node.client()
        count += sum(entry["name"] == NAME for entry in probe.client_list())
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
        REDIS_CLIENT_KWARGS={"client_name": NAME},
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
