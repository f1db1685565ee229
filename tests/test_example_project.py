"""The demo site: its settings, its seed command, and migrations that match the models."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from example_project.settings import database_from_url


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_users_and_can_run_twice() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    users = get_user_model().objects.order_by("username")
    assert [(u.username, u.is_staff) for u in users] == [("admin", True), ("alice", False), ("bob", False)]
    assert all(u.check_password(u.username) for u in users)
    assert "alice / alice" in out.getvalue()


@pytest.mark.django_db
def test_migrations_are_up_to_date() -> None:
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////tmp/x.sqlite3", {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x.sqlite3"}),
        (
            "postgres://u:p%40ss@db:5433/app",
            {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "app",
                "USER": "u",
                "PASSWORD": "p@ss",
                "HOST": "db",
                "PORT": "5433",
            },
        ),
    ],
)
def test_database_url(url: str, expected: dict) -> None:
    assert database_from_url(url) == expected


def test_database_url_rejects_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="mysql"):
        database_from_url("mysql://x")
