"""What no longer needs keeping, and what a caching state store must be told again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .. import liveness
from ..conf import dualauth_settings
from ..models import AuthSession
from ..stores import get_store
from . import simplejwt_tables

CLEANUP_BATCH = 1000


@dataclass(frozen=True)
class Cleanup:
    """What one ``cleanup()`` did: rows deleted, tokens deleted, revocations sent again to the store."""

    sign_ins: int
    tokens: int
    resynced: int


def cleanup(now: datetime | None = None) -> Cleanup:
    """Delete what no longer needs keeping, and re-send live revocations to the store.

    Ended sign-ins stay for ``REVOKED_RETENTION`` (the audit trail of the admin
    screens), then go; expired refresh tokens leave simplejwt's tables, whose
    blacklist they no longer need. A caching store is handed every revocation
    that could still matter (the sign-in would otherwise be unexpired), so a
    write missed while it was unreachable, by a process since gone, is healed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=dualauth_settings.REVOKED_RETENTION)
    ended = liveness.ended_before(cutoff)
    sign_ins = 0
    while True:  # in batches: each deleted row tells the store, and a year of rows must not sit in memory
        batch = list(AuthSession.objects.filter(ended).values_list("pk", flat=True)[:CLEANUP_BATCH])
        if not batch:
            break
        sign_ins += AuthSession.objects.filter(pk__in=batch).delete()[1].get(AuthSession._meta.label, 0)
    tokens = simplejwt_tables.delete_expired(now)
    live_revocations = AuthSession.objects.filter(liveness.revocation_matters(now))
    resynced = get_store().resync(live_revocations.values_list("pk", flat=True).iterator())
    return Cleanup(sign_ins=sign_ins, tokens=tokens, resynced=resynced)


def deliver_pending() -> bool:
    """Whether the state store holds every change made so far (see ``BaseStore.flush``)."""
    return get_store().flush()
