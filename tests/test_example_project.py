"""The demo site: its settings, its seed command, and migrations that match the models."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict | list]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_demo_serves_a_fresh_database(tmp_path: Path) -> None:
    """What `make demo` runs (migrate, seed_demo, runserver), on a new SQLite file, over real HTTP."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "DUALAUTH_MODE": "jwt"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(root / "manage.py")]
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([*manage, *command], env=env, cwd=root, check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        status, body = _call(f"{base}/api/auth/login/", {"username": "alice", "password": "alice"})
        assert status == 200
        assert isinstance(body, dict)
        token = body["access"]
        status, notes = _call(f"{base}/api/notes/", token=token)
        assert (status, [n["text"] for n in notes]) == (200, ["alice's first note"])  # type: ignore[index]
        assert _call(f"{base}/api/auth/logout/", {}, token=token)[0] == 204
        assert _call(f"{base}/api/notes/", token=token)[0] == 401
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_example_project_has_an_asgi_application() -> None:
    """`make serve SERVER=uvicorn` serves this; DualAuthMiddleware runs on its event loop."""
    from django.core.handlers.asgi import ASGIHandler

    from example_project.asgi import application

    assert isinstance(application, ASGIHandler)
