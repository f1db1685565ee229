"""A django-redis connection factory for Redis Cluster, which django-redis does not ship.

``CACHES[alias]["OPTIONS"]["CONNECTION_FACTORY"] = "dualauth.redis_cluster.ClusterConnectionFactory"``
makes the alias talk to a cluster through redis-py's ``RedisCluster``, which
finds the nodes from the one in ``LOCATION`` and follows slot moves. The
``redis`` store needs nothing more: every command it sends names one key.
Through this factory the Django cache API serves single-key calls (sessions,
throttles); multi-key calls such as ``clear()`` or ``delete_many()`` across
slots are not supported.
"""

from __future__ import annotations

from typing import Any

from django_redis.pool import ConnectionFactory
from redis.cluster import RedisCluster


class ClusterConnectionFactory(ConnectionFactory):  # type: ignore[misc]
    def connect(self, url: str) -> Any:
        options: dict[str, Any] = {}
        for option, argument in (
            ("SOCKET_TIMEOUT", "socket_timeout"),
            ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
            ("USERNAME", "username"),
            ("PASSWORD", "password"),
        ):
            if self.options.get(option) is not None:
                options[argument] = self.options[option]
        if "retry" in self.pool_cls_kwargs:  # docs/redis.md's fail-fast tip: CONNECTION_POOL_KWARGS = {"retry": ...}
            options["retry"] = self.pool_cls_kwargs["retry"]
        return RedisCluster.from_url(url, **{**options, **self.redis_client_cls_kwargs})

    def disconnect(self, connection: Any) -> None:
        # django-redis disconnects a client's one pool; a cluster client has a pool per node, and its close() leaves
        # their connections open (each node's client was handed its pool, so closing the client spares the pool).
        connection.disconnect_connection_pools()
