"""Every session engine that keeps sessions on the server: listed, killed, gone from the store, refused."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from .conftest import SignInClient, session_exists

ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "file": "django.contrib.sessions.backends.file",
    "redis-cache": "django.contrib.sessions.backends.cache",
    "redis-cached_db": "django.contrib.sessions.backends.cached_db",
}


@pytest.fixture(params=list(ENGINES), ids=list(ENGINES))
def engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any, use_mode: Any) -> str:
    name = request.param
    settings.SESSION_ENGINE = ENGINES[name]
    settings.SESSION_FILE_PATH = str(tmp_path)
    if name.startswith("redis"):
        request.getfixturevalue("redis_cache")
    use_mode("session")
    return name  # type: ignore[no-any-return]


def _redis_holds(url: str, session_key: str) -> bool:
    return bool(redis.Redis.from_url(url).keys(f"*{session_key}*"))


def test_sessions_are_listed_and_a_killed_one_is_deleted_and_refused(engine: str, alice: Any, request: Any) -> None:
    laptop, phone = SignInClient("session"), SignInClient("session")
    laptop.login("alice")
    phone.login("alice")
    phone_key = phone.client.cookies["sessionid"].value
    listed = {row["id"] for row in laptop.get("/api/auth/sessions/").json()}
    assert listed == {laptop.session_id, phone.session_id}
    if engine.startswith("redis"):
        assert _redis_holds(request.getfixturevalue("redis_cache"), phone_key)

    assert laptop.delete(f"/api/auth/sessions/{phone.session_id}/").status_code == 204

    assert not session_exists(phone_key)
    if engine.startswith("redis"):
        assert not _redis_holds(request.getfixturevalue("redis_cache"), phone_key)
    assert phone.get("/api/auth/me/").status_code == 401
    assert laptop.get("/api/auth/me/").status_code == 200
    assert [row["id"] for row in laptop.get("/api/auth/sessions/").json()] == [laptop.session_id]
