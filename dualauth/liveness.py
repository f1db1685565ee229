"""When a sign-in is live: the one rule every reader derives its answer from.

A sign-in is live until the first of its revocation, its expiry
(``expires_at``) and, with ``SESSION_IDLE_TIMEOUT``, its idle deadline
(``last_seen_at`` plus the timeout). A state store's answer, the model's
``status``, the ``active()``/``expired()`` querysets, ``cleanup()``'s
retention and the Redis store's entry lifetime are all written in terms of
``deadline`` below, in Python or as the equivalent query, so they cannot
disagree; ``tests/test_liveness.py`` holds them to one table of cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

from .conf import dualauth_settings


def idle_timeout() -> timedelta | None:
    """``SESSION_IDLE_TIMEOUT`` as a duration, ``None`` when sign-ins never go idle.

    Only ``None`` turns it off: a 0 that slipped past ``dualauth.E010`` (a
    server runs no system checks) refuses every sign-in rather than none.
    """
    seconds = dualauth_settings.SESSION_IDLE_TIMEOUT
    return None if seconds is None else timedelta(seconds=seconds)


def deadline(expires_at: datetime, last_seen_at: datetime, idle: timedelta | None = None) -> datetime:
    """The moment an unrevoked sign-in ends: its expiry, or its idle deadline if that comes first."""
    return expires_at if idle is None else min(expires_at, last_seen_at + idle)


def is_live(revoked: bool, expires_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    return not revoked and deadline(expires_at, last_seen_at, idle_timeout()) > now


def _deadline(op: str, moment: datetime) -> Q:
    """``deadline(expires_at, last_seen_at, idle) <op> moment`` as a query, ``op`` being ``gt``, ``lte`` or ``lt``.

    The minimum of two times is after a moment when both are, and at or
    before it when either is.
    """
    expiry = Q(**{f"expires_at__{op}": moment})
    idle = idle_timeout()
    if idle is None:
        return expiry
    idle_deadline = Q(**{f"last_seen_at__{op}": moment - idle})
    return expiry & idle_deadline if op == "gt" else expiry | idle_deadline


def live(now: datetime) -> Q:
    """Live sign-ins at ``now``."""
    return Q(revoked_at__isnull=True) & _deadline("gt", now)


def expired(now: datetime) -> Q:
    """Sign-ins that ran out (expiry or idle deadline) by ``now`` without being revoked."""
    return Q(revoked_at__isnull=True) & _deadline("lte", now)


def ended_before(cutoff: datetime) -> Q:
    """Sign-ins that ended, by revocation or by running out, strictly before ``cutoff``."""
    return Q(revoked_at__lt=cutoff) | (Q(revoked_at__isnull=True) & _deadline("lt", cutoff))


def revocation_matters(now: datetime) -> Q:
    """Revoked sign-ins whose tokens or session expiry alone would still accept: what a caching store must
    hold as revoked."""
    return Q(revoked_at__isnull=False, expires_at__gt=now)
