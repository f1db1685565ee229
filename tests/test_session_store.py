"""``dualauth.services.load_many``: a page of sessions in one round trip, on every engine, never a 500."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY

from dualauth.services import load_many

from .redis_server import spare_port

pytestmark = pytest.mark.django_db


def _session(settings: Any, user_id: str) -> str:
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user_id
    store.create()
    return store.session_key  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "engine",
    [
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.cached_db",
        "django.contrib.sessions.backends.file",
    ],
)
def test_it_reads_what_the_engine_holds_and_skips_the_rest(settings: Any, tmp_path: Any, engine: str) -> None:
    settings.SESSION_ENGINE = engine
    settings.SESSION_FILE_PATH = str(tmp_path)
    first, second = _session(settings, "1"), _session(settings, "2")
    found = load_many([first, second, "nosuchkey0000000000000000000000", "", first])
    assert {key: data[SESSION_KEY] for key, data in found.items()} == {first: "1", second: "2"}
    assert load_many([]) == {}


def test_cached_db_answers_from_the_database_when_its_cache_is_unreachable(settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    key = _session(settings, "7")
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{spare_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    assert load_many([key])[key][SESSION_KEY] == "7"
