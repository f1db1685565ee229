"""The ``redis`` store: sign-in states cached in a django-redis alias, the database behind it.

Why it is safe to cache a revocation:

- The database is written first; this cache only ever mirrors it, and a miss
  (flush, restart, eviction, TTL) is answered from the database and refilled.
- A revocation is written unconditionally; every other write (a refill, a
  touch) goes through one Lua script that refuses to replace a revoked entry
  or a newer one. A refill that read the database just before a concurrent
  revocation therefore cannot bring the sign-in back to life.
- Entries expire with the sign-in (its expiry, or its idle deadline).
- An unreachable Redis sends every check to the database for a short back-off,
  logged once per interval. Writes missed meanwhile are remembered, and on the
  way back every sign-in revoked since the outage began is written again before
  Redis answers a check: a revocation that could not reach Redis is never
  undone by the stale entry Redis still holds.

Reads and writes use the primary (``get_client(write=True)``): a replica that
lags behind a revocation must not answer for it. The raw redis-py client is
used rather than the cache API, whose ``IGNORE_EXCEPTIONS`` option would turn
a failed revocation write into silence.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from ..models import AuthSession
from .base import BaseStore, SignInState
from .database import STATE_FIELDS, DatabaseStore

logger = logging.getLogger("dualauth")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEY_PREFIX = "dualauth:sid:"
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

# KEYS[1] the entry; ARGV[1] the new value, ARGV[2] its last-seen time, ARGV[3] its TTL in ms.
# A revoked entry is final; an entry seen more recently than the new value is newer.
SET_UNLESS_REVOKED_OR_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
    local ok, state = pcall(cjson.decode, current)
    if ok and type(state) == 'table' then
        if state['r'] == 1 then return 0 end
        if tonumber(state['s']) and tonumber(state['s']) > tonumber(ARGV[2]) then return 0 end
    end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def encode(state: SignInState) -> str:
    return json.dumps(
        {
            "r": int(state.revoked),
            "s": _micros(state.last_seen_at),
            "u": str(state.user_id),
            "k": state.kind,
            "h": state.session_key_hash,
            "c": _micros(state.created_at),
            "e": _micros(state.expires_at),
        },
        separators=(",", ":"),
    )


def decode(sid: uuid.UUID, raw: bytes | str) -> SignInState | None:
    """The state in an entry, or ``None`` for anything this module did not write."""
    try:
        data = json.loads(raw)
        user_id = AuthSession._meta.get_field("user").target_field.to_python(data["u"])  # type: ignore[union-attr]
        return SignInState(
            sid=sid,
            user_id=user_id,
            kind=data["k"],
            session_key_hash=data["h"],
            created_at=_moment(data["c"]),
            last_seen_at=_moment(data["s"]),
            expires_at=_moment(data["e"]),
            revoked=bool(data["r"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class RedisStore(BaseStore):
    """Sign-in states in the django-redis cache named by ``REDIS_CACHE_ALIAS``."""

    #: After a failure, checks go straight to the database for this long before Redis is tried again.
    retry_after = 1.0
    #: While Redis stays unreachable, one warning per this many seconds.
    log_interval = 60.0
    #: Revocations this much older than the first failure are re-synced too (clocks of app servers differ).
    resync_slack = timedelta(seconds=60)

    def __init__(self, alias: str, idle_timeout: int | None) -> None:
        self.alias = alias
        self.idle_timeout = idle_timeout
        self.database = DatabaseStore()
        self._lock = threading.Lock()
        self._outage_started: datetime | None = None
        self._retry_at = 0.0
        self._logged_at = 0.0
        self._fallbacks = 0
        self._unsynced: set[uuid.UUID] = set()
        self._script: Any = None

    # The contract -----------------------------------------------------------

    def get(self, sid: uuid.UUID) -> SignInState | None:
        client = self._available_client()
        if client is None:
            return self.database.get(sid)
        try:
            raw = client.get(self._key(sid))
            state = None if raw is None else decode(sid, raw)
            if state is not None:
                return state
            state = self.database.get(sid)
            if state is not None:
                self._write(client, state)
            return state
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return self.database.get(sid)

    def changed(self, sid: uuid.UUID) -> None:
        client = self._available_client()
        if client is None:
            self._remember(sid)
            return
        try:
            state = self.database.get(sid)
            if state is None:
                client.delete(self._key(sid))
            else:
                self._write(client, state)
        except REDIS_ERRORS as exc:
            self._remember(sid)
            self._failed(exc)

    def resync(self, sids: Iterable[uuid.UUID]) -> int:
        count = 0
        for sid in sids:
            self.changed(sid)
            count += 1
        return count

    # Writing ----------------------------------------------------------------

    def _key(self, sid: uuid.UUID) -> str:
        return str(caches[self.alias].make_key(f"{KEY_PREFIX}{sid}"))

    def _deadline(self, state: SignInState) -> datetime:
        if self.idle_timeout is None:
            return state.expires_at
        return min(state.expires_at, state.last_seen_at + timedelta(seconds=self.idle_timeout))

    def _write(self, client: Any, state: SignInState) -> None:
        key = self._key(state.sid)
        ttl_ms = int((self._deadline(state) - timezone.now()).total_seconds() * 1000)
        if ttl_ms <= 0:
            # The sign-in is over whatever the entry says: drop it so the database answers.
            client.delete(key)
        elif state.revoked:
            client.set(key, encode(state), px=ttl_ms)
        else:
            if self._script is None:
                self._script = client.register_script(SET_UNLESS_REVOKED_OR_NEWER)
            self._script(keys=[key], args=[encode(state), _micros(state.last_seen_at), ttl_ms], client=client)

    # Outages ----------------------------------------------------------------

    def _client(self) -> Any:
        backend: Any = caches[self.alias]
        return backend.client.get_client(write=True)

    def _available_client(self) -> Any:
        """A client to use now, or ``None`` while Redis is backed off or being re-synced by another thread."""
        if self._outage_started is None:
            return self._client()  # connects lazily: network errors surface on the first command
        if time.monotonic() < self._retry_at or not self._lock.acquire(blocking=False):
            self._fallbacks += 1
            self._log_outage()
            return None
        try:
            client = self._client()
            self._resync(client)
        except REDIS_ERRORS as exc:
            self._failed(exc, locked=True)
            self._fallbacks += 1
            return None
        else:
            return client
        finally:
            self._lock.release()

    def _resync(self, client: Any) -> None:
        """Write again every sign-in changed while Redis was out of reach, then trust it again."""
        started = self._outage_started
        assert started is not None
        pending = set(self._unsynced)
        rows = AuthSession.objects.filter(Q(pk__in=pending) | Q(revoked_at__gte=started - self.resync_slack))
        written = 0
        for row in rows.only(*STATE_FIELDS).iterator():
            self._write(client, SignInState.of(row))
            written += 1
        self._unsynced -= pending
        downtime = (timezone.now() - started).total_seconds()
        logger.warning(
            "dualauth: Redis store %r reachable again after %.0f s; %d requests were answered by the database, "
            "%d sign-ins re-synced",
            self.alias,
            downtime,
            self._fallbacks,
            written,
        )
        self._outage_started = None
        self._fallbacks = 0

    def _remember(self, sid: uuid.UUID) -> None:
        self._unsynced.add(sid)

    def _failed(self, exc: BaseException, *, locked: bool = False) -> None:
        if not locked:
            with self._lock:
                self._mark_down(exc)
        else:
            self._mark_down(exc)

    def _mark_down(self, exc: BaseException) -> None:
        self._retry_at = time.monotonic() + self.retry_after
        if self._outage_started is not None:
            self._log_outage()
            return
        self._outage_started = timezone.now()
        self._fallbacks = 1
        self._logged_at = time.monotonic()
        logger.warning(
            "dualauth: Redis store %r unreachable (%s: %s); checks are answered by the database until it is back",
            self.alias,
            type(exc).__name__,
            exc,
        )

    def _log_outage(self) -> None:
        now = time.monotonic()
        if now - self._logged_at < self.log_interval:
            return
        self._logged_at = now
        logger.warning(
            "dualauth: Redis store %r still unreachable; %d requests answered by the database so far",
            self.alias,
            self._fallbacks,
        )
