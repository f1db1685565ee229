"""Set up the benchmark site: its database, its Redis, its user, and a credential per scenario."""

from __future__ import annotations

import os
from typing import Any

import django
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from bench.scenarios import DJANGO_SESSION, JWT_COOKIE, JWT_HEADER, NONE, SESSION, SIMPLEJWT, Scenario

USERNAME = "bench"
PASSWORD = "bench-password"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()


def create_database() -> None:
    """Create the benchmark database if it is missing; its contents are the benchmark's to replace."""
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"], autocommit=True
    ) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{db["NAME"]}"')


def reset() -> Any:
    """A migrated, empty site and its one user (a staff member, for the admin screens)."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection

    create_database()
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE dualauth_authsession, django_session, token_blacklist_blacklistedtoken,"
            " token_blacklist_outstandingtoken CASCADE"
        )
    # The filler users own the scale runs' kept rows: they stay.
    get_user_model().objects.exclude(username__startswith="filler-").delete()
    cache.clear()
    return get_user_model().objects.create_superuser(USERNAME, "bench@example.com", PASSWORD)


def credential(scenario: Scenario, user: Any) -> dict[str, str]:
    """The WSGI environ entries that carry a fresh credential for ``scenario`` (headers, cookies)."""
    with override_settings(**scenario.settings()):
        if scenario.credential == NONE:
            return {}
        if scenario.credential == SIMPLEJWT:
            from rest_framework_simplejwt.tokens import AccessToken

            return {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"}
        client = Client()
        if scenario.credential == DJANGO_SESSION:
            client.force_login(user)
        else:
            kind, transport = {
                JWT_HEADER: ("jwt", "header"),
                JWT_COOKIE: ("jwt", "cookie"),
                SESSION: ("session", None),
            }[scenario.credential]
            body = {"username": USERNAME, "password": PASSWORD, "kind": kind}
            if transport:
                body["transport"] = transport
            response = client.post("/api/auth/login/", body, content_type="application/json")
            if response.status_code != 200:
                raise RuntimeError(f"{scenario.key}: login answered {response.status_code}: {response.content!r}")
            if transport == "header":
                return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}
        cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
        return {"HTTP_COOKIE": cookies}
