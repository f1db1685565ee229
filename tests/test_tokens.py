"""Tokens carry `sid`, follow SIMPLE_JWT at call time, and pin the algorithm."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from dualauth.models import AuthSession
from dualauth.tokens import AccessToken, RefreshToken

from .conftest import SignInClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def header_client(alice: Any, use_mode: Any) -> SignInClient:
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    return client


def test_both_tokens_carry_the_sid(header_client: SignInClient) -> None:
    assert AccessToken(header_client.access)["sid"] == header_client.session_id  # type: ignore[arg-type]
    assert RefreshToken(header_client.refresh)["sid"] == header_client.session_id  # type: ignore[arg-type]


def test_simple_jwt_overrides_reach_token_lifetimes(alice: Any, use_mode: Any, settings: Any) -> None:
    use_mode("jwt")
    settings.SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(seconds=30), "REFRESH_TOKEN_LIFETIME": timedelta(hours=2)}
    client = SignInClient("header")
    client.login("alice")
    now = time.time()
    assert abs(AccessToken(client.access)["exp"] - (now + 30)) < 5  # type: ignore[arg-type]
    assert abs(RefreshToken(client.refresh)["exp"] - (now + 7200)) < 5  # type: ignore[arg-type]


def test_signing_key_override_is_used(header_client: SignInClient, settings: Any) -> None:
    settings.SIMPLE_JWT = {"SIGNING_KEY": "another-key-that-is-long-enough-for-hs256-0123456789"}
    assert header_client.get("/api/auth/me/").status_code == 401


def test_expired_access_token_is_refused(alice: Any, use_mode: Any, settings: Any) -> None:
    use_mode("jwt")
    settings.SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(seconds=-1)}
    client = SignInClient("header")
    client.login("alice")
    assert client.get("/api/auth/me/").status_code == 401


def test_legacy_tokens_are_adopted_only_when_enabled(alice: Any, use_mode: Any) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefresh

    use_mode("jwt")
    legacy = SimpleRefresh.for_user(alice)
    client = SignInClient("header")
    client.access, client.refresh = str(legacy.access_token), str(legacy)
    assert client.get("/api/auth/me/").status_code == 401
    assert client.do_refresh().status_code == 401

    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    client.access, client.refresh = str(legacy.access_token), str(legacy)
    assert client.get("/api/auth/me/").json()["session_id"] is None
    assert client.do_refresh().status_code == 200
    row = AuthSession.objects.get()
    assert AccessToken(client.access)["sid"] == str(row.pk)  # type: ignore[arg-type]
    client.access, client.refresh = str(legacy.access_token), str(legacy)
    assert client.do_refresh().status_code == 401  # the legacy refresh token was used up


def test_check_revocation_off_accepts_revoked_access_tokens(header_client: SignInClient, use_mode: Any) -> None:
    from dualauth import services

    other = SignInClient("header")
    other.login("alice")
    services.revoke(header_client.session_id, "admin")  # type: ignore[arg-type]
    use_mode("jwt", CHECK_REVOCATION=False)
    me = header_client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["session_id"] == header_client.session_id  # unchecked, but still known
    assert header_client.do_refresh().status_code == 401  # refresh always checks
    assert other.post("/api/auth/sessions/revoke-others/").json() == {"revoked": 0}
    assert other.do_refresh().status_code == 200


def test_extra_claims_hook(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", TOKEN_CLAIMS_HOOK="tests.test_tokens.claims_hook")
    client = SignInClient("header")
    client.login("alice")
    access = AccessToken(client.access)  # type: ignore[arg-type]
    assert access["role"] == "reader"
    assert access["sid"] == client.session_id


def claims_hook(user: Any) -> dict:
    return {"role": "reader", "sid": "overridden?"}
