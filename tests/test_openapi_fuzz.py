"""Schemathesis against the API of the suite's project (tests/urls.py), from the schema it serves, in process (WSGI).

Each request carries a fresh sign-in of a real user, so logout, revoking a sign-in or revoking the
others never leave the fuzzer signed out. At dualauth's endpoints, data that fits the schema must get
one of the documented responses, in the documented shape; anywhere, any data must never get a 5xx. Derandomised with few
examples, so CI runs the same cases every time in a few seconds; HYPOTHESIS_PROFILE=long runs 500 random ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.utils.crypto import get_random_string

from tests.conftest import USER_AGENT, unavailable

try:
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    CONFORMANCE = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]
except ImportError:  # pragma: no cover - the `test` extra installs it
    schemathesis = None

# CI replays the same few cases per operation; HYPOTHESIS_PROFILE=long (tests/conftest.py) fuzzes at random, at length.
LONG = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "long"
MAX_EXAMPLES = 500 if LONG else 10


@pytest.fixture(autouse=True)
def _keep_the_tests_connection() -> Iterator[None]:
    """Like Django's test Client: no closing of "old" connections around each request.

    Schemathesis calls the real ``WSGIHandler``, which closes stale database
    connections when a request starts and ends, as in production. Inside a
    test's transaction that is the test's own connection (PostgreSQL; SQLite's
    in-memory database is never closed).
    """
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def _load(*, security_parameters: bool) -> Any:
    """The schema the suite's project serves; loading it needs no database (no credential is presented)."""
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", WSGIHandler(), headers={"Accept": "application/vnd.oai.openapi+json"}
    )
    schema.config.generation.update(
        max_examples=MAX_EXAMPLES,
        deterministic=not LONG,
        database="none",
        with_security_parameters=security_parameters,
    )
    return schema


def _alice() -> Any:
    user, created = get_user_model().objects.get_or_create(username="alice", defaults={"email": "alice@example.com"})
    if created:
        user.set_password("alice")
        user.save()
    return user


def bearer() -> tuple[dict[str, str], dict[str, str], Any]:
    """A fresh jwt sign-in through the service layer (no login throttle): headers, cookies, the sign-in."""
    from dualauth import services

    request = RequestFactory().post("/api/auth/login/", HTTP_USER_AGENT=USER_AGENT)
    signin = services.sign_in(request, _alice(), "jwt")
    assert signin.tokens is not None
    return {"Authorization": f"Bearer {signin.tokens.access}"}, {}, signin


def session() -> tuple[dict[str, str], dict[str, str], Any]:
    """A fresh session sign-in, with the CSRF cookie and header that cookie-carried unsafe requests need."""
    from dualauth.models import AuthSession

    client = Client(HTTP_USER_AGENT=USER_AGENT)
    client.force_login(_alice())
    key = client.cookies["sessionid"].value
    csrf = get_random_string(32)
    return {"X-CSRFToken": csrf}, {"sessionid": key, "csrftoken": csrf}, AuthSession.objects.get(session_key=key)


def exercise(case: Any, sign_in: Any) -> None:
    headers, cookies, signin = sign_in()
    cache.clear()  # login throttles: every login attempt is a first one, so not all of them are 429s
    positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
    if positive:
        _use_real_values(case, signin)
    # The project's own views (notes, password change) do not document their refusals: there, only "no 5xx" is asked.
    dualauth = case.operation.path.startswith("/api/auth/")
    checks = CONFORMANCE if positive and dualauth else [not_a_server_error]
    case.call_and_validate(headers=headers, cookies=cookies, checks=checks)


def _use_real_values(case: Any, signin: Any) -> None:
    """Half the time, aim at something that exists, so the success responses get checked too."""
    if case.path_parameters and "id" in case.path_parameters and _heads(case.path_parameters["id"]):
        case.path_parameters["id"] = str(getattr(signin, "auth_session", signin).pk)
    body = case.body
    if not isinstance(body, dict):
        return
    tokens = getattr(signin, "tokens", None)
    if tokens is not None and isinstance(body.get("refresh"), str) and _heads(body["refresh"]):
        body["refresh"] = tokens.refresh
    if case.operation.path == "/api/auth/login/" and _heads(body.get("username")):
        body.update(username="alice", password="alice")


def _heads(value: Any) -> bool:
    return sum(map(ord, repr(value))) % 2 == 0


if schemathesis is not None:
    # Random security parameters (cookies, CSRF header) travel next to the bearer token, which must win.
    with_bearer = _load(security_parameters=True)
    with_session = _load(security_parameters=False)

    @with_bearer.parametrize()
    def test_api_with_a_bearer_token(case: Any, db: None) -> None:
        exercise(case, bearer)

    @with_session.parametrize()
    def test_api_with_a_session(case: Any, db: None) -> None:
        exercise(case, session)

else:  # pragma: no cover

    def test_schemathesis_is_installed() -> None:
        unavailable("schemathesis is not installed (pip install dualauth[test])")
