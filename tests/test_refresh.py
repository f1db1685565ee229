"""Refresh-token rotation: a new pair each time, the old one blacklisted, re-use ends the sign-in."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from dualauth import services, signals
from dualauth.exceptions import SignInRefused
from dualauth.models import AuthSession
from dualauth.tokens import RefreshToken

from .conftest import SignInClient, rewrite_sign_in
from .forge import claims

pytestmark = pytest.mark.django_db


def _jti(raw: str) -> str:
    from dualauth.tokens import RefreshToken

    return RefreshToken(raw)["jti"]  # type: ignore[return-value]


def test_rotation_blacklists_the_old_refresh_token(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    first = client.refresh
    assert client.do_refresh().status_code == 200
    assert client.refresh != first
    row = AuthSession.objects.get(pk=client.session_id)
    assert row.refresh_jti == _jti(client.refresh)
    assert BlacklistedToken.objects.filter(token__jti=_jti(first)).exists()
    assert not BlacklistedToken.objects.filter(token__jti=_jti(client.refresh)).exists()
    assert OutstandingToken.objects.get(jti=_jti(client.refresh)).token == f"sid:{client.session_id}"


@pytest.mark.requirement("ASVS-V10.4.5", "RFC9700-4.14.2")
def test_every_refresh_rotates_and_the_used_token_is_dead(jwt_signed_in: SignInClient) -> None:
    used = jwt_signed_in.copy()
    assert jwt_signed_in.do_refresh().status_code == 200
    assert used.do_refresh().status_code == 401


@pytest.mark.requirement("ASVS-V10.4.5", "RFC9700-4.14.2")
def test_reuse_of_a_rotated_refresh_token_revokes_the_sign_in(jwt_signed_in: SignInClient, capture_signal: Any) -> None:
    """A thief replays the token the victim just rotated: the whole family ends, the victim's newest tokens too."""
    attacker = jwt_signed_in.copy()
    presented = attacker.refresh or attacker.client.cookies["dualauth_refresh"].value
    sent = capture_signal(signals.refresh_reuse_detected)
    assert jwt_signed_in.do_refresh().status_code == 200
    reused = attacker.do_refresh()
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_reused"
    assert reused.json()["detail"] == str(services.ENDED)
    assert len(sent) == 1
    row = AuthSession.objects.get(pk=jwt_signed_in.session_id)
    assert (sent[0]["sender"], sent[0]["auth_session"].pk) == (AuthSession, row.pk)
    assert sent[0]["jti"] == RefreshToken(presented)["jti"]
    assert sent[0]["request"] is not None
    assert row.revoked_reason == "refresh_reuse"
    assert jwt_signed_in.get("/api/auth/me/").status_code == 401
    assert jwt_signed_in.do_refresh().status_code == 401


@pytest.mark.requirement("RFC9700-4.14.2")
def test_a_thief_who_rotates_first_loses_the_family_when_the_victim_returns(jwt_signed_in: SignInClient) -> None:
    """Whichever party rotates second ends the family, the first one's new tokens included."""
    thief = jwt_signed_in.copy()
    assert thief.do_refresh().status_code == 200
    assert jwt_signed_in.do_refresh().status_code == 401
    assert thief.get("/api/auth/me/").status_code == 401


@pytest.mark.requirement("ASVS-V10.4.9")
def test_a_user_can_revoke_a_refresh_token_family(jwt_signed_in: SignInClient) -> None:
    """From another of their sign-ins; the ended sign-in's refresh token dies with it."""
    other = SignInClient("header")
    other.login("alice", kind="jwt")
    assert other.delete(f"/api/auth/sessions/{jwt_signed_in.session_id}/").status_code == 204
    assert jwt_signed_in.do_refresh().status_code == 401


@pytest.mark.requirement("ASVS-V3.3.4")
def test_cookie_refresh_keeps_tokens_out_of_the_body(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V3.3.4, OWASP JWT cheat sheet (token storage): with cookie transport the tokens travel in
    Set-Cookie alone, never in a body script could read, at login or at refresh."""
    use_mode("jwt")
    client = SignInClient("cookie")
    login = client.login("alice")
    assert "access" not in login.json()
    assert "refresh" not in login.json()
    assert {"access_expires_at", "refresh_expires_at"} <= set(login.json())
    for name in ("dualauth_access", "dualauth_refresh"):
        assert client.client.cookies[name].value not in login.content.decode()
    old_access = client.client.cookies["dualauth_access"].value
    response = client.do_refresh()
    assert response.status_code == 200
    assert set(response.json()) == {"access_expires_at", "refresh_expires_at"}
    for name in ("dualauth_access", "dualauth_refresh"):
        assert client.client.cookies[name].value not in response.content.decode()
    assert response.cookies["dualauth_access"].value != old_access
    assert response.cookies["dualauth_refresh"]["httponly"]
    assert response.cookies["dualauth_refresh"]["path"] == "/api/auth/"
    assert response.cookies["dualauth_access"]["path"] == "/"


@pytest.mark.requirement("DA-REFRESH-COOKIE-SCOPE")
def test_only_refresh_and_logout_read_the_refresh_cookie(alice: Any, use_mode: Any) -> None:
    """What docs/api.md says: the browser sends the refresh cookie to every dualauth URL (its path is the mount
    point), and no endpoint but ``token/refresh/`` and ``logout/`` takes it for a credential."""
    use_mode("jwt")
    client = SignInClient("cookie")
    assert client.login("alice").status_code == 200
    del client.client.cookies["dualauth_access"]  # the refresh cookie alone
    assert client.get("/api/auth/me/").status_code == 401
    assert client.get("/api/auth/sessions/").status_code == 401
    assert client.get("/api/notes/").status_code == 401
    assert client.post("/api/auth/sessions/revoke-others/").status_code == 401
    assert client.do_refresh().status_code == 200
    del client.client.cookies["dualauth_access"]
    assert client.post("/api/auth/logout/").status_code == 204
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "logout"


@pytest.mark.requirement("ASVS-V3.5.1")
def test_cookie_refresh_needs_the_csrf_token(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("cookie")
    client.login("alice")
    response = client.client.post("/api/auth/token/refresh/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert AuthSession.objects.get(pk=client.session_id).status == "active"


@pytest.mark.requirement("ASVS-V10.4.8")
def test_rotation_never_extends_past_the_absolute_timeout(alice: Any, use_mode: Any) -> None:
    """The sign-in, its refresh and its access tokens end at sign-in time plus ``SESSION_ABSOLUTE_TIMEOUT``."""
    use_mode("jwt", SESSION_ABSOLUTE_TIMEOUT=3600)
    client = SignInClient("header")
    client.login("alice")
    row = AuthSession.objects.get(pk=client.session_id)
    cap = row.created_at + timedelta(seconds=3600)
    assert row.expires_at <= cap
    for _ in range(3):
        assert client.do_refresh().status_code == 200
        row.refresh_from_db()
        assert row.expires_at <= cap
        assert claims(client.refresh)["exp"] <= int(cap.timestamp())  # type: ignore[arg-type]
        assert claims(client.access)["exp"] <= int(cap.timestamp())  # type: ignore[arg-type]
    # Once the absolute end has passed, the current refresh token's own exp has too.
    rewrite_sign_in(client.session_id, expires_at=timezone.now() - timedelta(seconds=1))
    assert client.do_refresh().json()["code"] == "session_ended"


def test_without_an_absolute_timeout_rotation_keeps_extending(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", SESSION_ABSOLUTE_TIMEOUT=None)
    client = SignInClient("header")
    client.login("alice")
    long_ago = timezone.now() - timedelta(days=3)
    AuthSession.objects.filter(pk=client.session_id).update(created_at=long_ago)
    assert client.do_refresh().status_code == 200
    row = AuthSession.objects.get(pk=client.session_id)
    assert row.expires_at > timezone.now() + timedelta(hours=23)
    assert client.get("/api/auth/me/").status_code == 200


def test_refresh_is_not_found_in_session_mode(use_mode: Any) -> None:
    use_mode("session")
    response = SignInClient("header").post("/api/auth/token/refresh/", {"refresh": "x"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_enabled"


def test_body_refresh_refused_when_only_cookies_are_enabled(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", JWT_TRANSPORTS=["cookie"])
    response = SignInClient("header").post("/api/auth/token/refresh/", {"refresh": "x"})
    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


def test_refresh_without_a_token_is_400(use_mode: Any) -> None:
    use_mode("jwt")
    response = SignInClient("header").post("/api/auth/token/refresh/", {})
    assert response.status_code == 400
    assert response.json()["errors"] == {"refresh": ["This field is required."]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_loser_of_a_refresh_race_gets_a_conflict_not_a_revocation(alice: Any, use_mode: Any) -> None:
    """Two tabs refreshing at once: one wins, the other's conditional update matches no row."""
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    outcome: dict[str, str] = {}

    def racer() -> None:
        try:
            services.refresh(client.refresh, RequestFactory().post("/"))
            outcome["code"] = "won"
        except SignInRefused as refused:
            outcome["code"] = refused.code
        finally:
            connection.close()

    with transaction.atomic():
        # The "winner": rotate the row and hold its lock while the racer reads the old jti.
        AuthSession.objects.filter(pk=client.session_id).update(refresh_jti="rotated-by-the-winner")
        thread = threading.Thread(target=racer)
        thread.start()
        with connection.cursor() as cursor:
            for _ in range(200):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the racing refresh never waited on the row lock")
    thread.join(timeout=10)
    assert outcome["code"] == "refresh_conflict"
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is None


def test_within_the_reuse_grace_the_race_loser_gets_a_401_and_the_sign_in_lives(
    jwt_signed_in: SignInClient, settings: Any
) -> None:
    settings.DUALAUTH = {**settings.DUALAUTH, "REFRESH_REUSE_GRACE": 30}
    loser = jwt_signed_in.copy()
    assert jwt_signed_in.do_refresh().status_code == 200
    late = loser.do_refresh()
    assert late.status_code == 401
    assert late.json()["code"] == "refresh_conflict"
    assert late.json()["detail"] == "This refresh token was just replaced by a concurrent refresh; use the new one."
    assert AuthSession.objects.get(pk=jwt_signed_in.session_id).status == "active"
    assert jwt_signed_in.get("/api/auth/me/").status_code == 200
    assert jwt_signed_in.do_refresh().status_code == 200


def test_a_cookie_refresh_conflict_leaves_the_cookies_alone(alice: Any, use_mode: Any) -> None:
    """Tabs share cookies: the loser's answer can land after the winner's, and must not delete its new tokens."""
    use_mode("jwt", REFRESH_REUSE_GRACE=30)
    winner = SignInClient("cookie")
    winner.login("alice")
    loser = winner.copy()
    assert winner.do_refresh().status_code == 200
    late = loser.do_refresh()
    assert late.json()["code"] == "refresh_conflict"
    assert "dualauth_access" not in late.cookies
    assert "dualauth_refresh" not in late.cookies
    assert AuthSession.objects.get(pk=winner.session_id).status == "active"


def test_after_the_reuse_grace_the_old_token_is_reuse(
    jwt_signed_in: SignInClient, settings: Any, monkeypatch: Any
) -> None:
    settings.DUALAUTH = {**settings.DUALAUTH, "REFRESH_REUSE_GRACE": 30}
    loser = jwt_signed_in.copy()
    assert jwt_signed_in.do_refresh().status_code == 200
    later = timezone.now() + timedelta(seconds=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert loser.do_refresh().json()["code"] == "refresh_reused"
    assert AuthSession.objects.get(pk=jwt_signed_in.session_id).revoked_reason == "refresh_reuse"


def test_a_token_rotated_within_the_grace_is_a_conflict_even_after_later_rotations(alice: Any, use_mode: Any) -> None:
    """The tab that won a race may rotate again before the other tabs' requests are read: they still conflict."""
    use_mode("jwt", REFRESH_REUSE_GRACE=30)
    client = SignInClient("header")
    client.login("alice")
    two_back = client.refresh
    assert client.do_refresh().status_code == 200
    assert client.do_refresh().status_code == 200
    stale = SignInClient("header")
    stale.refresh = two_back
    assert stale.do_refresh().json()["code"] == "refresh_conflict"
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is None
    assert client.get("/api/auth/me/").status_code == 200
    assert client.do_refresh().status_code == 200


def test_each_token_has_its_own_grace(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    """A token rotated longer ago than the grace is re-use, even though the last rotation was a moment ago."""
    use_mode("jwt", REFRESH_REUSE_GRACE=30)
    client = SignInClient("header")
    client.login("alice")
    first = client.refresh
    assert client.do_refresh().status_code == 200  # `first` rotated now
    second = client.refresh
    later = timezone.now() + timedelta(seconds=31)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.do_refresh().status_code == 200  # `second` rotated 31 s after `first`
    stale = SignInClient("header")
    stale.refresh = second
    assert stale.do_refresh().json()["code"] == "refresh_conflict"  # rotated just now
    stale.refresh = first
    assert stale.do_refresh().json()["code"] == "refresh_reused"  # rotated 31 s ago
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "refresh_reuse"


def test_without_a_grace_the_race_loser_ends_the_sign_in(jwt_signed_in: SignInClient) -> None:
    """REFRESH_REUSE_GRACE = 0 (the default): any presentation of a rotated token is re-use (RFC 9700 §4.14.2)."""
    loser = jwt_signed_in.copy()
    assert jwt_signed_in.do_refresh().status_code == 200
    assert loser.do_refresh().json()["code"] == "refresh_reused"
    assert jwt_signed_in.get("/api/auth/me/").status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("grace", [0, 30])
def test_racing_refreshes_never_yield_two_live_token_families(alice: Any, use_mode: Any, grace: int) -> None:
    """Eight threads refresh with the same token at once: one new pair, every other answer a 401."""
    use_mode("jwt", REFRESH_REUSE_GRACE=grace)
    client = SignInClient("header")
    client.login("alice")
    start = threading.Barrier(8)
    issued: list[str] = []
    refused: list[str] = []

    def racer() -> None:
        try:
            start.wait()
            issued.append(services.refresh(client.refresh, RequestFactory().post("/")).tokens.refresh)  # type: ignore[union-attr]
        except SignInRefused as refusal:
            refused.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    row = AuthSession.objects.get(pk=client.session_id)
    live = [token for token in issued if _jti(token) == row.refresh_jti and row.revoked_at is None]
    assert len(issued) <= 1
    assert len(refused) == 8 - len(issued)
    if grace:
        assert len(live) == 1
        assert set(refused) == {"refresh_conflict"}
    else:
        assert len(live) <= 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("tabs", [2, 6, 20])
@pytest.mark.parametrize("flavour", ["header", "cookie"])
def test_tabs_refreshing_at_once_get_one_winner_and_the_sign_in_lives(
    alice: Any, use_mode: Any, tabs: int, flavour: str
) -> None:
    """Every tab presents the same refresh token at once, over HTTP; the tab that wins renews again at once, as
    a tab whose call was refused meanwhile would. One winner, every other tab a retryable conflict, the sign-in
    alive, the winner's newest tokens working. On PostgreSQL, in both state stores (the two PostgreSQL runs)."""
    use_mode("jwt", REFRESH_REUSE_GRACE=10)
    first = SignInClient(flavour)
    assert first.login("alice").status_code == 200
    browser = [first.copy() for _ in range(tabs)]
    start = threading.Barrier(tabs)
    answers: list[Any] = []
    renewed: list[int] = []

    def tab(client: SignInClient) -> None:
        try:
            start.wait()
            answer = client.do_refresh()
            answers.append(answer.status_code if answer.status_code == 200 else answer.json()["code"])
            if answer.status_code == 200:
                renewed.append(client.do_refresh().status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tab, args=(client,)) for client in browser]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers, key=str) == sorted([200] + ["refresh_conflict"] * (tabs - 1), key=str)
    assert renewed == [200]
    row = AuthSession.objects.get(pk=first.session_id)
    assert row.revoked_at is None

    def newest(client: SignInClient) -> str:
        return client.refresh if flavour == "header" else client.client.cookies["dualauth_refresh"].value  # type: ignore[return-value]

    (winner,) = [client for client in browser if _jti(newest(client)) == row.refresh_jti]
    assert winner.get("/api/auth/me/").status_code == 200
