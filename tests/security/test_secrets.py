"""Secrets at rest and in sight (ASVS 5.0 V16.2.5, V14.2.1): never logged, never answered, not stored raw."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from dualauth import services

from ..conftest import SignInClient

pytestmark = pytest.mark.django_db


def _flow(alice: Any, use_mode: Any) -> tuple[list[str], SignInClient]:
    """Every event dualauth logs, with the secrets it handled along the way."""
    use_mode("hybrid")
    session, header, cookie = SignInClient("session"), SignInClient("header"), SignInClient("cookie")
    session.login("alice")
    header.login("alice", kind="jwt")
    cookie.login("alice", kind="jwt")
    stolen = header.refresh
    header.do_refresh()
    thief = SignInClient("header")
    thief.refresh = stolen
    thief.do_refresh()  # re-use
    SignInClient("header").login("alice", "wrong", kind="jwt")
    cookie.do_refresh()
    services.revoke(session.session_id, "admin")  # type: ignore[arg-type]
    secrets = [
        stolen,
        header.access,
        header.refresh,
        session.client.cookies["sessionid"].value,
        cookie.client.cookies["dualauth_access"].value,
        cookie.client.cookies["dualauth_refresh"].value,
        "alice",  # the password
    ]
    return [s for s in secrets if s], header


def test_no_token_session_key_or_password_is_ever_logged(
    alice: Any, use_mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """ASVS 5.0 V16.2.5: logs name sign-ins by id, never by the secret that carries them."""
    caplog.set_level(logging.DEBUG)
    secrets, _ = _flow(alice, use_mode)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert logged
    for secret in secrets[:-1]:
        assert secret not in logged
    assert "password" not in logged.lower()


def test_authentication_events_are_logged_under_dualauth(
    alice: Any, use_mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """ASVS 5.0 V16 (security logging): sign-ins, failures, re-use and revocations leave a trail in `dualauth`."""
    caplog.set_level(logging.INFO, logger="dualauth")
    _flow(alice, use_mode)
    messages = [r.getMessage() for r in caplog.records if r.name == "dualauth"]
    assert any("sign-in" in m and "started" in m for m in messages)
    assert any("failed login" in m for m in messages)
    assert any("re-used" in m for m in messages)
    assert any("revoked (admin)" in m for m in messages)
    assert any("revoked (refresh_reuse)" in m for m in messages)


def test_api_answers_never_carry_session_keys_or_token_ids(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V14.2.1-style minimisation: the sign-in list shows ids and metadata, not what authenticates."""
    secrets, header = _flow(alice, use_mode)
    listing = header.get("/api/auth/sessions/")
    me = header.get("/api/auth/me/")
    text = listing.content.decode() + me.content.decode()
    for secret in secrets[:-1]:
        assert secret not in text
    for field in ("session_key", "refresh_jti", "jti", "revoked_reason"):
        assert field not in text


def test_outstanding_tokens_are_stored_without_their_text(alice: Any, use_mode: Any) -> None:
    """A database leak of simplejwt's outstanding-token table must not hand out live refresh tokens."""
    _flow(alice, use_mode)
    assert OutstandingToken.objects.exists()
    stored = set(OutstandingToken.objects.values_list("token", flat=True))
    assert all(text.startswith("sid:") and "." not in text for text in stored)  # the sign-in's id, never a JWT
