"""The sign-ins screen's date hierarchy (``dualauth.admin.dates``) beyond its fast path: what that path does not
cover (another kind of bucket, newest first, a site without time zones) is Django's own answer.

The fast path itself, against Django's answer in several time zones, is in tests/test_admin_screens.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dualauth.admin.dates import DateBucketQuerySet
from dualauth.models import AuthSession, Kind

pytestmark = pytest.mark.django_db

MOMENTS = [
    datetime(2024, 3, 10, 1, 0),
    datetime(2024, 3, 10, 1, 40),
    datetime(2024, 3, 10, 23, 59),
    datetime(2024, 3, 31, 12, 0),
    datetime(2025, 1, 1, 0, 0),
]


def _sign_ins(user: Any, *, use_tz: bool) -> None:
    for moment in MOMENTS:
        at = timezone.make_aware(moment) if use_tz else moment
        AuthSession.objects.create(
            user=user, kind=Kind.SESSION, created_at=at, last_seen_at=at, expires_at=at + timedelta(days=1)
        )


@pytest.mark.parametrize(
    ("kind", "order", "use_tz"),
    [
        ("hour", "ASC", True),
        ("day", "DESC", True),
        ("year", "ASC", False),
        ("month", "ASC", False),
        ("day", "ASC", False),
    ],
)
def test_what_the_fast_path_does_not_cover_is_djangos_own_answer(
    alice: Any, settings: Any, kind: str, order: str, use_tz: bool
) -> None:
    settings.USE_TZ = use_tz
    _sign_ins(alice, use_tz=use_tz)
    expected = list(AuthSession.objects.datetimes("created_at", kind, order))
    assert len(expected) > 1
    assert list(DateBucketQuerySet(AuthSession).datetimes("created_at", kind, order)) == expected


def test_the_screen_of_a_site_without_time_zones_has_its_date_hierarchy(
    alice: Any, make_user: Any, settings: Any
) -> None:
    settings.USE_TZ = False
    _sign_ins(alice, use_tz=False)
    admin = Client()
    admin.force_login(make_user("admin", is_staff=True, is_superuser=True))
    page = admin.get("/admin/dualauth/authsession/", {"created_at__year": 2024, "created_at__month": 3})
    assert page.status_code == 200
    content = page.content.decode()
    assert "March 10" in content
    assert "March 31" in content
