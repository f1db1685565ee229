"""The ``redis`` store: sign-in states cached in a django-redis alias, the database behind it.

Why it is safe to cache a revocation:

- The database is written first; this cache only ever mirrors it, and a miss
  (flush, restart, eviction, TTL) is answered from the database and refilled.
- A revocation is written unconditionally; every other write (a refill, a
  touch) goes through one Lua script that refuses to replace a revoked entry
  or a newer one. A refill that read the database just before a concurrent
  revocation therefore cannot bring the sign-in back to life.
- Entries expire with the sign-in (its expiry, or its idle deadline), and a
  live entry is trusted for ``STORE_ENTRY_MAX_AGE`` seconds at most: every
  instance then asks the database again. That is the bound on any staleness
  no check can see coming: a revocation written by an instance cut off from
  Redis while the others still reach it, or one lost to a restore from an old
  snapshot. It needs no traffic from the instance that missed the write.
- A Redis that restarted (from a snapshot, say) or failed over to a replica
  may have lost writes. Every new connection compares the server's ``run_id``
  with the one recorded at the last re-sync; on a change, every unexpired
  revocation is written again before Redis answers another check.
- An unreachable Redis sends every check to the database for a short back-off,
  logged once per interval. On the way back, entries changed meanwhile are
  dropped and every sign-in revoked since the outage began is written again,
  before Redis answers a check: a revocation that could not reach Redis is
  never undone by the stale entry Redis still holds.

Reads and writes use the primary (``get_client(write=True)``): a replica that
lags behind a revocation must not answer for it. The raw redis-py client is
used rather than the cache API, whose ``IGNORE_EXCEPTIONS`` option would turn
a failed revocation write into silence.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.utils import timezone
from redis import Redis

from .. import liveness
from ..models import AuthSession
from . import redis_wire
from .base import BaseStore, SignInState, T
from .database import STATE_FIELDS, DatabaseStore
from .redis_entries import KEY_PREFIX, SET_UNLESS_REVOKED_OR_NEWER, decode, encode, micros
from .redis_server import BOOT_KEY, watch
from .redis_wire import REDIS_ERRORS

logger = logging.getLogger("dualauth")

CHUNK = 500


class RedisStore(BaseStore):
    """Sign-in states in the django-redis cache named by ``REDIS_CACHE_ALIAS``."""

    #: After a failure, checks go straight to the database for this long before Redis is tried again.
    retry_after = 1.0
    #: While Redis stays unreachable, one warning per this many seconds.
    log_interval = 60.0
    #: Revocations this much older than the first failure are re-synced too (clocks of app servers differ).
    resync_slack = timedelta(seconds=60)
    #: Sign-ins whose entries are dropped when Redis is back, at most (the others go stale, not wrong).
    max_unsynced = 100_000

    def __init__(self, alias: str, max_entry_age: int = 30) -> None:
        self.alias = alias
        #: No live entry is trusted for longer (``STORE_ENTRY_MAX_AGE``): it bounds a revocation that reached
        #: the database but not Redis, from an instance cut off from Redis or a process since gone.
        self.max_entry_age = timedelta(seconds=max_entry_age)
        self.database = DatabaseStore()
        self._lock = threading.Lock()
        self._outage_started: datetime | None = None
        self._retry_at = 0.0
        self._revocations_retry_at = 0.0
        self._logged_at = 0.0
        self._fallbacks = 0
        self._unsynced: set[uuid.UUID] = set()
        self._script: Any = None
        self._new_run_id: str | None = None
        self._first_run = False
        self._make_key: Any = None
        self._watched_pool: Any = None

    # The contract -----------------------------------------------------------

    def get(self, sid: uuid.UUID) -> SignInState | None:
        try:
            client = self._available_client()
            if client is None:
                return self.database.get(sid)
            return self._answer(client, sid, client.get(self._key(sid)))
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return self.database.get(sid)

    def get_overlapping(self, sid: uuid.UUID, work: Callable[[], T]) -> tuple[SignInState | None, T]:
        """Send the ``GET``, run ``work()`` (the user's read, on the hot path), then read the reply.

        Only the first attempt is overlapped: if it fails in any way, the plain
        ``get()`` path runs afterwards, with redis-py's retries and this store's
        outage handling, exactly as it would have.
        """
        try:
            client = self._available_client()
        except REDIS_ERRORS as exc:
            self._failed(exc)
            client = None
        pool = getattr(client, "connection_pool", None)
        if client is None or not isinstance(client, Redis) or pool is None or not redis_wire.usable():
            result = work()
            return self.get(sid), result
        key = self._key(sid)
        connection = redis_wire.send(pool, "GET", key)
        try:
            result = work()
        except BaseException:
            if connection is not None:
                redis_wire.discard(pool, connection)
            raise
        raw = redis_wire.MISSING if connection is None else redis_wire.receive(pool, connection)
        try:
            if raw is redis_wire.MISSING:
                raw = client.get(key)
            return self._answer(client, sid, raw), result
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return self.database.get(sid), result

    def _answer(self, client: Any, sid: uuid.UUID, raw: Any) -> SignInState | None:
        """The state from an entry just read, after a pending re-sync; a miss is refilled from the database."""
        if self._new_run_id is not None:
            self._after_reboot(client)
            raw = client.get(self._key(sid))
        state = None if raw is None else decode(sid, raw)
        if state is not None:
            return state
        state = self.database.get(sid)
        if state is not None:
            self._write(client, state)
        return state

    def changed(self, sid: uuid.UUID) -> None:
        try:
            retry_at = self._retry_at
            client = self._available_client()
            if client is None:
                self._note_unsynced(sid)
                if self._retry_at == retry_at:  # no attempt was made just now: one is worth it
                    self._try_revocation(sid)
                return
            state = self.database.get(sid)
            if state is None:
                client.delete(self._key(sid))
            else:
                self._write(client, state)
            if self._new_run_id is not None:
                self._after_reboot(client)
        except REDIS_ERRORS as exc:
            self._note_unsynced(sid)
            self._failed(exc)

    def _try_revocation(self, sid: uuid.UUID) -> None:
        """During the back-off, write a revocation anyway: Redis may be back already, serving other processes
        the live entry it still holds until this one re-syncs. Reads wait out the back-off; a revocation, rare
        and the one write that must not wait, pays for an attempt, and a failed one holds the others back for
        ``retry_after`` (a Redis that hangs must not cost a timeout per revocation of a "revoke all")."""
        if time.monotonic() < self._revocations_retry_at:
            return
        state = self.database.get(sid)
        if state is None or not state.revoked:
            return
        try:
            self._write(self._client(), state)
        except REDIS_ERRORS:  # still unreachable: remembered, re-sent on the re-sync
            self._revocations_retry_at = time.monotonic() + self.retry_after

    def resync(self, sids: Iterable[uuid.UUID]) -> int:
        count = 0
        for sid in sids:
            self.changed(sid)
            if self._outage_started is not None:
                break
            count += 1
        return count

    def flush(self) -> bool:
        """Try Redis now, back-off or not, and deliver what an outage held back; ``True`` if nothing is left."""
        if self._outage_started is None:
            return True
        self._retry_at = 0.0
        self._available_client()
        return self._outage_started is None

    # Writing ----------------------------------------------------------------

    def _name(self, name: str) -> str:
        if self._make_key is None:  # pure (prefix and key function), so one bound method serves every thread
            self._make_key = caches[self.alias].make_key
        # A fixed version: processes of a rolling deploy that changes the cache VERSION share entries.
        return str(self._make_key(name, version=1))

    def _key(self, sid: uuid.UUID) -> str:
        return self._name(f"{KEY_PREFIX}{sid}")

    def _write(self, client: Any, state: SignInState) -> None:
        key = self._key(state.sid)
        now = timezone.now()
        deadline = liveness.deadline(state.expires_at, state.last_seen_at, liveness.idle_timeout())
        ttl_ms = int((deadline - now).total_seconds() * 1000)
        if ttl_ms <= 0:
            # The sign-in is over whatever the entry says: drop it so the database answers.
            client.delete(key)
        elif state.revoked:
            client.set(key, encode(state), px=ttl_ms)
        else:
            ttl_ms = min(ttl_ms, int(self.max_entry_age.total_seconds() * 1000))
            if self._script is None:
                self._script = client.register_script(SET_UNLESS_REVOKED_OR_NEWER)
            self._script(keys=[key], args=[encode(state), micros(state.last_seen_at), ttl_ms], client=client)

    def _write_revocations(self, client: Any, since: datetime | None) -> int:
        """Write every revocation that still matters (revoked after ``since``, when given) again."""
        rows = AuthSession.objects.filter(liveness.revocation_matters(timezone.now()))
        if since is not None:
            rows = rows.filter(revoked_at__gte=since)
        written = 0
        for row in rows.only(*STATE_FIELDS).iterator(chunk_size=CHUNK):
            self._write(client, SignInState.of(row))
            written += 1
        return written

    # Restarts and failovers -------------------------------------------------

    def _client(self) -> Any:
        backend: Any = caches[self.alias]
        client = backend.client.get_client(write=True)
        pool = getattr(client, "connection_pool", None)
        if pool is not None and pool is not self._watched_pool:
            watch(pool, self)
            self._watched_pool = pool
        return client

    def boot_changed(self, run_id: str, recorded: str | None) -> None:
        """Called on a new connection to a server whose ``run_id`` is not the one last re-synced."""
        self._first_run = recorded is None
        self._new_run_id = run_id

    def _after_reboot(self, client: Any) -> None:
        with self._lock:
            run_id = self._new_run_id
            if run_id is None:
                return
            written = self._write_revocations(client, since=None)
            client.set(self._name(BOOT_KEY), run_id)
            self._new_run_id = None
        # A server with no run recorded is new to dualauth (or was flushed): worth a line, not an alarm.
        logger.log(
            logging.INFO if self._first_run else logging.WARNING,
            "dualauth: Redis store %r: a new server run (restart, failover or first use; run_id %s); "
            "%d revocations written again",
            self.alias,
            run_id,
            written,
        )

    # Outages ----------------------------------------------------------------

    def _available_client(self) -> Any:
        """A client to use now, or ``None`` while Redis is backed off."""
        if self._outage_started is None:
            return self._client()
        if time.monotonic() < self._retry_at:
            self._fallbacks += 1
            self._log_outage()
            return None
        with self._lock:  # one thread re-syncs; the others wait for it rather than race it
            started = self._outage_started
            if started is None:
                return self._client()
            if time.monotonic() < self._retry_at:
                return None
            try:
                client = self._client()
                self._resync(client, started)
            except REDIS_ERRORS as exc:
                self._mark_down(exc)
                self._fallbacks += 1
                return None
            return client

    def _resync(self, client: Any, started: datetime) -> None:
        """Drop entries changed while Redis was out of reach, write the revocations made meanwhile, trust it again."""
        pending = list(self._unsynced)
        for start in range(0, len(pending), CHUNK):
            pipe = client.pipeline(transaction=False)
            for sid in pending[start : start + CHUNK]:
                pipe.delete(self._key(sid))
            pipe.execute()
        written = self._write_revocations(client, since=started - self.resync_slack)
        self._unsynced.difference_update(pending)
        downtime = (timezone.now() - started).total_seconds()
        logger.warning(
            "dualauth: Redis store %r reachable again after %.0f s; %d requests were answered by the database, "
            "%d revocations written again",
            self.alias,
            downtime,
            self._fallbacks,
            written,
        )
        self._outage_started = None
        self._fallbacks = 0

    def _note_unsynced(self, sid: uuid.UUID) -> None:
        if len(self._unsynced) < self.max_unsynced:
            self._unsynced.add(sid)

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
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
