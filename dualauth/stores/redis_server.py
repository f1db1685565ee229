"""What the Redis store learns of the server behind its pool: a restart or failover, and whether it evicts.

Every new connection of the store's pool compares the server's ``run_id``
with the one recorded at the last re-sync (``BOOT_KEY``) and tells the
stores that use the pool; a restart from an old snapshot or a failover to a
replica may have lost revocations, which are then written again.
"""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING, Any

from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ResponseError

from . import redis_wire
from .redis_wire import REDIS_ERRORS

if TYPE_CHECKING:
    from .redis import RedisStore

#: Where the run id of the server's last re-sync is recorded.
BOOT_KEY = "dualauth:boot"

_RUN_ID = re.compile(rb"run_id:([0-9a-f]+)")


def _check_run(connection: Any, store: RedisStore) -> None:
    """Tell ``store`` if the server ``connection`` reached is not on the run its last re-sync recorded."""
    try:
        connection.send_command("INFO", "server")
        info = connection.read_response()
        connection.send_command("GET", store._name(BOOT_KEY))
        recorded = connection.read_response()
    except ResponseError:
        # INFO renamed away (some managed services do): no restart detection, STORE_ENTRY_MAX_AGE bounds it.
        return
    match = _RUN_ID.search(info if isinstance(info, bytes) else str(info).encode())
    if match is None:
        return
    run_id = match.group(1).decode()
    recorded_text = recorded.decode() if isinstance(recorded, bytes) else recorded
    if recorded_text != run_id:
        store.boot_changed(run_id, recorded_text)


def watch(pool: Any, store: RedisStore) -> None:
    """Have every new connection of ``pool`` check which run of the server it reached, and tell ``store``.

    A connection is new after a restart or a failover, before any command is
    sent on it; the check costs two commands per connection, not per request.
    The pool outlives stores (a settings change makes a new one, a test may
    make several): it tells every store that uses it, held weakly. A store
    made later installs nothing new, and is told of what follows.
    """
    stores = getattr(pool, "_dualauth_stores", None)
    if stores is None:
        stores = pool._dualauth_stores = weakref.WeakSet()
    stores.add(store)
    if getattr(pool, "_dualauth_watched", False):
        return
    handshake = pool.connection_kwargs.get("redis_connect_func")

    def on_connect(connection: Any) -> None:
        if handshake is None:
            connection.on_connect()
        else:
            handshake(connection)
        for store in list(pool._dualauth_stores):
            _check_run(connection, store)

    pool.connection_kwargs["redis_connect_func"] = on_connect
    # Connections made before now (by the cache API, say) reconnect with the function they were made with.
    for connection in redis_wire.existing_connections(pool):
        connection.redis_connect_func = on_connect
    pool._dualauth_watched = True


def eviction_policy(alias: str) -> str | None:
    """The Redis's eviction policy if it can evict, ``None`` if it cannot or will not say.

    A Redis that is down or forbids CONFIG (some managed services) is not
    reported: a deploy check must not fail on the network.
    """
    failures: tuple[type[BaseException], ...] = (*REDIS_ERRORS, AttributeError, KeyError, ImproperlyConfigured)
    try:
        client = caches[alias].client.get_client(write=True)  # type: ignore[attr-defined]
        config = client.config_get("maxmemory*")
    except failures:
        return None
    policy = config.get("maxmemory-policy", "noeviction")
    if policy == "noeviction" or str(config.get("maxmemory", "0")) == "0":
        return None
    return str(policy)
