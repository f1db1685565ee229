"""Login brute force and user enumeration (ASVS 5.0 V6.3.1, V6.3.8): throttled, shared, indistinguishable."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from ..conftest import SignInClient
from ..hashers import CountingMD5PasswordHasher

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_hasher(settings: Any) -> type[CountingMD5PasswordHasher]:
    settings.PASSWORD_HASHERS = ["tests.hashers.CountingMD5PasswordHasher"]
    CountingMD5PasswordHasher.calls.clear()
    return CountingMD5PasswordHasher


def test_throttled_per_username_across_ips(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V6.3.1: a password-guessing run against one account is stopped whatever IPs it comes from."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="3/min")
    codes = [
        SignInClient("header").login("alice", "guess", REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]


def test_throttled_per_ip_across_usernames_with_retry_after(use_mode: Any) -> None:
    """ASVS 5.0 V6.3.1: password spraying from one address is stopped; 429 says when to come back."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="3/min")
    client = SignInClient("header")
    codes = [client.login(f"user{n}", "guess").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    response = client.login("user9", "guess")
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"


def test_throttle_state_lives_in_the_shared_cache(alice: Any, use_mode: Any, redis_cache: str) -> None:
    """Counts are kept in the configured cache (Redis here), so every process of the site shares them."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min")
    SignInClient("header").login("alice", "guess")
    keys = redis.Redis.from_url(redis_cache).keys("*throttle_dualauth_login_*")
    assert len(keys) == 2  # one for the IP, one for the username
    SignInClient("header").login("alice", "guess", REMOTE_ADDR="203.0.113.5")
    assert SignInClient("header").login("alice", "guess", REMOTE_ADDR="203.0.113.6").status_code == 429


@pytest.mark.parametrize("username", ["nobody", "alice", "inactive"])
def test_unknown_inactive_and_wrong_password_look_the_same(
    alice: Any, make_user: Any, use_mode: Any, counting_hasher: Any, username: str
) -> None:
    """ASVS 5.0 V6.3.8: same answer and the same hashing work, whether or not the account exists."""
    use_mode("jwt", LOGIN_THROTTLE_RATE=None)
    make_user("inactive", is_active=False)
    alice.set_password("the-real-one")
    alice.save()
    counting_hasher.calls.clear()
    response = SignInClient("header").login(username, "not-the-password")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Unable to sign in with the given credentials.",
        "code": "invalid_credentials",
    }
    assert counting_hasher.calls.count("encode") == 1  # one real hashing run in every case
