"""What an administrator can do with a pasted token or a simplejwt row, at the service layer
(``services.inspect_token``, ``revoke_token``, ``blacklist_refresh_token``, ``kill_session``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken

from dualauth import services
from dualauth.exceptions import SignInRefused
from dualauth.models import AuthSession, Reason
from dualauth.tokens import RefreshToken

from .conftest import SignInClient, session_exists

pytestmark = pytest.mark.django_db


def _jwt_sign_in(alice: Any) -> services.SignIn:
    return services.sign_in(RequestFactory().post("/"), alice, "jwt")


def test_a_dualauth_refresh_token_reports_its_sign_in_and_its_outstanding_row(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt_sign_in(alice)
    assert started.tokens is not None
    report = services.inspect_token(started.tokens.refresh)
    assert (report.token_type, report.user, report.expired) == ("refresh", alice, False)
    assert report.auth_session == started.auth_session
    assert report.revocable
    assert report.outstanding is not None
    assert services.outstanding_sid(report.outstanding) == started.auth_session.pk
    assert services.revoke_token(report) is True
    assert services.revoke_token(report) is False, "an ended sign-in is not ended twice"


def test_an_access_token_has_no_outstanding_row(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt_sign_in(alice)
    assert started.tokens is not None
    assert services.inspect_token(started.tokens.access).outstanding is None


def test_a_legacy_refresh_token_is_blacklisted_itself(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    legacy = SimpleRefreshToken.for_user(alice)  # simplejwt's own: no sid, recorded as outstanding
    report = services.inspect_token(str(legacy))
    assert report.auth_session is None
    assert report.revocable
    assert services.revoke_token(report) is True
    assert BlacklistedToken.objects.filter(token__jti=legacy["jti"]).exists()
    assert services.revoke_token(report) is False


def test_a_legacy_access_token_has_nothing_to_revoke(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    report = services.inspect_token(str(SimpleRefreshToken.for_user(alice).access_token))
    assert not report.revocable
    assert services.revoke_token(report) is False


@pytest.mark.parametrize("exp", [10**30, "soon", True])
def test_an_unreadable_expiry_counts_as_now(alice: Any, use_mode: Any, exp: Any) -> None:
    use_mode("jwt")
    token = RefreshToken()
    token["user_id"] = str(alice.pk)
    token["exp"] = exp
    report = services.inspect_token(str(token))
    assert report.expired
    assert services.revoke_token(report) is True, "the legacy token is blacklisted until now, at least"


@pytest.mark.parametrize("raw", ["", "x" * 10, "a.b.c", None, 12])
def test_anything_but_a_token_of_this_site_is_refused(raw: Any) -> None:
    with pytest.raises(SignInRefused):
        services.inspect_token(raw)


def test_blacklisting_a_live_sign_ins_current_token_ends_the_sign_in(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt_sign_in(alice)
    row = OutstandingToken.objects.get(jti=started.auth_session.refresh_jti)
    assert services.blacklist_refresh_token(row) is True
    assert AuthSession.objects.get(pk=started.auth_session.pk).revoked_reason == Reason.ADMIN
    assert services.blacklist_refresh_token(row) is False


def test_killing_a_session_ends_it_or_deletes_what_its_engine_still_holds(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    row = AuthSession.objects.get(pk=client.session_id)
    assert services.kill_session(row) is True
    assert not session_exists(row.session_key)
    assert services.kill_session(row) is False, "nothing is left to end or delete"

    other = SignInClient("session")
    other.login("alice")
    row = AuthSession.objects.get(pk=other.session_id)
    services.revoke(row.pk, Reason.SUPERSEDED, delete_session=False)  # ended, its session left in the engine
    assert session_exists(row.session_key)
    assert services.kill_session(row) is True
    assert not session_exists(row.session_key)


def test_killing_an_ended_token_sign_in_does_nothing(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt_sign_in(alice)
    services.revoke(started.auth_session.pk, Reason.LOGOUT)
    assert services.kill_session(AuthSession.objects.get(pk=started.auth_session.pk)) is False


def test_a_pasted_token_may_carry_whitespace_and_a_refusal_says_token_not_valid(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    started = _jwt_sign_in(alice)
    assert started.tokens is not None
    assert services.inspect_token(f"  {started.tokens.access}\n").auth_session == started.auth_session
    with pytest.raises(SignInRefused) as refused:
        services.inspect_token("not a token")
    assert (refused.value.code, str(refused.value.detail)) == ("token_not_valid", str(services.INVALID_TOKEN))


def test_a_token_without_a_type_claim_reports_none(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    token = RefreshToken()
    token["user_id"] = str(alice.pk)
    del token["token_type"]
    report = services.inspect_token(str(token))
    assert report.token_type == ""
    assert not report.revocable


def test_a_legacy_refresh_token_whose_row_is_gone_is_blacklisted_until_its_own_expiry(
    alice: Any, use_mode: Any
) -> None:
    """simplejwt's flushexpiredtokens (or a purge) removed its outstanding row: the blacklisting writes a new one,
    the token's user's, lasting as the token does."""
    use_mode("jwt")
    legacy = SimpleRefreshToken.for_user(alice)
    OutstandingToken.objects.filter(jti=legacy["jti"]).delete()
    assert services.revoke_token(services.inspect_token(str(legacy))) is True
    row = OutstandingToken.objects.get(jti=legacy["jti"])
    assert (row.user_id, int(row.expires_at.timestamp())) == (alice.pk, legacy["exp"])
    assert BlacklistedToken.objects.filter(token=row).exists()


def test_a_refresh_token_without_a_jti_has_nothing_to_blacklist(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    token = RefreshToken()
    token["user_id"] = str(alice.pk)
    del token["jti"]
    report = services.inspect_token(str(token))
    assert services.revoke_token(report) is False
    assert not BlacklistedToken.objects.exists()


def test_killing_a_live_session_ends_its_sign_in_with_the_reason(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    assert services.kill_session(AuthSession.objects.get(pk=client.session_id), Reason.USER) is True
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == Reason.USER


def test_a_cleanup_with_nothing_to_remove_counts_zero(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    _jwt_sign_in(alice)
    result = services.cleanup()
    assert (result.sign_ins, result.tokens) == (0, 0)


def test_a_sign_ins_outstanding_row_says_when_it_was_issued(alice: Any, use_mode: Any) -> None:
    """The admin's token list shows simplejwt's created_at: a row without it would show nothing."""
    use_mode("jwt")
    started = _jwt_sign_in(alice)
    row = OutstandingToken.objects.get(jti=started.auth_session.refresh_jti)
    assert row.created_at is not None
    assert abs((row.created_at - started.auth_session.created_at).total_seconds()) < 5
