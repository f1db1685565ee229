"""`manage.py check --deploy`: settings that work but weaken dualauth's promises (RFC 8725 §3.5, ASVS 5.0 V3.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command

from dualauth.checks import check_deployment

from .redis_server import RedisServer, spare_port

STRONG = "k" * 64


def _ids(settings: Any, simple_jwt: dict | None = None, **dualauth: Any) -> list[str]:
    settings.DUALAUTH = {"MODE": "jwt", **dualauth}
    settings.SIMPLE_JWT = {"SIGNING_KEY": STRONG, **(simple_jwt or {})}
    return [m.id for m in check_deployment()]


def test_a_strong_separate_key_is_clean(settings: Any) -> None:
    assert _ids(settings) == []


@pytest.mark.requirement("DA-DEPLOY-CHECKS")
def test_signing_key_equal_to_secret_key(settings: Any) -> None:
    """Key separation: one leaked or rotated secret must not be both the session signer and the JWT key."""
    assert _ids(settings, {"SIGNING_KEY": settings.SECRET_KEY}) == ["dualauth.W001"]


@pytest.mark.requirement("RFC8725-3.5", "DA-DEPLOY-CHECKS")
@pytest.mark.parametrize(("algorithm", "length"), [("HS256", 31), ("HS384", 47), ("HS512", 63)])
def test_hmac_key_shorter_than_the_algorithm_needs(settings: Any, algorithm: str, length: int) -> None:
    """RFC 8725 §3.5, RFC 7518 §3.2: an HMAC key at least as long as the hash output."""
    assert _ids(settings, {"ALGORITHM": algorithm, "SIGNING_KEY": "k" * length}) == ["dualauth.W002"]
    assert _ids(settings, {"ALGORITHM": algorithm, "SIGNING_KEY": "k" * (length + 1)}) == []


@pytest.mark.requirement("ASVS-V3.3.1", "DA-DEPLOY-CHECKS")
def test_insecure_cookies_outside_debug(settings: Any) -> None:
    """ASVS 5.0 V3.3.1: turning Secure off is allowed, and flagged when DEBUG is off."""
    settings.DEBUG = False
    assert _ids(settings, COOKIE_SECURE=False) == ["dualauth.W003"]
    settings.DEBUG = True
    assert _ids(settings, COOKIE_SECURE=False) == []
    settings.DEBUG = False
    assert _ids(settings, COOKIE_SECURE=False, JWT_TRANSPORTS=["header"]) == []  # no token cookies at all


@pytest.mark.requirement("ASVS-V7.4.1", "DA-DEPLOY-CHECKS")
def test_revocation_checks_off(settings: Any) -> None:
    """ASVS 5.0 V7.4.1: without the sid check a killed sign-in's access token lives until it expires."""
    assert _ids(settings, CHECK_REVOCATION=False) == ["dualauth.W004"]


@pytest.mark.requirement("ASVS-V9.2.1", "DA-DEPLOY-CHECKS")
@pytest.mark.parametrize("leeway", [61, timedelta(minutes=5)])
def test_unbounded_leeway(settings: Any, leeway: Any) -> None:
    """ASVS 5.0 V9.2.1: clock-skew leeway stays small, or exp means little."""
    assert _ids(settings, {"LEEWAY": leeway}) == ["dualauth.W005"]


def test_session_mode_does_not_judge_jwt_keys(settings: Any) -> None:
    settings.DUALAUTH = {"MODE": "session"}
    settings.SIMPLE_JWT = {"SIGNING_KEY": settings.SECRET_KEY}
    assert check_deployment() == []


@pytest.mark.requirement("DA-DEPLOY-CHECKS")
def test_check_deploy_reports_them(settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    settings.DUALAUTH = {"MODE": "jwt", "CHECK_REVOCATION": False}
    call_command("check", "--deploy", "--fail-level", "CRITICAL")
    assert "dualauth.W004" in capsys.readouterr().err


@pytest.mark.requirement("DA-DEPLOY-CHECKS")
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"), ["dualauth.W006"]),
        (("--maxmemory", "64mb", "--maxmemory-policy", "volatile-ttl"), ["dualauth.W006"]),
        (("--maxmemory", "64mb", "--maxmemory-policy", "noeviction"), []),
        (("--maxmemory-policy", "allkeys-lru"), []),  # no memory limit: nothing is ever evicted
    ],
)
def test_a_redis_store_that_evicts_is_reported(settings: Any, options: tuple[str, ...], expected: list[str]) -> None:
    """Eviction cannot un-revoke (a miss goes to the database), but it costs reads and Redis sessions: say so."""
    server = RedisServer(*options)
    server.start()
    try:
        settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": server.url}}
        assert _ids(settings, STORE="redis") == expected
        if expected:
            (warning,) = check_deployment()
            assert f"maxmemory-policy {options[-1]!r}" in warning.msg
    finally:
        server.close()


def test_an_unreachable_redis_does_not_fail_the_deploy_check(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{spare_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    assert _ids(settings, STORE="redis") == []
