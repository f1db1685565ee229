"""Login brute force and user enumeration (ASVS 5.0 V6.3.1, V6.3.8): throttled, shared, indistinguishable."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from asgiref.sync import async_to_sync
from django.contrib import auth
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from dualauth import login_counts, throttling
from dualauth.models import AuthSession

from .conftest import SignInClient, require_programs
from .hashers import CountingMD5PasswordHasher
from .redis_server import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting_hasher(settings: Any) -> type[CountingMD5PasswordHasher]:
    settings.PASSWORD_HASHERS = ["tests.hashers.CountingMD5PasswordHasher"]
    CountingMD5PasswordHasher.calls.clear()
    return CountingMD5PasswordHasher


@pytest.mark.requirement("ASVS-V6.3.1")
def test_throttled_per_username_across_ips(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V6.3.1: a password-guessing run against one account is stopped whatever IPs it comes from."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="3/min")
    codes = [_login("alice", "guess", ip=f"198.51.100.{n}") for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]


@pytest.mark.requirement("ASVS-V6.3.1")
def test_throttled_per_ip_across_usernames_with_retry_after(use_mode: Any) -> None:
    """ASVS 5.0 V6.3.1: password spraying from one address is stopped; 429 says when to come back."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="3/min")
    client = SignInClient("header")
    codes = [client.login(f"user{n}", "guess").status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]
    response = client.login("user9", "guess")
    # A sliding window estimated from two periods: the full count fades out over the next period.
    assert 0 < int(response["Retry-After"]) <= 120
    assert response.json()["code"] == "throttled"


def test_throttle_can_be_switched_off(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", LOGIN_THROTTLE_RATE=None)
    client = SignInClient("header")
    assert all(client.login("alice", "wrong").status_code == 401 for _ in range(15))


def test_throttle_state_lives_in_the_shared_cache(alice: Any, use_mode: Any, redis_cache: str) -> None:
    """Counts are kept in the configured cache (Redis here), so every process of the site shares them."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min")
    SignInClient("header").login("alice", "guess")
    keys = redis.Redis.from_url(redis_cache).keys("*dualauth:login:*")
    kinds = {key.decode().split(":")[4] for key in keys}
    assert kinds == {"ip", "account", "flight"}  # the address, the account's failures, its checks in flight
    _login("alice", "guess", ip="203.0.113.5")
    assert _login("alice", "guess", ip="203.0.113.6") == 429


@pytest.mark.requirement("ASVS-V6.3.8")
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
    assert not AuthSession.objects.exists()


# Every door that checks a password shares the limiter -------------------------------------------------


def _login(username: Any, password: str, ip: str = "127.0.0.1") -> int:
    """One API login from ``ip`` (SignInClient.login's keywords go into the body)."""
    body = {"username": username, "password": password, "kind": "jwt", "transport": "header"}
    answer = SignInClient("header").post("/api/auth/login/", body, REMOTE_ADDR=ip)
    return int(answer.status_code)


def _admin_login(browser: Client, password: str, **extra: Any) -> Any:
    browser.get("/admin/login/", **extra)
    csrf = browser.cookies["csrftoken"].value
    return browser.post(
        "/admin/login/", {"username": "admin", "password": password, "csrfmiddlewaretoken": csrf}, **extra
    )


@pytest.mark.requirement("ASVS-V6.3.1")
def test_the_admin_login_is_throttled_and_says_when_to_retry(make_user: Any, use_mode: Any) -> None:
    """ASVS 5.0 V6.3.1: 25 wrong passwords on /admin/login/ got the form back every time and the 26th signed in."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE="10/min")
    make_user("admin", is_staff=True, is_superuser=True)
    browser = Client(enforce_csrf_checks=True)
    answers = [_admin_login(browser, "guess") for _ in range(10)]
    assert all(a.status_code == 200 and b"Please enter the correct" in a.content for a in answers)
    refused = _admin_login(browser, "admin")  # the right password, too late
    assert refused.status_code == 200
    assert b"Too many sign-in attempts. Try again in" in refused.content
    assert browser.get("/admin/").status_code == 302  # not signed in
    assert not AuthSession.objects.exists()


def test_the_api_and_the_admin_count_against_the_same_buckets(make_user: Any, use_mode: Any) -> None:
    use_mode("hybrid", LOGIN_THROTTLE_RATE="4/min", LOGIN_IP_RATE="off")
    make_user("admin", is_staff=True, is_superuser=True)
    for _ in range(2):
        assert _login("admin", "guess", ip="203.0.113.1") == 401
        _admin_login(Client(enforce_csrf_checks=True), "guess", REMOTE_ADDR="203.0.113.2")
    assert _login("admin", "admin", ip="203.0.113.3") == 429
    assert b"Too many" in _admin_login(Client(enforce_csrf_checks=True), "admin", REMOTE_ADDR="203.0.113.4").content


def test_any_authenticate_call_is_throttled(alice: Any, use_mode: Any, rf: Any) -> None:
    """A project's own login view, a form, DRF's BasicAuthentication: all go through authenticate()."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE="3/min")
    for _ in range(3):
        assert auth.authenticate(rf.post("/mine/"), username="alice", password="guess") is None
    assert auth.authenticate(rf.post("/mine/"), username="alice", password="alice") is None  # refused, unchecked
    assert SignInClient("header").login("alice").status_code == 429


# The account is the one the login will authenticate ----------------------------------------------------


@given(digits=st.integers(min_value=0, max_value=10**12), spellings=st.lists(st.booleans(), min_size=3, max_size=3))
@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_spelling_of_an_all_digit_username_counts_against_the_account(
    make_user: Any, django_user_model: Any, use_mode: Any, digits: int, spellings: list[bool]
) -> None:
    """``{"username": 12345}`` is the account "12345" to the login: it must be that account's bucket too."""
    use_mode("jwt", LOGIN_USERNAME_RATE="2/min", LOGIN_IP_RATE="off")
    cache.clear()
    name = str(digits)
    user = django_user_model.objects.filter(username=name).first() or make_user(name, password="right")
    as_json = [digits if number else name for number in spellings]
    assert [_login(value, "wrong", ip=f"192.0.2.{n}") for n, value in enumerate(as_json[:2])] == [401, 401]
    assert _login(as_json[2], "right", ip="192.0.2.9") == 429
    assert throttling.account_key(digits) == throttling.account_key(name) == user.get_username().casefold()


# Failures only on the account; every attempt on the address ----------------------------------------------


def test_the_owners_own_sign_ins_never_use_up_the_accounts_bucket(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", LOGIN_THROTTLE_RATE="3/min", LOGIN_IP_RATE="off")
    assert [SignInClient("header").login("alice").status_code for _ in range(8)] == [200] * 8


def test_the_address_counts_every_attempt_successes_included(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", LOGIN_IP_RATE="3/min", LOGIN_USERNAME_RATE="off")
    assert [SignInClient("header").login("alice").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_the_old_rate_name_still_sets_both(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min")
    assert [_login("alice", "guess", ip=f"198.51.100.{n}") for n in range(3)] == [401, 401, 429]
    assert [_login(f"u{n}", "guess") for n in range(3)] == [401, 401, 429]


# Throttling does not switch off when the cache fails ------------------------------------------------------


@pytest.fixture
def private_cache(settings: Any, monkeypatch: Any) -> Iterator[RedisServer]:
    """The default cache on a private redis-server, with IGNORE_EXCEPTIONS as docs/redis.md recommends."""
    from django_redis.pool import ConnectionFactory

    require_programs("redis-server")
    server = RedisServer()
    server.start()
    monkeypatch.setattr(ConnectionFactory, "_pools", {})
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.3,
                "SOCKET_TIMEOUT": 0.3,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {"retry": Retry(NoBackoff(), 0)},
            },
        }
    }
    yield server
    server.close()


def test_with_the_cache_down_a_local_limiter_keeps_refusing(
    alice: Any, use_mode: Any, private_cache: RedisServer, caplog: Any, monkeypatch: Any
) -> None:
    """25 wrong logins in a row with Redis down all got 401 (the counts were silently lost); now 429s keep coming."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="5/min", LOGIN_IP_RATE="off")
    assert [_login("alice", "guess", ip=f"198.51.100.{n}") for n in range(3)] == [401, 401, 401]
    private_cache.stop()
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        codes = [_login("alice", "guess", ip=f"198.51.100.{n}") for n in range(3, 25)]
    assert codes[:5] == [401] * 5  # counting starts afresh in this process...
    assert codes[5:] == [429] * 17  # ...and never stops refusing
    assert len([r for r in caplog.records if "cannot count in the cache" in r.getMessage()]) == 1  # once
    private_cache.start()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        _login("alice", "guess")
    assert any("counts in the cache again" in r.getMessage() for r in caplog.records)


# Review: every way around the limiter -------------------------------------------------------------------


def test_the_async_door_is_throttled_too(alice: Any, use_mode: Any, rf: Any) -> None:
    """ModelBackend's aauthenticate() does not go through authenticate(): ThrottledModelBackend covers both."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE="3/min")
    for _ in range(3):
        assert async_to_sync(auth.aauthenticate)(rf.post("/"), username="alice", password="guess") is None
    assert async_to_sync(auth.aauthenticate)(rf.post("/"), username="alice", password="alice") is None


def test_several_password_checks_in_one_request_each_count(alice: Any, use_mode: Any, rf: Any) -> None:
    """A batch endpoint calling authenticate() once per item gets no more guesses than separate requests."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE="3/min")
    request = rf.post("/batch/")
    results = [auth.authenticate(request, username="alice", password=f"guess-{n}") for n in range(5)]
    assert results == [None] * 5
    assert auth.authenticate(request, username="alice", password="alice") is None
    assert throttling.refused(request) is not None


def test_guesses_in_flight_hold_their_place_in_the_accounts_bucket(alice: Any, use_mode: Any) -> None:
    """Parallel guesses: each holds a place while its password is hashed, so the rate bounds them all at once."""
    use_mode("jwt", LOGIN_USERNAME_RATE="3/min", LOGIN_IP_RATE="off")
    verdicts = [throttling.admit(None, {"username": "alice", "password": "x"}) for _ in range(4)]
    assert [v.refused for v in verdicts] == [False, False, False, True]
    assert SignInClient("header").login("alice").status_code == 429  # all three still hashing
    for verdict in verdicts[:3]:  # their outcomes: each gives its place back
        throttling._release(verdict.counts, verdict.account)  # type: ignore[arg-type]
    assert SignInClient("header").login("alice").status_code == 200


def test_an_e_mail_names_the_same_account_as_its_username(alice: Any) -> None:
    """A login by e-mail (allauth's, a backend of the project's) counts against the account's own bucket."""
    by_mail = throttling.account_key(throttling.identifier({"email": "ALICE@example.com"}))
    assert by_mail == throttling.account_key(throttling.identifier({"username": "alice"})) == "alice"


@pytest.mark.parametrize("name", ["alice", "nobody"])
def test_a_case_variant_tells_nothing_about_whether_the_account_exists(alice: Any, use_mode: Any, name: str) -> None:
    """Existing or not, a name and its case variant are one bucket: no 401-versus-429 oracle."""
    use_mode("jwt", LOGIN_USERNAME_RATE="2/min", LOGIN_IP_RATE="off")
    assert [_login(name, "guess", ip=f"192.0.2.{n}") for n in range(2)] == [401, 401]
    assert _login(name.upper(), "guess", ip="192.0.2.9") == 429


def test_a_password_check_without_the_request_counts_against_the_address(use_mode: Any) -> None:
    use_mode("hybrid", LOGIN_IP_RATE="3/min", LOGIN_USERNAME_RATE="off")
    client = Client()
    codes = [client.post("/password-check/", {"username": f"u{n}", "password": "x"}).status_code for n in range(4)]
    assert codes == [401] * 4
    assert _login("u9", "x") == 429  # the address's bucket is full


def test_passwordless_backends_are_not_counted(use_mode: Any, rf: Any, settings: Any) -> None:
    """RemoteUserBackend and SSO check no password: many users behind one proxy are no spray."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE="2/min")
    settings.AUTHENTICATION_BACKENDS = [
        "dualauth.backends.LoginThrottleBackend",
        "django.contrib.auth.backends.RemoteUserBackend",
    ]
    users = [auth.authenticate(rf.get("/"), remote_user=f"sso-{n}") for n in range(6)]
    assert all(user is not None for user in users)


def test_a_dummy_cache_still_throttles(alice: Any, use_mode: Any, settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min")
    assert [_login("alice", "guess", ip=f"192.0.2.{n}") for n in range(3)] == [401, 401, 429]


def test_one_ipv6_client_is_one_address(use_mode: Any) -> None:
    use_mode("jwt", LOGIN_IP_RATE="3/min", LOGIN_USERNAME_RATE="off")
    codes = [_login(f"u{n}", "x", ip=f"2001:db8:1:2::{n:x}") for n in range(1, 5)]
    assert codes == [401, 401, 401, 429]


def test_retry_after_is_when_an_attempt_is_admitted_again(use_mode: Any, monkeypatch: Any) -> None:
    use_mode("jwt", LOGIN_IP_RATE="3/min", LOGIN_USERNAME_RATE="off")
    start = 1_800_000_000.0  # the start of a period, for a deterministic window
    monkeypatch.setattr(throttling.time, "time", lambda: start)
    assert [_login(f"u{n}", "x") for n in range(3)] == [401, 401, 401]
    client = SignInClient("header")
    refused = client.post("/api/auth/login/", {"username": "u9", "password": "x", "kind": "jwt"})
    wait = int(refused["Retry-After"])
    monkeypatch.setattr(throttling.time, "time", lambda: start + wait - 2)
    assert _login("u10", "x") == 429  # not before...
    monkeypatch.setattr(throttling.time, "time", lambda: start + wait + 2 * 60)
    assert _login("u11", "x") == 401  # ...and after it, admitted


def test_refused_attempts_outside_any_request_add_no_failures(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    use_mode("jwt", LOGIN_USERNAME_RATE="3/min", LOGIN_IP_RATE="off")
    monkeypatch.setattr(throttling.time, "time", lambda: 1_800_000_000.0)  # one period throughout
    window = login_counts.window("account", "alice", throttling.username_rate())  # type: ignore[arg-type]

    def failures() -> Any:
        return cache.get(window._keys(time.time())[0])

    for _ in range(3):
        assert auth.authenticate(None, username="alice", password="guess") is None
    assert failures() == 3
    for _ in range(5):
        assert auth.authenticate(None, username="alice", password="guess") is None  # refused
    assert failures() == 3


def test_the_local_counter_stays_bounded() -> None:
    counts = login_counts.LocalCounts()
    counts.max_keys = 100
    for n in range(1000):
        counts.add(f"k{n}", 1, 60)
    assert len(counts._counts) <= 100


def test_a_failed_check_of_something_other_than_a_password_is_not_counted(alice: Any, use_mode: Any, rf: Any) -> None:
    """A project's one-time-code backend failing names the account but checked no password: no lockout."""
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min", LOGIN_IP_RATE="off")
    for _ in range(4):
        assert auth.authenticate(rf.post("/"), username="alice", otp="000000") is None
    assert _login("alice", "alice") == 200


def test_the_async_limiter_in_front_refuses_as_the_sync_one_does(
    alice: Any, use_mode: Any, rf: Any, settings: Any
) -> None:
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min", LOGIN_IP_RATE="off")
    settings.AUTHENTICATION_BACKENDS = [
        "dualauth.backends.LoginThrottleBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    for _ in range(2):
        assert async_to_sync(auth.aauthenticate)(rf.post("/"), username="alice", password="wrong") is None
    assert async_to_sync(auth.aauthenticate)(rf.post("/"), username="alice", password="alice") is None, "throttled"
    cache.clear()
    assert async_to_sync(auth.aauthenticate)(rf.post("/"), username="alice", password="alice") == alice


def test_a_first_backend_that_cannot_be_imported_is_not_taken_for_the_limiter(settings: Any) -> None:
    from dualauth import backends

    settings.AUTHENTICATION_BACKENDS = ["no.such.Backend", "dualauth.backends.ThrottledModelBackend"]
    assert not backends.in_front()
    settings.AUTHENTICATION_BACKENDS = ["dualauth.backends.ThrottledModelBackend"]
    assert backends.in_front()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10/min", login_counts.Rate(10, 60)),
        ("3/s", login_counts.Rate(3, 1)),
        ("5/hour", login_counts.Rate(5, 3600)),
        ("1/day", login_counts.Rate(1, 86400)),
        ("0/min", None),
        ("-1/min", None),
        ("ten/min", None),
        ("10/fortnight", None),
        ("10/", None),
        ("/min", None),
        ("10/min/2", None),
        (10, None),
        (None, None),
    ],
)
def test_a_rate_is_drfs_syntax_or_nothing(value: Any, expected: Any) -> None:
    assert login_counts.parse_rate(value) == expected


def test_a_count_that_expires_between_add_and_incr_starts_again(settings: Any, monkeypatch: Any) -> None:
    counts = login_counts.SharedCounts()
    store = counts._cache()
    real_add = store.add
    raced: list[bool] = []

    def expired_meanwhile(key: str, *args: Any) -> bool:
        if not raced:  # the key existed when add() looked, and was gone when incr() came
            raced.append(True)
            return False
        return real_add(key, *args)  # type: ignore[no-any-return]

    monkeypatch.setattr(store, "add", expired_meanwhile)
    assert counts.add("dualauth:test:raced", 1, 60) == 1
    assert counts.get("dualauth:test:raced") == 1
    raced.clear()
    assert counts.add("dualauth:test:released", -1, 60) == 0, "a place given back on a count that is gone"


class ShardDownCache(LocMemCache):
    """A sharded cache with one shard down: writes land, reads of the other keys fail."""

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        raise ConnectionError("shard unreachable")


class FailuresAsNoneCache(LocMemCache):
    """A cache whose failures answer ``None``, as django-redis' ``IGNORE_EXCEPTIONS`` makes them."""

    def add(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return None


@pytest.mark.parametrize(
    "cache_settings",
    [
        {"BACKEND": f"{__name__}.ShardDownCache"},
        {"BACKEND": f"{__name__}.FailuresAsNoneCache"},
    ],
    ids=["a-shard-down", "failures-answered-as-none"],
)
def test_a_cache_that_half_fails_still_throttles_in_process(
    alice: Any, use_mode: Any, settings: Any, cache_settings: dict[str, Any]
) -> None:
    settings.CACHES = {"default": cache_settings}
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min")
    assert [_login("alice", "guess", ip=f"192.0.2.{n}") for n in range(3)] == [401, 401, 429]


def test_a_flapping_cache_is_logged_once_per_interval(caplog: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(login_counts, "_logged_at", 0.0)
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        for _ in range(3):
            login_counts.fallback(login_counts.CacheUnavailable("ConnectionError"))
            login_counts.shared_answered()
    assert caplog.text.count("cannot count in the cache") == 1
    assert caplog.text.count("counts in the cache again") == 3


def test_the_local_counter_drops_what_expired_before_what_is_live() -> None:
    counts = login_counts.LocalCounts()
    counts.max_keys = 4
    for name, timeout in (("expired0", 0), ("expired1", 0), ("live0", 60), ("live1", 60)):
        counts.add(name, 1, timeout)
    counts.add("newcomer", 1, 60)
    assert set(counts._counts) == {"live0", "live1", "newcomer"}
    assert [counts.get(name) for name in ("live0", "live1", "newcomer")] == [1, 1, 1]


def test_the_wait_never_divides_by_an_empty_previous_period() -> None:
    window = login_counts.window("ip", "192.0.2.1", login_counts.Rate(3, 60))
    assert window.wait(current=2, previous=0, elapsed=0.5, limit=2) == 1


def test_a_password_check_naming_no_account_counts_against_the_address_only(alice: Any, use_mode: Any, rf: Any) -> None:
    use_mode("jwt", LOGIN_IP_RATE="2/min", LOGIN_USERNAME_RATE="1/min")
    for _ in range(2):
        assert auth.authenticate(rf.post("/", REMOTE_ADDR="192.0.2.9"), password="guess") is None
    assert _login("alice", "alice") == 200, "no account was charged"
    assert _login("alice", "alice", ip="192.0.2.9") == 429


def test_failures_by_an_e_mail_two_accounts_share_lock_neither_account(alice: Any, bob: Any, use_mode: Any) -> None:
    type(alice).objects.update(email="shared@example.com")
    use_mode("jwt", LOGIN_USERNAME_RATE="2/min", LOGIN_IP_RATE="off")
    assert throttling.account_key("shared@example.com") == "shared@example.com"
    for _ in range(3):
        _login("shared@example.com", "guess")
    assert (_login("alice", "alice"), _login("bob", "bob")) == (200, 200)


def test_with_no_limiter_backend_the_api_login_throttles_itself(alice: Any, use_mode: Any, settings: Any) -> None:
    """AUTHENTICATION_BACKENDS without dualauth's backends: the API's login asks the limiter before authenticate()."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    use_mode("jwt", LOGIN_THROTTLE_RATE="2/min", LOGIN_IP_RATE="off")
    assert [_login("alice", password) for password in ("guess", "guess", "alice")] == [401, 401, 429]


def test_failures_at_a_door_without_the_limiter_in_front_still_count_against_the_account(
    alice: Any, use_mode: Any, settings: Any
) -> None:
    """A project's own password check through plain ModelBackend: Django's user_login_failed still counts."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    use_mode("jwt", LOGIN_USERNAME_RATE="2/min", LOGIN_IP_RATE="off")
    for _ in range(2):
        assert auth.authenticate(None, username="alice", password="guess") is None
    assert _login("alice", "alice") == 429


def test_an_attempt_refused_before_any_check_is_not_carried_to_the_next_one(
    alice: Any, bob: Any, use_mode: Any, settings: Any
) -> None:
    """With no limiter backend in front, the API's login refuses before authenticate(); that attempt must end
    with its request, not stand in for the next password check of the thread (which it would leave uncounted)."""
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    use_mode("jwt", LOGIN_USERNAME_RATE="2/min", LOGIN_IP_RATE="off")
    assert [_login("bob", password) for password in ("guess", "guess", "bob")] == [401, 401, 429]
    for _ in range(2):
        assert auth.authenticate(None, username="alice", password="guess") is None
    assert _login("alice", "alice") == 429
