"""What the service layer's functions answer and leave behind, beyond the HTTP status an adapter makes of it:
the counts they return, the reason a sign-in ends with, the code and message of a refusal, and whose rows
they touch. Mutation testing (``make mutation``) found these unasserted."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken

from dualauth import services, user_marks
from dualauth.exceptions import NotRecorded, SignInRefused
from dualauth.models import AuthSession, Kind, Reason
from dualauth.tokens import AccessToken, RefreshToken

from .conftest import SignInClient, session_exists

pytestmark = pytest.mark.django_db


def _jwt(user: Any) -> services.SignIn:
    return services.sign_in(RequestFactory().post("/"), user, "jwt")


def _reason(sid: Any) -> str:
    return AuthSession.objects.get(pk=sid).revoked_reason


# Refusals carry their code and message ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["not-a-token", "", None, 12])
def test_a_malformed_access_token_is_token_not_valid(alice: Any, use_mode: Any, raw: Any) -> None:
    use_mode("jwt")
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(raw)
    assert (refused.value.code, str(refused.value.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))


def test_a_token_with_a_malformed_sid_or_none_is_token_not_valid(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    for sid in ("not-a-uuid", None):
        token = AccessToken()
        token["user_id"] = str(alice.pk)
        if sid is not None:
            token["sid"] = sid
        with pytest.raises(SignInRefused) as refused:
            services.check_access_token(str(token))
        assert (refused.value.code, str(refused.value.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))


def test_an_ended_sign_ins_token_is_session_ended(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    services.revoke(started.auth_session.pk, Reason.LOGOUT)
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(started.tokens.access)
    assert (refused.value.code, str(refused.value.detail)) == ("session_ended", str(services.ENDED))


def test_a_token_naming_another_user_than_its_sign_in_is_token_not_valid(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    token = AccessToken()
    token["user_id"] = str(bob.pk)
    token["sid"] = str(started.auth_session.pk)
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(str(token))
    assert refused.value.code == "token_not_valid"


def test_a_deactivated_users_token_is_session_ended_and_ends_the_sign_in(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)  # no signal sees it
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(started.tokens.access)
    assert refused.value.code == "session_ended"
    assert _reason(started.auth_session.pk) == Reason.DEACTIVATED


def test_check_answers_only_for_a_live_sign_in_of_its_kind(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    sid = _jwt(alice).auth_session.pk
    assert services.check(sid, Kind.JWT) is not None
    assert services.check(str(sid), Kind.JWT) is not None
    assert services.check(sid, Kind.SESSION) is None
    assert services.check("not-a-uuid", Kind.JWT) is None
    assert services.check(None, Kind.JWT) is None


# Counts and reasons ---------------------------------------------------------------------------------------------


def test_user_changed_counts_what_it_ended_and_keeps_its_own(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    own, first, second = (_jwt(alice).auth_session.pk for _ in range(3))
    assert services.user_changed(alice, privileges_changed=True, keep=own) == 2
    assert (_reason(first), _reason(second)) == (Reason.PRIVILEGE_CHANGE, Reason.PRIVILEGE_CHANGE)
    assert services.check(own, Kind.JWT) is not None
    assert services.user_changed(alice) == 0, "by default nothing changed"
    third = _jwt(alice).auth_session.pk
    assert services.user_changed(alice, password_set=True, privileges_changed=True, keep=own) == 1
    assert _reason(third) == Reason.PRIVILEGE_CHANGE, "a privilege change is the reason that comes first"
    assert services.user_changed(alice, deactivated=True) == 1
    assert _reason(own) == Reason.DEACTIVATED


def test_user_changed_with_a_suspected_change_asks_the_marks(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("jwt")
    mine = _jwt(alice).auth_session.pk
    bobs = _jwt(bob).auth_session.pk
    assert services.user_changed(alice, password_set=None, privileges_changed=None) == 0, "nothing differs"
    bob.is_staff = True
    bob.save()  # bob's own change: bob's sign-in ends, alice's marks are not bob's
    assert _reason(bobs) == Reason.PRIVILEGE_CHANGE
    assert services.user_changed(alice, password_set=None, privileges_changed=None) == 0
    assert services.check(mine, Kind.JWT) is not None


def test_a_kept_session_gets_a_new_key_and_its_row_follows(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    other = SignInClient("session")
    other.login("alice")
    row = AuthSession.objects.get(pk=client.session_id)
    request = RequestFactory().post("/")
    from importlib import import_module

    from django.conf import settings

    request.session = import_module(settings.SESSION_ENGINE).SessionStore(row.session_key)
    assert services.user_changed(alice, privileges_changed=True, keep=row.pk, request=request) == 1
    renewed = AuthSession.objects.get(pk=row.pk)
    assert renewed.session_key == request.session.session_key != row.session_key
    assert not session_exists(row.session_key)


def test_password_rehashed_carries_only_this_users_sign_ins_bound_to_the_old_hash(
    alice: Any, bob: Any, use_mode: Any
) -> None:
    use_mode("jwt")
    old_hash = alice.password
    live = [_jwt(alice).auth_session.pk for _ in range(2)]
    ended = _jwt(alice).auth_session.pk
    services.revoke(ended, Reason.LOGOUT)
    bobs = _jwt(bob).auth_session.pk
    bobs_mark = AuthSession.objects.get(pk=bobs).user_mark
    alice.password = "pbkdf2_sha256$1$upgraded$" + "x" * 43  # as Django's upgrade writes a new hash
    assert services.password_rehashed(alice, old_hash) == 2
    for sid in live:
        mark = AuthSession.objects.get(pk=sid).user_mark
        assert mark.partition(".")[0] == user_marks.password_part(alice.password)
    assert AuthSession.objects.get(pk=ended).user_mark.partition(".")[0] == user_marks.password_part(old_hash)
    assert AuthSession.objects.get(pk=bobs).user_mark == bobs_mark


def test_a_session_whose_user_is_gone_or_inactive_ends_with_the_reason_and_keeps_its_session(
    alice: Any, bob: Any, use_mode: Any
) -> None:
    use_mode("session")
    clients = {}
    for name in ("alice", "bob"):
        clients[name] = SignInClient("session")
        clients[name].login(name)
    inactive = AuthSession.objects.get(pk=clients["alice"].session_id)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    services.end_unloadable_session(RequestFactory().get("/"), inactive.pk, alice.pk)
    assert _reason(inactive.pk) == Reason.DEACTIVATED
    assert session_exists(inactive.session_key), "Django flushes the session itself; the service leaves it"
    changed = AuthSession.objects.get(pk=clients["bob"].session_id)
    services.end_unloadable_session(RequestFactory().get("/"), changed.pk, bob.pk)  # active: its hash changed
    assert _reason(changed.pk) == Reason.INVALIDATED
    gone = _jwt(bob).auth_session.pk
    services.end_unloadable_session(RequestFactory().get("/"), gone, 10**9)
    assert _reason(gone) == Reason.INVALIDATED


def test_revoke_everyone_counts_sign_ins_and_their_users_and_spares_legacy_tokens_of_another_kind(
    alice: Any, bob: Any, use_mode: Any
) -> None:
    use_mode("hybrid")
    for user in (alice, alice, bob):
        _jwt(user)
    SimpleRefreshToken.for_user(alice)
    assert services.revoke_everyone(Reason.ADMIN, kind=Kind.SESSION) == (0, 0)
    assert services.end_legacy_tokens(alice) == 1, "a session-kind sweep leaves token families alone"
    SimpleRefreshToken.for_user(alice)
    assert services.revoke_everyone(Reason.ADMIN) == (3, 2)
    assert services.end_legacy_tokens(alice) == 0, "the sweep ended the legacy token too"


def test_revoke_user_ends_only_that_users_live_sign_ins(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("jwt")
    mine = [_jwt(alice).auth_session.pk for _ in range(2)]
    services.revoke(mine[0], Reason.LOGOUT)
    bobs = _jwt(bob).auth_session.pk
    assert services.revoke_user(alice, Reason.ADMIN) == 1
    assert _reason(mine[0]) == Reason.LOGOUT, "an ended sign-in keeps the reason it ended with"
    assert services.check(bobs, Kind.JWT) is not None


def test_an_unrecorded_logout_is_logged_with_its_cause(
    alice: Any, use_mode: Any, caplog: Any, monkeypatch: Any
) -> None:
    use_mode("jwt")
    sid = _jwt(alice).auth_session.pk

    def unreachable(*args: Any, **kwargs: Any) -> bool:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services.logout, "revoke", unreachable)
    with caplog.at_level(logging.WARNING, logger="dualauth"), pytest.raises(NotRecorded):
        services.log_out([sid])
    assert "a logout could not be recorded" in caplog.text
    assert "server closed the connection unexpectedly" in caplog.text


def test_a_refused_token_of_another_user_says_token_not_valid(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("jwt")
    token = AccessToken()
    token["user_id"] = str(bob.pk)
    token["sid"] = str(_jwt(alice).auth_session.pk)
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(str(token))
    assert str(refused.value.detail) == str(services.INVALID_TOKEN)


@pytest.mark.parametrize("change", ["deactivated", "password", "privileges"])
def test_a_token_whose_user_changed_behind_the_signals_is_session_ended(alice: Any, use_mode: Any, change: str) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    users = type(alice).objects.filter(pk=alice.pk)
    if change == "deactivated":
        users.update(is_active=False)
    elif change == "password":
        users.update(password="pbkdf2_sha256$1$changed$" + "y" * 43)
    else:
        users.update(is_superuser=True)
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(started.tokens.access)
    assert (refused.value.code, str(refused.value.detail)) == ("session_ended", str(services.ENDED))


def test_nothing_changed_renews_no_session(alice: Any, use_mode: Any) -> None:
    """``keep`` alone is no reason to give the kept session a new key."""
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    row = AuthSession.objects.get(pk=client.session_id)
    request = RequestFactory().post("/")
    request.session = _session(row.session_key)
    assert services.user_changed(alice, password_set=None, privileges_changed=None, keep=row.pk, request=request) == 0
    assert request.session.session_key == row.session_key
    assert AuthSession.objects.get(pk=row.pk).session_key == row.session_key


def test_a_request_of_another_sign_in_does_not_have_its_session_renewed(alice: Any, use_mode: Any) -> None:
    """The change was made by ``keep`` (a token sign-in, say), while the request's session is another one's."""
    use_mode("hybrid")
    keep = _jwt(alice).auth_session.pk
    browser = SignInClient("session")
    browser.login("alice")
    row = AuthSession.objects.get(pk=browser.session_id)
    request = RequestFactory().post("/")
    request.session = _session(row.session_key)
    services.user_changed(alice, privileges_changed=True, keep=keep, request=request)
    assert request.session.session_key == row.session_key, "not the kept sign-in's session: left alone"
    assert _reason(row.pk) == Reason.PRIVILEGE_CHANGE


def test_a_suspected_change_is_judged_against_live_sign_ins_only(alice: Any, use_mode: Any) -> None:
    """A sign-in that ended before a password change keeps the old mark; it must not make a later save look like
    a new password, which would end the sign-ins made since."""
    use_mode("jwt")
    old = _jwt(alice).auth_session.pk
    services.revoke(old, Reason.LOGOUT)
    type(alice).objects.filter(pk=alice.pk).update(password="pbkdf2_sha256$1$changed$" + "y" * 43)
    alice.refresh_from_db()
    current = _jwt(alice).auth_session.pk
    assert services.user_changed(alice, password_set=None, privileges_changed=None) == 0
    assert services.check(current, Kind.JWT) is not None


def test_a_rehash_is_recognised_with_extra_privilege_fields_in_the_mark(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", EXTRA_PRIVILEGE_FIELDS=["last_name"])
    old_hash = alice.password
    sid = _jwt(alice).auth_session.pk
    assert AuthSession.objects.get(pk=sid).user_mark.count(".") == 2
    alice.password = "pbkdf2_sha256$1$upgraded$" + "x" * 43
    assert services.password_rehashed(alice, old_hash) == 1


def test_an_inactive_users_legacy_refresh_token_is_not_adopted(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    legacy = SimpleRefreshToken.for_user(alice)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(SignInRefused) as refused:
        services.refresh(str(legacy), RequestFactory().post("/"))
    assert refused.value.code == "token_not_valid"
    assert not AuthSession.objects.filter(user=alice).exists()


def _session(key: str) -> Any:
    from importlib import import_module

    from django.conf import settings

    return import_module(settings.SESSION_ENGINE).SessionStore(key)


# Races, switches and bounds ------------------------------------------------------------------------------------


def test_a_refresh_that_loses_to_a_revocation_is_session_ended(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    """The sign-in ends between the refresh's read and its rotation: no new pair, and no 'try again' either."""
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    real_new_refresh = services.refreshing.new_refresh

    def revoked_meanwhile(*args: Any, **kwargs: Any) -> Any:
        services.revoke(started.auth_session.pk, Reason.ADMIN)
        return real_new_refresh(*args, **kwargs)

    monkeypatch.setattr(services.refreshing, "new_refresh", revoked_meanwhile)
    with pytest.raises(SignInRefused) as refused:
        services.refresh(started.tokens.refresh, RequestFactory().post("/"))
    assert refused.value.code == "session_ended"
    assert _reason(started.auth_session.pk) == Reason.ADMIN


def test_without_revocation_checks_an_inactive_users_token_is_refused_and_nothing_is_written(
    alice: Any, use_mode: Any
) -> None:
    use_mode("jwt", CHECK_REVOCATION=False)
    started = _jwt(alice)
    assert started.tokens is not None
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(started.tokens.access)
    assert refused.value.code == "session_ended"
    assert AuthSession.objects.get().revoked_at is None


def test_end_sign_ins_reports_only_those_it_ended(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    live, ended = _jwt(alice).auth_session.pk, _jwt(alice).auth_session.pk
    services.revoke(ended, Reason.LOGOUT)
    heard: list[Any] = []
    done = services.end_sign_ins(None, [ended, live], Reason.ADMIN, legacy=False, ended=heard.append)
    assert done == heard == [live]
    assert (_reason(live), _reason(ended)) == (Reason.ADMIN, Reason.LOGOUT)


def test_an_access_token_never_outlives_its_refresh_token(alice: Any, use_mode: Any, settings: Any) -> None:
    use_mode("jwt")
    settings.SIMPLE_JWT = {
        **settings.SIMPLE_JWT,
        "ACCESS_TOKEN_LIFETIME": timedelta(hours=2),
        "REFRESH_TOKEN_LIFETIME": timedelta(minutes=30),
    }
    tokens = _jwt(alice).tokens
    assert tokens is not None
    assert tokens.access_expires_at == tokens.refresh_expires_at
    assert AccessToken(tokens.access)["exp"] == SimpleRefreshToken(tokens.refresh)["exp"]


def test_an_empty_session_key_names_no_sign_in(alice: Any, use_mode: Any, settings: Any) -> None:
    """Signed-cookie sessions have no key: their sign-ins keep ''. After a switch to an engine with keys, a
    request without one must not find them all."""
    use_mode("session")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    services.sign_in(_request_with_session(), alice, "session")
    assert AuthSession.objects.get().session_key == ""
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    assert services.sign_ins_of_session("") == []


def test_a_lost_session_the_database_cannot_end_is_not_recorded(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    use_mode("session")
    request = _request_with_session()
    sid = services.sign_in(request, alice, "session").auth_session.pk

    def unreachable(*args: Any, **kwargs: Any) -> bool:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services.logout, "revoke", unreachable)
    with pytest.raises(NotRecorded):
        services.end_lost_session(request.session.session_key)
    assert services.check(sid, Kind.SESSION) is not None


@pytest.mark.usefixtures("_without_the_blacklist_app")
def test_jwt_without_simplejwts_blacklist_app_still_signs_in_and_refreshes(alice: Any) -> None:
    """dualauth.E006 asks for the app in jwt modes; a project that silences it keeps working, untracked there."""
    started = _jwt(alice)
    assert started.tokens is not None
    refreshed = services.refresh(started.tokens.refresh, RequestFactory().post("/"))
    assert refreshed.tokens is not None
    assert services.check(started.auth_session.pk, Kind.JWT) is not None
    assert not OutstandingToken.objects.exists(), "nothing was written to the app's tables"


@pytest.fixture
def _without_the_blacklist_app(use_mode: Any, settings: Any) -> None:
    use_mode("jwt")
    settings.INSTALLED_APPS = [
        app for app in settings.INSTALLED_APPS if app != "rest_framework_simplejwt.token_blacklist"
    ]
    settings.SILENCED_SYSTEM_CHECKS = ["dualauth.E006"]


def _request_with_session() -> Any:
    from importlib import import_module

    from django.conf import settings

    request = RequestFactory().post("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    return request


def test_a_token_without_a_user_id_claim_is_token_not_valid(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    token = AccessToken()
    token["sid"] = str(_jwt(alice).auth_session.pk)
    with pytest.raises(SignInRefused) as refused:
        services.check_access_token(str(token))
    assert refused.value.code == "token_not_valid"


class _UnreadableSession(dict):  # type: ignore[type-arg]
    """A session whose engine fails on read (a store gone down after the key changed)."""

    session_key = "a-new-key"

    def get(self, *args: Any) -> Any:
        raise ConnectionError("the session store went away")


def test_a_new_session_key_that_cannot_be_read_is_left_for_the_next_touch(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    request = _request_with_session()
    row = services.sign_in(request, alice, "session").auth_session
    request.session = _UnreadableSession()
    services.follow_session_key(request, row.session_key)
    assert AuthSession.objects.get().session_key == row.session_key


# Found by mutation testing of refreshing, django_sessions -------------------------------------------------------


def _refused_refresh(raw: str) -> SignInRefused:
    with pytest.raises(SignInRefused) as refused:
        services.refresh(raw, RequestFactory().post("/"))
    return refused.value


def test_a_refresh_token_with_a_malformed_sid_is_refused_even_when_legacy_tokens_are_adopted(
    alice: Any, use_mode: Any
) -> None:
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    token = RefreshToken()
    token["user_id"] = str(alice.pk)
    token["sid"] = "not-a-uuid"
    refused = _refused_refresh(str(token))
    assert (refused.code, str(refused.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))
    assert not AuthSession.objects.exists(), "not adopted as a legacy token"


def test_a_refresh_token_naming_a_session_sign_in_is_refused_and_ends_nothing(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid")
    request = _request_with_session()
    session_row = services.sign_in(request, alice, "session").auth_session
    token = RefreshToken()
    token["user_id"] = str(alice.pk)
    token["sid"] = str(session_row.pk)
    refused = _refused_refresh(str(token))
    assert (refused.code, str(refused.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))
    assert services.check(session_row.pk, Kind.SESSION) is not None


def test_a_refresh_token_of_another_user_says_token_not_valid(alice: Any, bob: Any, use_mode: Any) -> None:
    use_mode("jwt")
    token = RefreshToken()
    token["user_id"] = str(bob.pk)
    token["sid"] = str(_jwt(alice).auth_session.pk)
    refused = _refused_refresh(str(token))
    assert (refused.code, str(refused.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))


def test_a_legacy_token_of_no_user_is_not_adopted_and_says_token_not_valid(use_mode: Any) -> None:
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    token = RefreshToken()
    token["user_id"] = "987654"
    refused = _refused_refresh(str(token))
    assert (refused.code, str(refused.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))


def test_a_legacy_token_whose_outstanding_row_is_gone_is_adopted_and_blacklisted(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    legacy = SimpleRefreshToken.for_user(alice)
    OutstandingToken.objects.filter(jti=legacy["jti"]).delete()
    adopted = services.refresh(str(legacy), RequestFactory().post("/"))
    assert adopted.auth_session.user == alice
    row = OutstandingToken.objects.get(jti=legacy["jti"])
    assert (row.user_id, int(row.expires_at.timestamp())) == (alice.pk, legacy["exp"])
    assert _refused_refresh(str(legacy)).code == "token_not_valid", "adopted once only"


@pytest.mark.usefixtures("_without_the_blacklist_app")
def test_without_the_blacklist_app_the_token_just_replaced_is_still_told_apart(alice: Any, settings: Any) -> None:
    """REFRESH_REUSE_GRACE: the sign-in's row remembers the token its last rotation replaced, blacklist or not."""
    settings.DUALAUTH = {**settings.DUALAUTH, "REFRESH_REUSE_GRACE": 30}
    started = _jwt(alice)
    assert started.tokens is not None
    services.refresh(started.tokens.refresh, RequestFactory().post("/"))
    assert _refused_refresh(started.tokens.refresh).code == "refresh_conflict"
    assert services.check(started.auth_session.pk, Kind.JWT) is not None, "not taken for theft"


def test_a_logout_of_the_requests_session_is_djangos_logout(
    alice: Any, use_mode: Any, capture_signal: Any, caplog: Any
) -> None:
    from django.contrib.auth.signals import user_logged_out

    use_mode("session")
    request = _request_with_session()
    services.sign_in(request, alice, "session")
    request.user = alice
    sent = capture_signal(user_logged_out)
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        services.end_request_session(request)
    assert [(kwargs["request"], kwargs["user"]) for kwargs in sent] == [(request, alice)]
    assert not request.user.is_authenticated
    assert not caplog.text


def test_a_session_engine_that_fails_at_logout_is_logged_by_its_error(alice: Any, use_mode: Any, caplog: Any) -> None:
    use_mode("session")
    request = _request_with_session()
    services.sign_in(request, alice, "session")
    request.user = alice

    def unreachable() -> None:
        raise ConnectionError("the session store went away")

    request.session.flush = unreachable
    with caplog.at_level(logging.WARNING, logger="dualauth"):
        services.end_request_session(request)
    assert "the session engine could not delete a logged-out session (ConnectionError)" in caplog.text
    assert request.session.is_empty()


@pytest.mark.parametrize("ended_by", ["revocation", "deactivation", "password"])
def test_a_refresh_of_an_ended_sign_in_says_session_ended(alice: Any, use_mode: Any, ended_by: str) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    if ended_by == "revocation":
        services.revoke(started.auth_session.pk, Reason.ADMIN)
    elif ended_by == "deactivation":
        type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    else:
        type(alice).objects.filter(pk=alice.pk).update(password="pbkdf2_sha256$1$set-by-sql$" + "x" * 43)
    refused = _refused_refresh(started.tokens.refresh)
    assert (refused.code, str(refused.detail)) == ("session_ended", str(services.ENDED))


def test_a_refresh_records_where_it_came_from(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="refresher/2.0")
    services.refresh(started.tokens.refresh, request)
    row = AuthSession.objects.get(pk=started.auth_session.pk)
    assert (row.ip, row.user_agent) == ("198.51.100.7", "refresher/2.0")
    assert row.rotated_at is not None


def test_of_two_refreshes_of_one_token_only_one_rotates(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    """The second rotation of the same token, racing in between the first's read and write, wins nothing:
    refresh_conflict, and the sign-in keeps the first one's token (on any database, without a row lock)."""
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    real_new_refresh = services.refreshing.new_refresh
    winner: list[services.SignIn] = []
    raced: list[bool] = []

    def another_refresh_wins_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not raced:
            raced.append(True)
            winner.append(services.refresh(started.tokens.refresh, RequestFactory().post("/")))  # type: ignore[union-attr]
        return real_new_refresh(*args, **kwargs)

    monkeypatch.setattr(services.refreshing, "new_refresh", another_refresh_wins_meanwhile)
    refused = _refused_refresh(started.tokens.refresh)
    assert (refused.code, str(refused.detail)) == (
        "refresh_conflict",
        "This refresh token was just used by a concurrent request.",
    )
    row = AuthSession.objects.get(pk=started.auth_session.pk)
    assert row.revoked_at is None
    assert winner[0].tokens is not None
    assert row.refresh_jti == RefreshToken(winner[0].tokens.refresh)["jti"]


def test_a_rotation_moves_the_sign_in_to_its_new_token(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt(alice)
    assert started.tokens is not None
    before = AuthSession.objects.get(pk=started.auth_session.pk)
    rotated = services.refresh(started.tokens.refresh, RequestFactory().post("/"))
    assert rotated.tokens is not None
    assert rotated.auth_session.pk == before.pk
    row = AuthSession.objects.get(pk=before.pk)
    new = RefreshToken(rotated.tokens.refresh)
    assert (row.refresh_jti, row.previous_refresh_jti) == (new["jti"], before.refresh_jti)
    assert row.expires_at == rotated.tokens.refresh_expires_at
    assert row.last_seen_at > before.last_seen_at
    assert OutstandingToken.objects.get(jti=new["jti"]).user == alice


def test_a_token_sign_in_tells_djangos_and_dualauths_listeners_with_the_request(
    alice: Any, use_mode: Any, capture_signal: Any
) -> None:
    """Audit apps listen to user_logged_in (last_login too); dualauth's session_started names the row."""
    from django.contrib.auth.signals import user_logged_in

    from dualauth import signals

    use_mode("jwt")
    logged_in, started = capture_signal(user_logged_in), capture_signal(signals.session_started)
    request = RequestFactory().post("/")
    row = services.sign_in(request, alice, "jwt").auth_session
    assert [(k["sender"], k["request"], k["user"], k["dualauth_kind"]) for k in logged_in] == [
        (type(alice), request, alice, "jwt")
    ]
    assert [(k["sender"], k["auth_session"], k["request"]) for k in started] == [(AuthSession, row, request)]
