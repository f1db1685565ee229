"""Where the Redis store works below redis-py's command API: fenced, version-gated, with a public fallback.

Two reliances, both measured in isolation by ``python -m bench.internals``:

- **A reply read later** (``send``/``receive``): ``RedisStore.get_overlapping``
  sends its ``GET`` on a pooled connection, lets the request read the user
  from the database, then reads the reply, so the two round trips overlap.
  redis-py's public API (commands, pipelines) sends and waits in one call;
  only the pool's and the connection's own methods (``get_connection``,
  ``send_command``, ``read_response``, ``release``) can split them. On the
  benchmark machine the overlap cost 0.88x of ``get()`` then the user's
  read, median of the per-round ratios; worth keeping, behind this fence.
- **Connections the pool already holds** (``existing_connections``): the
  restart check is installed as the pool's ``redis_connect_func``; the
  connections made before that (by the cache API, say) are reached through
  the pool's private lists, so they reconnect with it too.

``TESTED`` names the redis-py majors the canary test
(``tests/test_internals_canary.py``) runs against. Outside them, or when
what is used here has moved, ``usable()`` is false and the store takes the
public path: ``get()`` then the work, and only connections made from now on
get the restart check (``STORE_ENTRY_MAX_AGE`` bounds what that misses).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import redis
from redis.exceptions import RedisClusterException, RedisError

logger = logging.getLogger("dualauth")

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)
#: redis-py major versions this module is tested against, inclusive.
TESTED = (5, 8)
#: What ``receive`` answers when the reply could not be read: the caller asks again on the public path.
MISSING = object()
_POOL_LISTS = ("_available_connections", "_in_use_connections", "_connections")
#: What the overlapped reads call, beyond the pool's lists.
NEEDED = (
    (redis.ConnectionPool, "get_connection"),
    (redis.ConnectionPool, "release"),
    (redis.Connection, "send_command"),
    (redis.Connection, "read_response"),
    (redis.Connection, "disconnect"),
)


@cache
def usable() -> bool:
    """Whether the installed redis-py is one this module is tested against and still has what it uses."""
    major = int(redis.__version__.split(".")[0])
    if not TESTED[0] <= major <= TESTED[1]:
        logger.warning(
            "dualauth: redis-py %s is untested with the Redis store's overlapped reads; they are off",
            redis.__version__,
        )
        return False
    if not all(hasattr(owner, name) for owner, name in NEEDED):
        logger.warning("dualauth: redis-py %s moved what overlapped reads use; they are off", redis.__version__)
        return False
    return True


def send(pool: Any, *command: Any) -> Any:
    """A pooled connection with ``command`` sent on it and its reply unread; ``None`` if that failed."""
    try:
        try:
            connection = pool.get_connection()
        except TypeError:  # pragma: no cover - redis-py 5.0-5.2 want a command name; every env here has a newer one
            connection = pool.get_connection(command[0])
    except REDIS_ERRORS:
        return None
    try:
        connection.send_command(*command)
    except REDIS_ERRORS:
        discard(pool, connection)
        return None
    except BaseException:  # a worker timeout, say: the connection must not be lost to the pool
        discard(pool, connection)
        raise
    return connection


def receive(pool: Any, connection: Any) -> Any:
    """The reply to what ``send`` sent, the connection back in the pool; ``MISSING`` if that failed."""
    try:
        reply = connection.read_response()
    except REDIS_ERRORS:
        discard(pool, connection)
        return MISSING
    except BaseException:
        discard(pool, connection)
        raise
    pool.release(connection)
    return reply


def discard(pool: Any, connection: Any) -> None:
    """A connection whose reply may be unread must not serve another command."""
    connection.disconnect()
    pool.release(connection)


def existing_connections(pool: Any) -> list[Any]:
    """The connections ``pool`` holds now, idle or in use; none where its private lists are not as tested."""
    if not usable():
        return []
    found: list[Any] = []
    for attribute in _POOL_LISTS:
        holder = getattr(pool, attribute, None) or ()
        found.extend(connection for connection in list(holder) if connection is not None)
    return found
