"""One rule decides whether a sign-in is live, and every reader of it agrees: the state store's answer, the
model's status, the ``active()``/``revoked()``/``expired()`` querysets (the admin's status filter), cleanup's
retention and the Redis entry lifetime.

Each case is a row relative to now; margins of minutes keep the test clear of the clock moving on. The
boundaries (exactly at a deadline) are held by the pure rule, with a fixed ``now``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from dualauth import liveness, services
from dualauth.models import AuthSession, Kind
from dualauth.stores import SignInState

MINUTE = 60


@dataclass(frozen=True)
class Case:
    name: str
    revoked: bool
    expires_in: int  # seconds from now; negative: in the past
    last_seen: int  # seconds from now, always <= 0
    idle: int | None  # SESSION_IDLE_TIMEOUT
    live: bool


CASES = [
    Case("fresh, no idle timeout", False, 60 * MINUTE, 0, None, True),
    Case("expired", False, -MINUTE, -2 * MINUTE, None, False),
    Case("revoked while unexpired", True, 60 * MINUTE, 0, None, False),
    Case("revoked and expired", True, -MINUTE, -2 * MINUTE, None, False),
    Case("seen long ago, no idle timeout", False, 60 * MINUTE, -600 * MINUTE, None, True),
    Case("within the idle timeout", False, 60 * MINUTE, -5 * MINUTE, 10 * MINUTE, True),
    Case("idle past the timeout", False, 60 * MINUTE, -15 * MINUTE, 10 * MINUTE, False),
    Case("expired before going idle", False, -MINUTE, -2 * MINUTE, 10 * MINUTE, False),
    Case("revoked, not idle", True, 60 * MINUTE, 0, 10 * MINUTE, False),
    Case("an idle timeout of 0 (E010) refuses rather than allows", False, 60 * MINUTE, 0, 0, False),
]


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return str(request.param)


def _row(alice: Any, case: Case) -> AuthSession:
    now = timezone.now()
    return AuthSession.objects.create(
        id=uuid.uuid4(),
        user=alice,
        kind=Kind.JWT,
        created_at=now - timedelta(days=1),
        last_seen_at=now + timedelta(seconds=case.last_seen),
        expires_at=now + timedelta(seconds=case.expires_in),
        revoked_at=now - timedelta(seconds=30) if case.revoked else None,
        revoked_reason="logout" if case.revoked else "",
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_reader_of_liveness_agrees(alice: Any, use_mode: Any, store: str, case: Case) -> None:
    use_mode("jwt", SESSION_IDLE_TIMEOUT=case.idle, STORE=store)
    row = _row(alice, case)
    now = timezone.now()
    state = SignInState.of(row)
    assert liveness.is_live(case.revoked, row.expires_at, row.last_seen_at, now) is case.live
    assert state.is_live(now) is case.live
    assert (services.check(row.pk, Kind.JWT) is not None) is case.live, "the state store's answer"
    assert row.status == ("active" if case.live else "revoked" if case.revoked else "expired")
    assert AuthSession.objects.active().filter(pk=row.pk).exists() is case.live
    assert AuthSession.objects.expired().filter(pk=row.pk).exists() is (not case.live and not case.revoked)
    assert AuthSession.objects.revoked().filter(pk=row.pk).exists() is case.revoked
    assert AuthSession.objects.filter(liveness.ended_before(now)).filter(pk=row.pk).exists() is (not case.live)
    # A caching store holds a revocation for as long as expiry alone would still accept the sign-in.
    matters = case.revoked and row.expires_at > now
    assert AuthSession.objects.filter(liveness.revocation_matters(now)).filter(pk=row.pk).exists() is matters
    if store == "redis":
        ttl = _entry_ttl(row.pk)
        if case.live:
            end = liveness.deadline(row.expires_at, row.last_seen_at, liveness.idle_timeout())
            assert ttl is not None, "a live sign-in read through Redis is cached"
            assert 0 < ttl <= (end - now).total_seconds() * 1000, "the entry never outlives the sign-in"
        else:
            assert ttl is None or ttl <= (row.expires_at - now).total_seconds() * 1000
    if case.live:
        end = liveness.deadline(row.expires_at, row.last_seen_at, liveness.idle_timeout())
        assert end > now
        assert not AuthSession.objects.filter(liveness.ended_before(end)).filter(pk=row.pk).exists()
        assert AuthSession.objects.filter(liveness.ended_before(end + timedelta(seconds=1))).filter(pk=row.pk).exists()


def _entry_ttl(sid: Any) -> int | None:
    """Milliseconds the Redis entry of ``sid`` has left; ``None`` when there is none."""
    from django.core.cache import caches

    from dualauth.stores.redis_entries import KEY_PREFIX

    client = caches["default"].client.get_client(write=True)  # type: ignore[attr-defined]
    keys = client.keys(f"*{KEY_PREFIX}{sid}")
    if not keys:
        return None
    ttl = client.pttl(keys[0])
    return int(ttl) if ttl > 0 else None


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_at", "last_seen_at", "idle", "live"),
    [
        (NOW, NOW, None, False),  # at its expiry a sign-in has ended
        (NOW + timedelta(microseconds=1), NOW, None, True),
        (NOW + timedelta(hours=1), NOW - timedelta(minutes=10), 600, False),  # at its idle deadline
        (NOW + timedelta(hours=1), NOW - timedelta(minutes=10) + timedelta(microseconds=1), 600, True),
    ],
)
def test_a_sign_in_has_ended_at_its_deadline_not_after(
    alice: Any, use_mode: Any, expires_at: datetime, last_seen_at: datetime, idle: int | None, live: bool
) -> None:
    use_mode("jwt", SESSION_IDLE_TIMEOUT=idle)
    assert liveness.is_live(False, expires_at, last_seen_at, NOW) is live
    row = AuthSession.objects.create(
        id=uuid.uuid4(), user=alice, kind=Kind.JWT, last_seen_at=last_seen_at, expires_at=expires_at
    )
    in_query = AuthSession.objects.filter(liveness.live(NOW)).filter(pk=row.pk).exists()
    assert in_query is live
    assert AuthSession.objects.filter(liveness.expired(NOW)).filter(pk=row.pk).exists() is (not live)
    assert not AuthSession.objects.filter(liveness.ended_before(NOW)).filter(pk=row.pk).exists()
