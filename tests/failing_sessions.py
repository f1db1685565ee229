"""A session engine whose store fails on read, as engines outside Django do (Django's cache engine swallows
its backend's errors; a database engine or a third-party one raises them): ``SESSION_ENGINE =
"tests.failing_sessions"``. Sessions live in the database table; ``FAILING`` turns the failure on."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

FAILING: list[bool] = []


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        if FAILING:
            raise ConnectionError("the session store is unreachable")
        return super().load()
