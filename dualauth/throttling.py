"""One login limiter for every password check in the project: the API's login, the admin's, any ``authenticate()``.

Two buckets, shared by every door:

- per client IP (``LOGIN_IP_RATE``), counting every attempt: password
  spraying from one address is stopped whatever usernames it tries;
- per account (``LOGIN_USERNAME_RATE``), counting failures only: guessing
  one account's password is stopped whatever addresses it comes from, while
  a stranger cannot lock its owner out cheaply, and the owner's own sign-ins
  never use it up. The account is the one the login will authenticate (found
  as ``ModelBackend`` finds it), so no spelling of one account opens a second
  bucket; a name no account has is counted under its normalised form.

Counts live in the default cache, shared by every process. When that cache
fails (django-redis' ``IGNORE_EXCEPTIONS`` included: ``add()`` and ``incr()``
answer ``None`` instead of a count), a process-local counter with the same
rates takes over until it answers again, logged once per outage: throttling
never switches off. Each bucket is a sliding window, estimated from the counts
of the current and the previous period.

``dualauth.backends.LoginThrottleBackend``, first in ``AUTHENTICATION_BACKENDS``,
puts the check in front of every ``authenticate()``; a ``user_login_failed``
receiver counts the failures.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist, ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver

from .client_info import client_ip
from .conf import dualauth_settings

logger = logging.getLogger("dualauth")

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OFF = "off"
#: Set on a request once its attempt was admitted or refused, so every door counts it once.
VERDICT_ATTR = "_dualauth_login_verdict"


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
    """Attempts per client IP: ``LOGIN_IP_RATE``, else ``LOGIN_THROTTLE_RATE``."""
    return _rate("LOGIN_IP_RATE")


def username_rate() -> Rate | None:
    """Failures per account: ``LOGIN_USERNAME_RATE``, else ``LOGIN_THROTTLE_RATE``."""
    return _rate("LOGIN_USERNAME_RATE")


# Counting ---------------------------------------------------------------------------------------


class CacheUnavailable(Exception):
    """The shared cache did not answer a count."""


class SharedCounts:
    """Window counts in the default cache: ``add()`` then ``incr()``, atomic on every backend that has them."""

    def increment(self, key: str, timeout: int) -> int:
        try:
            if cache.add(key, 1, timeout) is True:
                return 1
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr(): a new window
            return self.increment(key, timeout)
        except Exception as exc:
            raise CacheUnavailable from exc
        if not isinstance(count, int):
            raise CacheUnavailable  # IGNORE_EXCEPTIONS: a failure answered None
        return count

    def get(self, key: str) -> int:
        try:
            value = cache.get(key, 0)
        except Exception as exc:
            raise CacheUnavailable from exc
        return value if isinstance(value, int) else 0


class LocalCounts:
    """The same counts in this process's memory, while the shared cache fails; bounded in size."""

    max_keys = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def increment(self, key: str, timeout: int) -> int:
        now = time.monotonic()
        with self._lock:
            expires, count = self._counts.get(key, (0.0, 0))
            if expires <= now:
                if len(self._counts) >= self.max_keys:
                    self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
                expires, count = now + timeout, 0
            self._counts[key] = (expires, count + 1)
            return count + 1

    def get(self, key: str) -> int:
        with self._lock:
            expires, count = self._counts.get(key, (0.0, 0))
            return count if expires > time.monotonic() else 0


_shared = SharedCounts()
_local = LocalCounts()
_outage = threading.Event()


def _counted(operation: Callable[[SharedCounts | LocalCounts], int], *, writes: bool) -> int:
    """``operation`` on the shared cache, or on this process's counter while the cache fails.

    Only a write can tell a failing cache from an empty one (a read that failed
    under ``IGNORE_EXCEPTIONS`` looks like a count of 0): reads follow the
    verdict of the last write.
    """
    if not writes and _outage.is_set() and not _cache_is_back():
        return operation(_local)
    try:
        result = operation(_shared)
    except CacheUnavailable as exc:
        if not _outage.is_set():
            _outage.set()
            logger.warning(
                "dualauth: login throttling cannot reach the cache (%s); counting in this process until it answers",
                type(exc.__cause__ or exc).__name__,
            )
        return operation(_local)
    if _outage.is_set():
        _outage.clear()
        logger.warning("dualauth: login throttling reaches the cache again")
    return result


_probed_at = 0.0
PROBE_INTERVAL = 1.0


@receiver(setting_changed, dispatch_uid="dualauth.throttling.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    """Another cache, or other rates: what this process counted alone no longer applies."""
    global _local, _probed_at
    if setting in ("CACHES", "DUALAUTH"):
        _local = LocalCounts()
        _outage.clear()
        _probed_at = 0.0


def _cache_is_back() -> bool:
    """During an outage, ask the cache again at most once a second (a write: only a write can tell)."""
    global _probed_at
    now = time.monotonic()
    if now - _probed_at < PROBE_INTERVAL:
        return False
    _probed_at = now
    try:
        return isinstance(cache.add("dualauth:login:probe", 1, 5), bool)
    except Exception:  # noqa: BLE001 - still down
        return False


@dataclass(frozen=True)
class _Window:
    key: str
    rate: Rate

    def keys(self, now: float) -> tuple[str, str, float]:
        index = math.floor(now / self.rate.period)
        elapsed = now / self.rate.period - index
        return f"{self.key}:{index}", f"{self.key}:{index - 1}", elapsed

    def estimate(self, counts: SharedCounts | LocalCounts, now: float, add: bool) -> int:
        current, previous, elapsed = self.keys(now)
        count = counts.increment(current, 2 * self.rate.period) if add else counts.get(current)
        return count + math.floor(counts.get(previous) * (1 - elapsed))

    def wait(self, now: float) -> int:
        """Seconds until the current period ends: the earliest a refused attempt may come back."""
        return max(1, math.ceil(self.rate.period * (1 - self.keys(now)[2])))


def _window(bucket: str, ident: str, rate: Rate) -> _Window:
    digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()
    return _Window(f"dualauth:login:{bucket}:{digest}", rate)


def account_key(username: Any) -> str | None:
    """The bucket of the account ``username`` names, as the login will find it: a user's own, whatever the
    spelling; an unknown name by its normalised form."""
    if username is None:
        return None
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except (ObjectDoesNotExist, MultipleObjectsReturned, ValueError, TypeError, ValidationError):
        text = user_model.normalize_username(username) if isinstance(username, str) else str(username)
        return f"name:{text.casefold()}"
    return f"user:{user.pk}"


# The verdict on one attempt --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """An attempt admitted (``wait`` is ``None``) or refused for ``wait`` seconds."""

    wait: int | None
    account: str | None

    @property
    def refused(self) -> bool:
        return self.wait is not None


def admit(request: Any, username: Any) -> Verdict:
    """Count an attempt against the client's IP, and say whether it may check a password.

    Once per request, whichever door asks first (the API's view, or the
    backend in front of ``authenticate()``): the others get the same verdict.
    """
    known = getattr(request, VERDICT_ATTR, None) if request is not None else None
    if isinstance(known, Verdict):
        return known
    now = time.time()
    account = account_key(username)
    waits = []
    rate = ip_rate()
    if rate is not None and request is not None:
        window = _window("ip", client_ip(request) or "unknown", rate)
        if _counted(lambda counts: window.estimate(counts, now, add=True), writes=True) > rate.count:
            waits.append(window.wait(now))
    rate = username_rate()
    if rate is not None and account is not None:
        window = _window("account", account, rate)
        if _counted(lambda counts: window.estimate(counts, now, add=False), writes=False) >= rate.count:
            waits.append(window.wait(now))
    verdict = Verdict(max(waits) if waits else None, account)
    if request is not None:
        setattr(request, VERDICT_ATTR, verdict)
    return verdict


def failed(request: Any, username: Any) -> None:
    """A password check failed: count it against the account, unless the attempt was refused before any check."""
    verdict = getattr(request, VERDICT_ATTR, None) if request is not None else None
    if isinstance(verdict, Verdict) and verdict.refused:
        return
    account = verdict.account if isinstance(verdict, Verdict) else account_key(username)
    rate = username_rate()
    if rate is None or account is None:
        return
    window = _window("account", account, rate)
    now = time.time()
    _counted(lambda counts: counts.increment(window.keys(now)[0], 2 * rate.period), writes=True)


def refused(request: Any) -> int | None:
    """Seconds the request's attempt must wait, if it was refused."""
    verdict = getattr(request, VERDICT_ATTR, None)
    return verdict.wait if isinstance(verdict, Verdict) else None
