"""Times as the database holds them: aware where ``USE_TZ = True`` (Django's default), naive in the default
time zone where it is ``False``. Tokens carry epoch seconds and the Redis store epoch microseconds; both are
turned into the one the database would give back, so any two can be compared."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone


def as_stored(moment: datetime) -> datetime:
    """An aware ``moment`` as the database gives it back."""
    return moment if settings.USE_TZ else timezone.make_naive(moment, timezone.get_default_timezone())


def as_aware(moment: datetime) -> datetime:
    """A time from the database, aware (a naive one is in the default time zone)."""
    return timezone.make_aware(moment, timezone.get_default_timezone()) if timezone.is_naive(moment) else moment


def from_timestamp(seconds: float) -> datetime:
    """A token's time claim as the database would hold it; ``OverflowError``/``OSError``/``ValueError`` as
    ``datetime.fromtimestamp`` raises them."""
    return as_stored(datetime.fromtimestamp(seconds, tz=UTC))
