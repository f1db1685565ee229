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

Each bucket is a sliding window (``dualauth.login_counts``) in the default
cache, shared by every process, or in this process while that cache cannot
count: throttling never switches off.

``dualauth.backends`` puts ``admit()`` in front of every ``authenticate()``;
receivers of ``user_login_failed`` and ``user_logged_in`` settle each attempt.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from . import current_request, login_counts
from .client_info import client_ip
from .conf import dualauth_settings

logger = logging.getLogger("dualauth")

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OFF = "off"
#: Set on a request to the verdict on its last attempt: what the API's answer and the admin's form say.
VERDICT_ATTR = "_dualauth_login_verdict"
#: How long a password check in flight holds its place in the account's bucket, at most.
IN_FLIGHT_SECONDS = 30


def _rate(key: str) -> login_counts.Rate | None:
    value = getattr(dualauth_settings, key)
    if value == OFF:
        return None
    return login_counts.parse_rate(dualauth_settings.LOGIN_THROTTLE_RATE if value is None else value)


def ip_rate() -> login_counts.Rate | None:
    """Attempts per client address: ``LOGIN_IP_RATE``, else ``LOGIN_THROTTLE_RATE``."""
    return _rate("LOGIN_IP_RATE")


def username_rate() -> login_counts.Rate | None:
    """Failures per account: ``LOGIN_USERNAME_RATE``, else ``LOGIN_THROTTLE_RATE``."""
    return _rate("LOGIN_USERNAME_RATE")


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
    counts: login_counts.Counts | None = None

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
        waits.extend(_count_address(login_counts.window("ip", _address(request), rate), now))
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


def _count_address(window: login_counts.Window, now: float) -> list[int]:
    try:
        current, previous, elapsed = window.add(login_counts.SHARED, now)
        login_counts.shared_answered()
    except login_counts.CacheUnavailable as exc:
        current, previous, elapsed = window.add(login_counts.fallback(exc), now)
    if login_counts.estimate(current, previous, elapsed) > window.rate.count:
        return [window.wait(current, previous, elapsed, window.rate.count - 1)]
    return []


def _hold_account(account: str, rate: login_counts.Rate, now: float) -> tuple[int | None, login_counts.Counts]:
    """Take a place among the account's attempts in flight, then judge failures and places together."""
    window, flight = login_counts.window("account", account, rate), f"dualauth:login:flight:{account}"
    counts: login_counts.Counts = login_counts.SHARED
    try:
        in_flight = counts.add(flight, 1, IN_FLIGHT_SECONDS)  # a write: only a write can tell a failing cache
        current, previous, elapsed = window.read(counts, now)
        login_counts.shared_answered()
    except login_counts.CacheUnavailable as exc:
        counts = login_counts.fallback(exc)
        in_flight = counts.add(flight, 1, IN_FLIGHT_SECONDS)
        current, previous, elapsed = window.read(counts, now)
    if login_counts.estimate(current, previous, elapsed) + in_flight > rate.count:
        _release(counts, account)
        return window.wait(current + in_flight - 1, previous, elapsed, rate.count - 1), counts
    return None, counts


def _release(counts: login_counts.Counts, account: str) -> None:
    with contextlib.suppress(login_counts.CacheUnavailable):  # else the place expires by itself after IN_FLIGHT_SECONDS
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
    window = login_counts.window("account", account, rate)
    try:
        window.add(login_counts.SHARED, time.time())
    except login_counts.CacheUnavailable as exc:
        window.add(login_counts.fallback(exc), time.time())


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
