"""A project that left jwt mode and removed simplejwt's ``token_blacklist`` app (``dualauth.E006`` requires it
in jwt and hybrid modes): its old token sign-ins still end, and nothing reaches for tables that are not there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError
from django.test import RequestFactory
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken

from dualauth import services
from dualauth.models import Reason
from dualauth.services import simplejwt_tables

pytestmark = pytest.mark.django_db


BLACKLIST_APP = "rest_framework_simplejwt.token_blacklist"


def test_old_token_sign_ins_still_end_without_the_app(alice: Any, use_mode: Any, settings: Any) -> None:
    use_mode("hybrid")
    started = services.sign_in(RequestFactory().post("/"), alice, "jwt")
    assert started.tokens is not None
    use_mode("session")
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != BLACKLIST_APP]
    assert not simplejwt_tables.installed()
    report = services.inspect_token(started.tokens.refresh)
    assert report.outstanding is None
    assert services.end_legacy_tokens(alice) == 0
    assert simplejwt_tables.blacklisted_at(started.auth_session.refresh_jti) is None
    assert services.revoke_user(alice, Reason.ADMIN) == 1
    assert services.check(started.auth_session.pk, "jwt") is None
    assert not BlacklistedToken.objects.exists(), "nothing was written to the app's tables"
    assert services.cleanup().tokens == 0


def test_a_blacklisting_that_lost_a_race_says_so(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    use_mode("jwt")
    row = OutstandingToken.objects.create(user=alice, jti="raced", token="", expires_at=timezone.now())

    def lost(**kwargs: Any) -> Any:
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(BlacklistedToken.objects, "get_or_create", lost)
    assert simplejwt_tables.blacklist(row.jti, alice.pk, row.expires_at) is False


def test_legacy_tokens_are_ended_in_batches(alice: Any, use_mode: Any, monkeypatch: Any) -> None:
    """Only tokens simplejwt issued outside dualauth, still valid: not the current token of a live sign-in, nor an
    expired one."""
    use_mode("jwt")
    monkeypatch.setattr(simplejwt_tables, "LEGACY_BATCH", 2)
    legacy = [SimpleRefreshToken.for_user(alice) for _ in range(5)]
    live = services.sign_in(RequestFactory().post("/"), alice, "jwt").auth_session
    OutstandingToken.objects.filter(jti=live.refresh_jti).update(token="")  # as dualauth 0.1.0 wrote its rows
    expired = SimpleRefreshToken.for_user(alice)
    OutstandingToken.objects.filter(jti=expired["jti"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.end_legacy_tokens(alice) == 5
    assert not BlacklistedToken.objects.filter(token__jti__in=[live.refresh_jti, expired["jti"]]).exists()
    assert BlacklistedToken.objects.filter(token__jti__in=[token["jti"] for token in legacy]).count() == 5
    assert services.end_legacy_tokens(alice) == 0
