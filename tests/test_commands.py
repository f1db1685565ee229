"""Management commands: ``dualauth_revoke`` and ``dualauth_cleanup``, each with help and a summary."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from dualauth.models import AuthSession
from dualauth.stores import SignInState
from dualauth.stores.redis_entries import KEY_PREFIX, encode

from .conftest import SignInClient, rewrite_sign_in

pytestmark = pytest.mark.django_db


def _run(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def _signed_in(username: str, flavour: str) -> SignInClient:
    client = SignInClient(flavour)
    assert client.login(username).status_code == 200
    return client


def _me(*clients: SignInClient) -> list[int]:
    return [client.get("/api/auth/me/").status_code for client in clients]


@pytest.fixture
def everyone(alice: Any, bob: Any, use_mode: Any) -> dict[str, SignInClient]:
    use_mode("hybrid")
    return {
        "alice-session": _signed_in("alice", "session"),
        "alice-jwt": _signed_in("alice", "header"),
        "bob-session": _signed_in("bob", "session"),
        "bob-jwt": _signed_in("bob", "cookie"),
    }


@pytest.mark.parametrize("name", ["dualauth_revoke", "dualauth_cleanup"])
def test_each_command_explains_itself(name: str) -> None:
    text = load_command_class("dualauth", name).create_parser("manage.py", name).format_help()
    assert "REVOKED_RETENTION" in text if name == "dualauth_cleanup" else "--kind" in text


def test_revoke_one_user(everyone: dict[str, SignInClient]) -> None:
    assert _run("dualauth_revoke", "--user", "alice") == "Revoked 2 sign-ins of alice.\n"
    assert _me(*everyone.values()) == [401, 401, 200, 200]
    assert set(AuthSession.objects.filter(user__username="alice").values_list("revoked_reason", flat=True)) == {"admin"}


def test_revoke_one_kind_of_one_user(everyone: dict[str, SignInClient]) -> None:
    assert _run("dualauth_revoke", "--user", "alice", "--kind", "jwt") == "Revoked 1 jwt sign-ins of alice.\n"
    assert _me(*everyone.values()) == [200, 401, 200, 200]


def test_revoke_everyone(everyone: dict[str, SignInClient]) -> None:
    assert _run("dualauth_revoke", "--all", "--noinput") == "Revoked 4 sign-ins of 2 user(s).\n"
    assert _me(*everyone.values()) == [401, 401, 401, 401]


def test_revoke_everyone_of_one_kind(everyone: dict[str, SignInClient]) -> None:
    assert _run("dualauth_revoke", "--all", "--kind", "session", "--noinput") == (
        "Revoked 2 session sign-ins of 2 user(s).\n"
    )
    assert _me(*everyone.values()) == [401, 200, 401, 200]


def test_revoke_everyone_asks_first(everyone: dict[str, SignInClient], monkeypatch: Any) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="nothing was revoked"):
        _run("dualauth_revoke", "--all")
    assert _me(*everyone.values()) == [200, 200, 200, 200]


def test_revoke_everyone_goes_ahead_on_yes(everyone: dict[str, SignInClient], monkeypatch: Any) -> None:
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "yes")
    assert _run("dualauth_revoke", "--all") == "Revoked 4 sign-ins of 2 user(s).\n"
    (prompt,) = prompts
    assert prompt == "This ends all live sign-ins of every user. Type 'yes' to continue: "
    assert _me(*everyone.values()) == [401, 401, 401, 401]


def test_revoke_everyone_without_a_terminal_to_ask_revokes_nothing(
    everyone: dict[str, SignInClient], monkeypatch: Any
) -> None:
    """Run from cron or a pipe without --noinput, the question meets end of input: that is a no."""

    def end_of_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", end_of_input)
    with pytest.raises(CommandError, match=r"^Cancelled; nothing was revoked\. \(--noinput skips this question\.\)$"):
        _run("dualauth_revoke", "--all")
    assert _me(*everyone.values()) == [200, 200, 200, 200]


@pytest.mark.parametrize("args", [(), ("--user", "alice", "--all"), ("--all", "--kind", "oauth")])
def test_revoke_needs_exactly_one_target(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        _run("dualauth_revoke", *args)


def test_revoke_an_unknown_user(db: Any) -> None:
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        _run("dualauth_revoke", "--user", "nobody")


def test_cleanup_keeps_the_audit_trail_for_the_retention_and_no_longer(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid", REVOKED_RETENTION=3600, SESSION_IDLE_TIMEOUT=600)
    now = timezone.now()
    rows = {name: _signed_in("alice", "header").session_id for name in ("live", "recent", "old", "expired", "idle")}
    rewrite_sign_in(rows["recent"], revoked_at=now - timedelta(minutes=59), revoked_reason="admin")
    rewrite_sign_in(rows["old"], revoked_at=now - timedelta(minutes=61), revoked_reason="admin")
    rewrite_sign_in(rows["expired"], expires_at=now - timedelta(minutes=61))
    rewrite_sign_in(rows["idle"], last_seen_at=now - timedelta(minutes=72))
    out = _run("dualauth_cleanup")
    assert out.startswith("Deleted 3 ended sign-in(s) older than 3600 s")
    assert set(AuthSession.objects.values_list("pk", flat=True)) == {
        AuthSession.objects.get(pk=rows["live"]).pk,
        AuthSession.objects.get(pk=rows["recent"]).pk,
    }


def test_cleanup_drops_expired_refresh_tokens_and_their_blacklist_entries(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = _signed_in("alice", "header")
    assert client.do_refresh().status_code == 200  # the first token is now blacklisted
    assert BlacklistedToken.objects.count() == 1
    OutstandingToken.objects.filter(blacklistedtoken__isnull=False).update(expires_at=timezone.now())
    assert "and 1 expired refresh token(s)" in _run("dualauth_cleanup")
    assert BlacklistedToken.objects.count() == 0
    assert OutstandingToken.objects.count() == 1
    assert client.do_refresh().status_code == 200


def test_cleanup_heals_a_stale_entry_in_the_redis_store(alice: Any, use_mode: Any, redis_cache: str) -> None:
    """A revocation whose cache write was lost (its process died mid-outage) is written again."""
    use_mode("jwt", STORE="redis")
    client = _signed_in("alice", "header")
    row = AuthSession.objects.get(pk=client.session_id)
    call_command("dualauth_revoke", "--user", "alice", stdout=io.StringIO())
    raw = redis.Redis.from_url(redis_cache)
    (key,) = raw.keys(f"*{KEY_PREFIX}{row.pk}")
    raw.set(key, encode(SignInState.of(row)), px=60_000)  # the live entry the lost write left behind
    assert _me(client) == [200]
    assert "re-sent 1 revocation(s)" in _run("dualauth_cleanup")
    assert json.loads(raw.get(key))["r"] == 1  # type: ignore[arg-type]
    assert _me(client) == [401]


def test_cleanup_works_in_batches(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    from dualauth import services

    use_mode("jwt", REVOKED_RETENTION=0)
    monkeypatch.setattr(services.retention, "CLEANUP_BATCH", 2)
    for _ in range(5):
        client = _signed_in("alice", "header")
        rewrite_sign_in(client.session_id, revoked_at=timezone.now() - timedelta(seconds=1), revoked_reason="admin")
    assert _run("dualauth_cleanup").startswith("Deleted 5 ended sign-in(s)")
    assert not AuthSession.objects.exists()


def test_cleanup_while_the_state_store_is_unreachable_fails_and_says_to_run_again(alice: Any, redis_store: Any) -> None:
    """Cleanup is what heals a missed write: it must not report success when its own writes missed too."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from dualauth import services

    from .redis_server import spare_port

    redis_store(
        f"redis://127.0.0.1:{spare_port()}/0",  # nothing listens there
        mode="jwt",
        SOCKET_CONNECT_TIMEOUT=0.2,
        CONNECTION_POOL_KWARGS={"retry": Retry(NoBackoff(), 0)},
    )
    client = _signed_in("alice", "header")
    services.revoke(client.session_id, "admin")  # type: ignore[arg-type]
    with pytest.raises(CommandError) as failed:
        _run("dualauth_cleanup")
    assert str(failed.value).endswith("The state store is unreachable: run this again once it is back.")
    assert str(failed.value).startswith("Deleted 0 ended sign-in(s) older than ")
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "admin"
