"""Refresh tokens (ASVS 5.0 V10.4.5/V10.4.8/V10.4.9, RFC 9700 §4.14.2): rotation, re-use, absolute life."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dualauth.models import AuthSession

from ..conftest import SignInClient
from .forge import claims

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(alice: Any, jwt_flavour: str) -> SignInClient:
    client = SignInClient(jwt_flavour)
    assert client.login("alice").status_code == 200
    return client


def test_every_refresh_rotates_and_invalidates_the_used_token(app: SignInClient) -> None:
    """ASVS 5.0 V10.4.5 / RFC 9700 §4.14.2: a new refresh token each time; the used one is dead."""
    used = app.copy()
    assert app.do_refresh().status_code == 200
    assert used.do_refresh().status_code == 401


def test_reuse_of_a_rotated_token_revokes_the_whole_family(app: SignInClient) -> None:
    """ASVS 5.0 V10.4.5 / RFC 9700 §4.14.2: presenting an invalidated refresh token revokes the active one too."""
    thief = app.copy()
    assert app.do_refresh().status_code == 200  # the victim rotates first
    assert thief.do_refresh().json()["code"] == "refresh_reused"  # the thief replays the old one
    assert app.do_refresh().status_code == 401  # the family is gone: the victim's newest refresh token too
    assert app.get("/api/auth/me/").status_code == 401  # and its newest access token
    assert AuthSession.objects.get(pk=app.session_id).revoked_reason == "refresh_reuse"


def test_a_thief_who_rotates_first_loses_the_family_when_the_victim_returns(app: SignInClient) -> None:
    """RFC 9700 §4.14.2: whichever party rotates second triggers the revocation of both."""
    thief = app.copy()
    assert thief.do_refresh().status_code == 200
    assert app.do_refresh().status_code == 401
    assert thief.get("/api/auth/me/").status_code == 401


def test_rotation_cannot_extend_past_the_absolute_lifetime(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V10.4.8: refresh tokens expire absolutely — first sign-in time plus SESSION_ABSOLUTE_TIMEOUT."""
    use_mode("jwt", SESSION_ABSOLUTE_TIMEOUT=3600)
    client = SignInClient("header")
    client.login("alice")
    row = AuthSession.objects.get(pk=client.session_id)
    end = int((row.created_at + timedelta(seconds=3600)).timestamp())
    for _ in range(3):
        assert client.do_refresh().status_code == 200
        assert claims(client.refresh)["exp"] <= end  # type: ignore[arg-type]
        assert claims(client.access)["exp"] <= end  # type: ignore[arg-type]
    # Once the absolute end has passed, the current refresh token's own exp has too.
    AuthSession.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.do_refresh().json()["code"] == "session_ended"


def test_a_user_can_revoke_a_refresh_token_family(app: SignInClient) -> None:
    """ASVS 5.0 V10.4.9: the user ends a token sign-in from another sign-in; its refresh token dies."""
    other = SignInClient("header")
    other.login("alice", kind="jwt")
    assert other.delete(f"/api/auth/sessions/{app.session_id}/").status_code == 204
    assert app.do_refresh().status_code == 401


def test_refresh_never_revives_an_ended_sign_in(app: SignInClient) -> None:
    """ASVS 5.0 V7.4.1: after logout the refresh token is as dead as the access token."""
    thief = app.copy()
    assert app.post("/api/auth/logout/").status_code == 204
    assert thief.do_refresh().status_code == 401
