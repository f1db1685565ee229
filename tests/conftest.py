"""Shared fixtures: users, a client per sign-in flavour, and the real services the suite needs.

A *flavour* is one way a client holds a sign-in: ``session`` (Django session
cookie), ``header`` (JWT in ``Authorization: Bearer``) or ``cookie`` (JWT in
HttpOnly cookies). Each mode allows some of them; ``FLAVOURS`` lists the pairs
and behaviour tests are parametrized over it rather than copied per mode.
"""

from __future__ import annotations

import os
import shutil
from importlib import import_module
from typing import Any, NoReturn

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache, caches
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

FLAVOURS = [
    ("session", "session"),
    ("jwt", "header"),
    ("jwt", "cookie"),
    ("hybrid", "session"),
    ("hybrid", "header"),
    ("hybrid", "cookie"),
]
JWT_FLAVOURS = [pair for pair in FLAVOURS if pair[1] != "session"]
FLAVOUR_IDS = [f"{mode}-{flavour}" for mode, flavour in FLAVOURS]
JWT_FLAVOUR_IDS = [f"{mode}-{flavour}" for mode, flavour in JWT_FLAVOURS]

for _name, _examples in (("ci", 60), ("long", 2000)):
    hypothesis_settings.register_profile(
        _name, max_examples=_examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REDIS_TEST_URL = os.environ.get("DUALAUTH_TEST_REDIS", "redis://127.0.0.1:6379/15")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


def unavailable(what: str) -> NoReturn:
    """A service or program a test needs is missing: under CI=true the test fails, elsewhere it skips saying why."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: required under CI=true")
    pytest.skip(what)


def require_programs(*names: str) -> None:
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        unavailable(f"not installed: {', '.join(missing)}")


def _service_missing(session: pytest.Session, service: str, exc: Exception) -> None:
    """Under CI=true a service the run needs stops it; elsewhere every test skips, saying why."""
    if os.environ.get("CI") == "true":
        pytest.exit(f"{service} is required under CI=true and is unreachable: {exc}", returncode=1)
    session.config._dualauth_skip_reason = f"{service} unreachable ({exc})"  # type: ignore[attr-defined]


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("DUALAUTH_TEST_DB") == "postgres":
        import psycopg

        try:
            psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", connect_timeout=3).close()
        except psycopg.OperationalError as exc:
            _service_missing(session, "PostgreSQL on 127.0.0.1:5432", exc)
    if os.environ.get("DUALAUTH_TEST_STORE") == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
        except redis.ConnectionError as exc:
            _service_missing(session, f"Redis at {REDIS_TEST_URL}", exc)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--requirement", action="append", default=[], help="run only the tests of this requirement id")


def _requirements(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse an unknown requirement id; keep only the tests of ``--requirement`` when given."""
    from .requirements import REQUIREMENTS

    wanted = set(config.getoption("--requirement"))
    unknown = wanted - REQUIREMENTS.keys()
    if unknown:
        raise pytest.UsageError(f"unknown requirement ids: {sorted(unknown)}")
    kept = []
    for item in items:
        ids = {id_ for marker in item.iter_markers("requirement") for id_ in marker.args}
        if ids - REQUIREMENTS.keys():
            raise pytest.UsageError(f"{item.nodeid} names unknown requirement ids: {sorted(ids - REQUIREMENTS.keys())}")
        item.user_properties.extend(("requirement", id_) for id_ in sorted(ids))
        if not wanted or ids & wanted:
            kept.append(item)
    if len(kept) != len(items):
        keep = {id(item) for item in kept}
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in keep])
        items[:] = kept


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _requirements(config, items)
    reason = getattr(config, "_dualauth_skip_reason", None)
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))
    # The system tests start servers of their own: they run in `make test-system`, once, not in every profile.
    system = os.environ.get("DUALAUTH_TEST_SYSTEM") == "1"

    def is_system(item: pytest.Item) -> bool:
        return item.nodeid.startswith("tests/system/") or bool(item.get_closest_marker("system"))

    left_out = [item for item in items if is_system(item) != system]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if is_system(item) == system]
    if os.environ.get("DUALAUTH_TEST_DB") != "postgres":
        # Tests of PostgreSQL behaviour (row locks) belong to the PostgreSQL run of `make test`.
        postgres_only = [item for item in items if item.get_closest_marker("postgres")]
        if postgres_only:
            config.hook.pytest_deselected(items=postgres_only)
            items[:] = [item for item in items if not item.get_closest_marker("postgres")]


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    cache.clear()


@pytest.fixture
def redis_url() -> str:
    """The machine's real Redis (database 15, emptied). Under CI=true a missing Redis fails, never skips."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        unavailable(f"Redis unreachable at {REDIS_TEST_URL}: {exc}")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def redis_cache(settings: Any, redis_url: str) -> str:
    """Make the default cache django-redis on the real Redis."""
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}}
    return redis_url


def session_exists(session_key: str) -> bool:
    """Whether the configured session engine (database, Redis, ...) still holds ``session_key``."""
    return import_module(django_settings.SESSION_ENGINE).SessionStore().exists(session_key)  # type: ignore[no-any-return]


def rewrite_sign_in(sid: Any, **fields: Any) -> None:
    """Change a sign-in's row behind the service layer (to stand for time passing) and tell the store, as
    the service layer would: a caching store must not keep answering with the old row."""
    from dualauth.models import AuthSession
    from dualauth.stores import get_store

    AuthSession.objects.filter(pk=sid).update(**fields)
    get_store().changed(sid)


def stored_session_count() -> int:
    """How many sessions the configured engine holds, wherever it keeps them."""
    engine = django_settings.SESSION_ENGINE.rsplit(".", 1)[-1]
    if engine in ("db", "cached_db"):
        from django.contrib.sessions.models import Session

        return Session.objects.count()
    if engine == "cache":
        from django.contrib.sessions.backends.cache import KEY_PREFIX

        return len(caches[django_settings.SESSION_CACHE_ALIAS].keys(f"{KEY_PREFIX}*"))  # type: ignore[attr-defined]
    raise NotImplementedError(f"no session count for {django_settings.SESSION_ENGINE}")


@pytest.fixture
def redis_store(settings: Any, use_mode: Any, monkeypatch: Any) -> Any:
    """Put the redis store (and, given ``sessions``, Django's sessions) on alias ``auth`` at ``location``.

    Login throttles stay in a fresh local default cache; django-redis's process-wide pools start
    afresh, so each test's options (timeouts, retries, factories) take effect.
    """
    from django_redis.pool import ConnectionFactory

    def use(location: str, *, mode: str = "hybrid", sessions: str | None = None, **options: Any) -> None:
        monkeypatch.setattr(ConnectionFactory, "_pools", {})
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "auth": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": location, "OPTIONS": options},
        }
        caches["default"].clear()
        if sessions is not None:
            settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{sessions}"
            settings.SESSION_CACHE_ALIAS = "auth"
        use_mode(mode, STORE="redis", REDIS_CACHE_ALIAS="auth")

    return use


@pytest.fixture
def capture_signal() -> Any:
    """``capture_signal(signal)``: a list of the keyword arguments of every send of ``signal`` until the test ends."""
    connected: list[tuple[Any, Any]] = []

    def capture(signal: Any) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        def receiver(**kwargs: Any) -> None:
            sent.append(kwargs)

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return sent

    yield capture
    for signal, receiver in connected:
        signal.disconnect(receiver)


@pytest.fixture
def make_user(django_user_model: Any) -> Any:
    def make(username: str = "alice", password: str | None = None, **extra: Any) -> Any:
        return django_user_model.objects.create_user(
            username=username, password=password or username, email=f"{username}@example.com", **extra
        )

    return make


@pytest.fixture
def alice(make_user: Any) -> Any:
    return make_user("alice")


@pytest.fixture
def bob(make_user: Any) -> Any:
    return make_user("bob")


class SignInClient:
    """An API client that signs in one way and presents that credential on every request."""

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.client = APIClient(enforce_csrf_checks=True, HTTP_USER_AGENT=USER_AGENT)
        self.access: str | None = None
        self.refresh: str | None = None
        self.session_id: str | None = None

    @property
    def kind(self) -> str:
        return "session" if self.flavour == "session" else "jwt"

    def copy(self) -> SignInClient:
        """Another client holding this one's credentials: a second tab, or a thief with a copy."""
        other = SignInClient(self.flavour)
        for name, morsel in self.client.cookies.items():
            other.client.cookies[name] = morsel.value
        other.access, other.refresh, other.session_id = self.access, self.refresh, self.session_id
        return other

    def csrf(self) -> str:
        if "csrftoken" not in self.client.cookies:
            self.client.get("/api/auth/csrf/")
        return self.client.cookies["csrftoken"].value

    def _headers(self, method: str) -> dict[str, str]:
        headers = {}
        if self.flavour == "header" and self.access:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.access}"
        if method not in ("get", "head", "options") and "csrftoken" in self.client.cookies:
            headers["HTTP_X_CSRFTOKEN"] = self.client.cookies["csrftoken"].value
        return headers

    def login(self, username: str, password: str | None = None, **extra: Any) -> Any:
        body: dict[str, Any] = {"username": username, "password": password or username, "kind": self.kind}
        if self.kind == "jwt":
            body["transport"] = self.flavour
        body.update(extra)
        if self.flavour != "header":
            self.csrf()
        response = self.post("/api/auth/login/", body)
        if response.status_code == 200:
            data = response.json()
            self.session_id = data["session_id"]
            self.access = data.get("access", self.access)
            self.refresh = data.get("refresh", self.refresh)
        return response

    def do_refresh(self) -> Any:
        body = {"refresh": self.refresh} if self.flavour == "header" else {}
        response = self.post("/api/auth/token/refresh/", body)
        if response.status_code == 200 and self.flavour == "header":
            self.access, self.refresh = response.json()["access"], response.json()["refresh"]
        return response

    def get(self, path: str, **extra: Any) -> Any:
        return self.client.get(path, **{**self._headers("get"), **extra})

    def send(self, method: str, path: str, data: Any = None, **extra: Any) -> Any:
        """Any unsafe method, with the credential and (for cookie flavours) the CSRF token."""
        return getattr(self.client, method)(path, data, format="json", **{**self._headers(method), **extra})

    def post(self, path: str, data: Any = None, **extra: Any) -> Any:
        return self.send("post", path, data, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self.send("delete", path, **extra)


@pytest.fixture
def use_mode(settings: Any) -> Any:
    def use(mode: str, **extra: Any) -> None:
        settings.DUALAUTH = {"MODE": mode, "STORE": settings.DUALAUTH_TEST_STORE, **extra}

    return use


@pytest.fixture(params=FLAVOURS, ids=FLAVOUR_IDS)
def flavour(request: pytest.FixtureRequest, use_mode: Any) -> str:
    mode, flavour = request.param
    use_mode(mode)
    return flavour  # type: ignore[no-any-return]


@pytest.fixture(params=JWT_FLAVOURS, ids=JWT_FLAVOUR_IDS)
def jwt_flavour(request: pytest.FixtureRequest, use_mode: Any) -> str:
    mode, flavour = request.param
    use_mode(mode)
    return flavour  # type: ignore[no-any-return]


@pytest.fixture
def signed_in(alice: Any, flavour: str) -> SignInClient:
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    return client


@pytest.fixture
def jwt_signed_in(alice: Any, jwt_flavour: str) -> SignInClient:
    client = SignInClient(jwt_flavour)
    assert client.login("alice").status_code == 200
    return client
