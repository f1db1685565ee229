"""One login limiter for every password check in the project: the API's login, the admin's, any ``authenticate()``.

Two buckets, shared by every door:

- per client address (``LOGIN_IP_RATE``), counting every attempt: password
  spraying from one address (an IPv6 client: its /64) is stopped whatever
  usernames it tries;
- per account (``LOGIN_USERNAME_RATE``), counting failures, and attempts
  still checking a password: guessing one account's password is stopped
  whatever addresses it comes from, however many guesses run at once, while
  the owner's own sign-ins never use it up. The account is named by the
  username the login finds (as ``ModelBackend`` finds it, or by its e-mail),
  case-folded, so no spelling of one account opens a second bucket, and an
  existing account and an unknown name are counted alike.

Counts live in the default cache, shared by every process. Where it cannot
count (it fails, django-redis' ``IGNORE_EXCEPTIONS`` turning failures into
``None``; or it is a ``DummyCache``), a process-local counter with the same
rates takes over: throttling never switches off. Each bucket is a sliding
window estimated from the counts of the current and the previous period.

``dualauth.backends`` puts ``admit()`` in front of every ``authenticate()``;
receivers of ``user_login_failed`` and ``user_logged_in`` settle each attempt.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import current_request
from .client_info import client_ip
from .conf import dualauth_settings

logger = logging.getLogger("dualauth")

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OFF = "off"
#: Set on a request to the verdict on its last attempt: what the API's answer and the admin's form say.
VERDICT_ATTR = "_dualauth_login_verdict"
#: How long a password check in flight holds its place in the account's bucket, at most.
IN_FLIGHT_SECONDS = 30


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


def _rate(key: str) -> Rate | None:
    value = getattr(dualauth_settings, key)
    if value == OFF:
        return None
    return parse_rate(dualauth_settings.LOGIN_THROTTLE_RATE if value is None else value)


def ip_rate() -> Rate | None:
    """Attempts per client address: ``LOGIN_IP_RATE``, else ``LOGIN_THROTTLE_RATE``."""
    return _rate("LOGIN_IP_RATE")


def username_rate() -> Rate | None:
    """Failures per account: ``LOGIN_USERNAME_RATE``, else ``LOGIN_THROTTLE_RATE``."""
    return _rate("LOGIN_USERNAME_RATE")


# Counting ---------------------------------------------------------------------------------------


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


_shared = SharedCounts()
_local = LocalCounts()
_outage = threading.Event()
_logged_at = 0.0
#: A cache that keeps failing and answering (one shard of several down) is logged once per this many seconds.
LOG_INTERVAL = 60.0


def _fallback(exc: CacheUnavailable) -> LocalCounts:
    """This process counts alone: logged once per outage."""
    global _logged_at
    if not _outage.is_set():
        _outage.set()
        now = time.monotonic()
        if now - _logged_at >= LOG_INTERVAL:
            _logged_at = now
            logger.warning("dualauth: login throttling cannot count in the cache (%s); counting in this process", exc)
    return _local


def _shared_answered() -> None:
    if _outage.is_set():
        _outage.clear()
        logger.warning("dualauth: login throttling counts in the cache again")


@receiver(setting_changed, dispatch_uid="dualauth.throttling.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    """Another cache, or other rates: what this process counted alone no longer applies."""
    global _local, _logged_at
    if setting in ("CACHES", "DUALAUTH"):
        _local = LocalCounts()
        _outage.clear()
        _logged_at = 0.0


@dataclass(frozen=True)
class _Window:
    """A sliding window: this period's count, and the previous period's in the share still inside it."""

    key: str
    rate: Rate

    def _keys(self, now: float) -> tuple[str, str, float]:
        index = math.floor(now / self.rate.period)
        return f"{self.key}:{index}", f"{self.key}:{index - 1}", now / self.rate.period - index

    def add(self, counts: SharedCounts | LocalCounts, now: float) -> tuple[int, int, float]:
        """Count one more; return (this period's count, the previous one's, how far into this period)."""
        current, previous, elapsed = self._keys(now)
        return counts.add(current, 1, 2 * self.rate.period), counts.get(previous), elapsed

    def read(self, counts: SharedCounts | LocalCounts, now: float) -> tuple[int, int, float]:
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


def _estimate(current: int, previous: int, elapsed: float) -> float:
    return current + previous * (1 - elapsed)


def _window(bucket: str, ident: str, rate: Rate) -> _Window:
    return _Window(f"dualauth:login:{bucket}:{ident}", rate)


def _address(request: Any) -> str:
    ip = client_ip(request) or "unknown"
    if ":" in ip:  # an IPv6 client holds a /64 at least: one bucket for it
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return ip


# The account an attempt is against ----------------------------------------------------------------


def identifier(credentials: dict[str, Any]) -> Any:
    """What names the account in ``authenticate()``'s credentials: the username, or an e-mail."""
    user_model = get_user_model()
    for name in ("username", user_model.USERNAME_FIELD, user_model.get_email_field_name(), "email"):
        value = credentials.get(name)
        if value is not None:
            return value
    return None


def account_key(value: Any) -> str | None:
    """The account ``value`` names, by its username case-folded: the account's own when one is found (by its
    natural key, as ``ModelBackend`` finds it, or by e-mail), else the name given. Spellings of one account
    share it, and an existing account and an unknown name are counted alike (no hint which it is)."""
    if value is None:
        return None
    user_model = get_user_model()
    user = _find(user_model, value)
    name = user.get_username() if user is not None else value
    text = user_model.normalize_username(name) if isinstance(name, str) else str(name)
    return text.casefold()


def _find(user_model: Any, value: Any) -> Any:
    manager = user_model._default_manager
    with contextlib.suppress(Exception):  # not found, several, or a value the field rejects: no account by that
        return manager.get_by_natural_key(value)
    email = user_model.get_email_field_name()
    if isinstance(value, str) and "@" in value and any(f.name == email for f in user_model._meta.concrete_fields):
        found = list(manager.filter(**{f"{email}__iexact": value})[:2])
        if len(found) == 1:
            return found[0]
    return None


# The verdict on one attempt --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """An attempt admitted (``wait`` is ``None``) or refused for ``wait`` seconds."""

    wait: int | None
    account: str | None = None
    #: The attempt holds a place in the account's bucket until its outcome is known (or ``IN_FLIGHT_SECONDS``).
    in_flight: bool = False
    counts: SharedCounts | LocalCounts | None = None

    @property
    def refused(self) -> bool:
        return self.wait is not None


#: The attempt of this context between ``admit()`` and its outcome (a failure, a sign-in).
_pending: ContextVar[Verdict | None] = ContextVar("dualauth_login_attempt", default=None)


@contextlib.contextmanager
def request_attempts() -> Iterator[None]:
    """Inside, an attempt admitted and never settled (refused before any check, or a password checked with no
    login after it) ends with the request, instead of standing in for the next check its thread makes."""
    token = _pending.set(None)
    try:
        yield
    finally:
        _pending.reset(token)


def admit(request: Any, credentials: dict[str, Any]) -> Verdict:
    """Count an attempt to check a password, and say whether it may: once per ``authenticate()`` call.

    Counted against the client's address (every attempt) and, held until its
    outcome, against the account. A request of no view (a command, a task)
    is the one ``DualAuthMiddleware`` is serving, if any.
    """
    if request is None:
        request = current_request.get()
    now = time.time()
    waits = []
    account = account_key(identifier(credentials))
    rate = ip_rate()
    if rate is not None and request is not None:
        waits.extend(_count_address(_window("ip", _address(request), rate), now))
    in_flight, counts = False, None
    rate = username_rate()
    if rate is not None and account is not None and not waits:
        wait, counts = _hold_account(account, rate, now)
        if wait is not None:
            waits.append(wait)
        in_flight = wait is None
    verdict = Verdict(max(waits) if waits else None, account, in_flight, counts)
    _pending.set(verdict)
    if request is not None:
        setattr(request, VERDICT_ATTR, verdict)
    return verdict


def _count_address(window: _Window, now: float) -> list[int]:
    try:
        current, previous, elapsed = window.add(_shared, now)
        _shared_answered()
    except CacheUnavailable as exc:
        current, previous, elapsed = window.add(_fallback(exc), now)
    if _estimate(current, previous, elapsed) > window.rate.count:
        return [window.wait(current, previous, elapsed, window.rate.count - 1)]
    return []


def _hold_account(account: str, rate: Rate, now: float) -> tuple[int | None, SharedCounts | LocalCounts]:
    """Take a place among the account's attempts in flight, then judge failures and places together."""
    window, flight = _window("account", account, rate), f"dualauth:login:flight:{account}"
    counts: SharedCounts | LocalCounts = _shared
    try:
        in_flight = counts.add(flight, 1, IN_FLIGHT_SECONDS)  # a write: only a write can tell a failing cache
        current, previous, elapsed = window.read(counts, now)
        _shared_answered()
    except CacheUnavailable as exc:
        counts = _fallback(exc)
        in_flight = counts.add(flight, 1, IN_FLIGHT_SECONDS)
        current, previous, elapsed = window.read(counts, now)
    if _estimate(current, previous, elapsed) + in_flight > rate.count:
        _release(counts, account)
        return window.wait(current + in_flight - 1, previous, elapsed, rate.count - 1), counts
    return None, counts


def _release(counts: SharedCounts | LocalCounts, account: str) -> None:
    with contextlib.suppress(CacheUnavailable):  # else the place expires by itself after IN_FLIGHT_SECONDS
        counts.add(f"dualauth:login:flight:{account}", -1, IN_FLIGHT_SECONDS)


def failed(credentials: dict[str, Any]) -> None:
    """A password check failed: its place becomes a failure on the account. An attempt refused before any
    check counts nothing more."""
    verdict = _pending.get()
    _pending.set(None)
    if verdict is not None and verdict.refused:
        return
    rate = username_rate()
    account = verdict.account if verdict is not None else account_key(identifier(credentials))
    if rate is None or account is None:
        return
    if verdict is not None and verdict.counts is not None:  # admitted: its place in flight becomes the failure
        _release(verdict.counts, account)
    window = _window("account", account, rate)
    try:
        window.add(_shared, time.time())
    except CacheUnavailable as exc:
        window.add(_fallback(exc), time.time())


def succeeded() -> None:
    """The attempt of this context signed someone in: its place in the account's bucket is given back."""
    verdict = _pending.get()
    _pending.set(None)
    if verdict is not None and verdict.in_flight and verdict.counts is not None and verdict.account is not None:
        _release(verdict.counts, verdict.account)


def refused(request: Any) -> int | None:
    """Seconds the request's last attempt must wait, if it was refused."""
    verdict = getattr(request, VERDICT_ATTR, None)
    return verdict.wait if isinstance(verdict, Verdict) else None
