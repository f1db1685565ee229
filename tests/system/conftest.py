"""Two instances of the example project per server kind, started once per module and stopped by their own pids."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..conftest import require_programs
from . import instances


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[instances.Instance, instances.Instance]]:
    require_programs("redis-cli")
    try:
        import gunicorn  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the system tests need the deploy extra (pip install -e '.[deploy]'): {exc}")
    started: list[instances.Instance] = []
    try:
        instances.prepare()
        started.append(instances.start("A", request.param))
        started.append(instances.start("B", request.param))
        yield started[0], started[1]
    finally:
        for instance in started:
            instances.stop(instance)
        instances.drop_database()


@pytest.fixture(autouse=True)
def _fresh_login_throttles() -> None:
    """The instances share their login throttles through Redis, as they should; each test starts with none."""
    import redis

    client = redis.Redis.from_url(instances.REDIS_URL)
    for key in client.scan_iter("*dualauth:login:*"):
        client.delete(key)
