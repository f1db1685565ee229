"""How the login limiter counts: sliding windows of per-period counts in the default cache, shared by every
process, and in this process's memory while that cache cannot count (it fails, django-redis'
``IGNORE_EXCEPTIONS`` turns failures into ``None``, or it is a ``DummyCache``): throttling never switches off.
``dualauth.throttling`` decides what to count and when to refuse."""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger("dualauth")

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    period: int


def parse_rate(value: Any) -> Rate | None:
    """``"10/min"`` (DRF's syntax) as a ``Rate``; ``None`` for off or anything else."""
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    count, period = value.split("/")
    seconds = PERIODS.get(period[:1])
    if not count.isdigit() or int(count) <= 0 or seconds is None:
        return None
    return Rate(int(count), seconds)


class CacheUnavailable(Exception):
    """The shared cache cannot count now."""


class SharedCounts:
    """Counts in the default cache: ``add()`` then ``incr()``, atomic where the backend's are (Redis,
    Memcached, local memory; the database and file caches read, then write)."""

    def _cache(self) -> Any:
        store = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(store, DummyCache):
            raise CacheUnavailable("the default cache is a DummyCache, which counts nothing")
        return store

    def add(self, key: str, delta: int, timeout: int) -> int:
        store = self._cache()
        try:
            if delta > 0 and store.add(key, delta, timeout) is True:
                return delta
            count = store.incr(key, delta)
            store.touch(key, timeout)  # BaseCache.incr() writes with the default timeout
        except ValueError:  # gone between add() and incr(): a new count
            return 0 if delta < 0 else self.add(key, delta, timeout)
        except Exception as exc:
            raise CacheUnavailable(type(exc).__name__) from exc
        if not isinstance(count, int):
            raise CacheUnavailable("a failure answered as None (IGNORE_EXCEPTIONS)")
        return count

    def get(self, key: str) -> int:
        store = self._cache()
        try:
            value = store.get(key, 0)
        except Exception as exc:
            raise CacheUnavailable(type(exc).__name__) from exc
        return value if isinstance(value, int) else 0


class LocalCounts:
    """The same counts in this process's memory, while the shared cache cannot count; at most ``max_keys``."""

    max_keys = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, delta: int, timeout: int) -> int:
        now = time.monotonic()
        with self._lock:
            expires, count = self._counts.get(key, (0.0, 0))
            if expires <= now:
                self._make_room(now)
                expires, count = now + timeout, 0
            count = max(0, count + delta)
            self._counts[key] = (expires, count)
            return count

    def _make_room(self, now: float) -> None:
        if len(self._counts) < self.max_keys:
            return
        live = {key: value for key, value in self._counts.items() if value[0] > now}
        if len(live) >= self.max_keys:  # the half that expires first goes
            ordered = sorted(live.items(), key=lambda item: item[1][0])
            live = dict(ordered[len(ordered) // 2 :])
        self._counts = live

    def get(self, key: str) -> int:
        with self._lock:
            expires, count = self._counts.get(key, (0.0, 0))
            return count if expires > time.monotonic() else 0


Counts = SharedCounts | LocalCounts
#: The counts every process shares; ``fallback()`` gives this process's own while they cannot count.
SHARED = SharedCounts()
_local = LocalCounts()
_outage = threading.Event()
_logged_at = 0.0
#: A cache that keeps failing and answering (one shard of several down) is logged once per this many seconds.
LOG_INTERVAL = 60.0


def fallback(exc: CacheUnavailable) -> LocalCounts:
    """This process counts alone: logged once per outage."""
    global _logged_at
    if not _outage.is_set():
        _outage.set()
        now = time.monotonic()
        if now - _logged_at >= LOG_INTERVAL:
            _logged_at = now
            logger.warning("dualauth: login throttling cannot count in the cache (%s); counting in this process", exc)
    return _local


def shared_answered() -> None:
    if _outage.is_set():
        _outage.clear()
        logger.warning("dualauth: login throttling counts in the cache again")


@receiver(setting_changed, dispatch_uid="dualauth.login_counts.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    """Another cache, or other rates: what this process counted alone no longer applies."""
    global _local, _logged_at
    if setting in ("CACHES", "DUALAUTH"):
        _local = LocalCounts()
        _outage.clear()
        _logged_at = 0.0


@dataclass(frozen=True)
class Window:
    """A sliding window: this period's count, and the previous period's in the share still inside it."""

    key: str
    rate: Rate

    def _keys(self, now: float) -> tuple[str, str, float]:
        index = math.floor(now / self.rate.period)
        return f"{self.key}:{index}", f"{self.key}:{index - 1}", now / self.rate.period - index

    def add(self, counts: Counts, now: float) -> tuple[int, int, float]:
        """Count one more; return (this period's count, the previous one's, how far into this period)."""
        current, previous, elapsed = self._keys(now)
        return counts.add(current, 1, 2 * self.rate.period), counts.get(previous), elapsed

    def read(self, counts: Counts, now: float) -> tuple[int, int, float]:
        current, previous, elapsed = self._keys(now)
        return counts.get(current), counts.get(previous), elapsed

    def wait(self, current: int, previous: int, elapsed: float, limit: float) -> int:
        """Seconds until the window holds at most ``limit``, as the previous period's share runs out."""
        period = self.rate.period
        if current > limit:  # not before this period is the previous one, and enough of it has passed
            return max(1, math.ceil(period * (1 - elapsed) + period * (1 - limit / current)))
        if previous <= 0:
            return 1
        needed = 1 - (limit - current) / previous
        return max(1, math.ceil(period * (needed - elapsed)))


def estimate(current: int, previous: int, elapsed: float) -> float:
    return current + previous * (1 - elapsed)


def window(bucket: str, ident: str, rate: Rate) -> Window:
    return Window(f"dualauth:login:{bucket}:{ident}", rate)
