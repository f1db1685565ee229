"""Real server processes of the example project, sharing one PostgreSQL database and one Redis.

Each instance is a gunicorn (WSGI) or uvicorn (ASGI) process group on its own
loopback port, started with the settings `make serve` uses and stopped by its
own process id. A ``Browser`` is a client that keeps its cookies and sends
the CSRF token, as a web page would; it ignores ``Secure`` so that it can talk
plain HTTP to servers running with ``DEBUG`` off.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
import redis

from ..redis_server import spare_port

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE = f"dualauth_system_{os.getpid()}"  # this run's own; dropped when it ends
REDIS_URL = os.environ.get("DUALAUTH_SYSTEM_REDIS", "redis://127.0.0.1:6379/10")


def environment(redis_url: str = REDIS_URL, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.system.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "REDIS_URL": redis_url,
        "DUALAUTH_STORE": "redis",
        "DUALAUTH_MODE": "hybrid",
        "DJANGO_SESSION_ENGINE": "django.contrib.sessions.backends.cache",
        "DJANGO_CONN_MAX_AGE": "60",
        "DJANGO_DEBUG": "0",
        **extra,
    }


def manage(*args: str) -> str:
    """Run ``manage.py`` as a separate process with the instances' settings: a command run on a third host."""
    run = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment(), capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} exited {run.returncode}: {run.stderr[-2000:]}")
    return run.stdout


def prepare(redis_url: str = REDIS_URL) -> None:
    """A fresh database and Redis database, migrated, with the demo users."""
    drop_database()
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    redis.Redis.from_url(redis_url).flushdb()
    manage("migrate", "--noinput")
    manage("seed_demo")


def revoked_in_database(sids: list[str] | set[str]) -> set[str]:
    """Those of ``sids`` whose sign-in the database records as ended."""
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=DATABASE) as connection:
        rows = connection.execute(
            "SELECT id FROM dualauth_authsession WHERE revoked_at IS NOT NULL AND id = ANY(%s::uuid[])", [list(sids)]
        )
        return {str(row[0]) for row in rows}


def drop_database() -> None:
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start(name: str, server: str, env: dict[str, str] | None = None) -> Instance:
    """A ready instance; a server that exits at once (its spare port taken meanwhile, say) is tried again."""
    for attempt in range(3):
        try:
            return _start(name, server, env)
        except EarlyExit:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class EarlyExit(AssertionError):
    pass


def _start(name: str, server: str, env: dict[str, str] | None) -> Instance:
    port = spare_port()
    if server == "uvicorn":
        command = [sys.executable, "-m", "uvicorn", "example_project.asgi:application", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", "2", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    else:
        command = [sys.executable, "-m", "gunicorn", "example_project.wsgi:application", "--bind",
                   f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread", "--threads", "2",
                   "--log-level", "warning", "--no-control-socket"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env or environment(), start_new_session=True)
    instance = Instance(name, port, process)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            stop(instance)
            raise EarlyExit(f"{server} for instance {name} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{instance.url}/api/auth/csrf/", timeout=2) as response:
                if response.status == 200:
                    return instance
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(instance)
            raise AssertionError(f"{server} for instance {name} did not answer on port {port}")
        time.sleep(0.2)


def stop(instance: Instance) -> None:
    """Stop the instance's whole process group (the server and its workers) by its own process id."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(instance.process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        instance.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):  # workers the master left behind
        os.killpg(instance.process.pid, signal.SIGKILL)
    instance.process.wait()


class _StayPut(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to check, not a page to fetch."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_StayPut)


@dataclass
class Response:
    status: int
    body: bytes
    headers: Any

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Browser:
    """A client with a cookie jar that sends the CSRF token on unsafe requests, and an optional bearer token."""

    cookies: dict[str, str] = field(default_factory=dict)
    bearer: str | None = None

    def request(self, instance: Instance, method: str, path: str, data: Any = None, form: bool = False) -> Response:
        headers = {"Accept": "application/json"}
        body = None
        if data is not None:
            body = urlencode(data, doseq=True).encode() if form else json.dumps(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
        if method not in ("GET", "HEAD") and "csrftoken" in self.cookies:
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
            headers["Referer"] = f"{instance.url}/"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        request = urllib.request.Request(instance.url + path, data=body, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=30) as answer:
                response = Response(answer.status, answer.read(), answer.headers)
        except urllib.error.HTTPError as error:
            response = Response(error.code, error.read(), error.headers)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, instance: Instance, path: str) -> Response:
        return self.request(instance, "GET", path)

    def post(self, instance: Instance, path: str, data: Any = None, form: bool = False) -> Response:
        return self.request(instance, "POST", path, data if data is not None else {}, form)

    def login(self, instance: Instance, username: str, kind: str, transport: str | None = None) -> Response:
        self.get(instance, "/api/auth/csrf/")
        body = {"username": username, "password": username, "kind": kind}
        if transport:
            body["transport"] = transport
        response = self.post(instance, "/api/auth/login/", body)
        if response.status == 200 and transport == "header":
            self.bearer = response.json()["access"]
        return response
