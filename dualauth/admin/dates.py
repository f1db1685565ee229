"""A date hierarchy that stays fast on a table of millions of sign-ins.

Django's hierarchy asks ``SELECT DISTINCT date_trunc(...)`` of the whole
filtered table on every changelist page: half a second at a million rows. The
same buckets are found here by probing each candidate year, month or day
between the first and the last row with an ``EXISTS`` on the indexed column:
at most 31 index lookups, whatever the table's size.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from ..models import AuthSessionQuerySet


def _bucket(moment: datetime, kind: str, zone: tzinfo) -> datetime:
    local = moment.astimezone(zone)
    if kind == "year":
        return datetime(local.year, 1, 1, tzinfo=zone)
    if kind == "month":
        return datetime(local.year, local.month, 1, tzinfo=zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone)


def _next(start: datetime, kind: str, zone: tzinfo) -> datetime:
    if kind == "year":
        return start.replace(year=start.year + 1)
    if kind == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    following = start.replace(tzinfo=None) + timedelta(days=1)  # wall-clock midnight, whatever DST does
    return following.replace(tzinfo=zone)


class DateBucketQuerySet(AuthSessionQuerySet):
    """The admin's queryset: ``datetimes()`` probes buckets instead of scanning the table."""

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None) -> Any:  # type: ignore[override]
        if kind not in ("year", "month", "day") or order != "ASC" or not settings.USE_TZ:
            return super().datetimes(field_name, kind, order, tzinfo)  # type: ignore[arg-type]
        zone = tzinfo or timezone.get_current_timezone()
        bounds = self.order_by().aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        found = []
        start = _bucket(bounds["first"], kind, zone)
        while start <= bounds["last"]:
            end = _next(start, kind, zone)
            if self.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end}).exists():
                found.append(start)
            start = end
        return found
