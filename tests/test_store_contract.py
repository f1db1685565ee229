"""The state store contract (``dualauth.stores.BaseStore``), held by every store in one plain ``pytest`` run.

Each test runs against the database store and the Redis store (the machine's real Redis; under CI=true a
missing Redis fails rather than skips). A store answers for the database, which only the service layer
writes, and is told of each write through ``changed()``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import RequestFactory
from django.utils import timezone

from dualauth import services
from dualauth.models import AuthSession, Reason
from dualauth.stores import BaseStore, SignInState, get_store
from dualauth.stores.database import DatabaseStore
from dualauth.stores.redis import RedisStore


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, use_mode: Any) -> BaseStore:
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    use_mode("jwt", STORE=request.param)
    store = get_store()
    assert isinstance(store, DatabaseStore if request.param == "database" else RedisStore)
    return store


@pytest.fixture
def sign_in(alice: Any, store: BaseStore) -> AuthSession:
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.1")
    return services.sign_in(request, alice, "jwt").auth_session


def _fresh(store: BaseStore) -> BaseStore:
    """Another process's instance of the same store: nothing it holds in memory is shared."""
    return type(store)() if isinstance(store, DatabaseStore) else RedisStore(store.alias)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_an_unknown_sign_in_is_none(store: BaseStore) -> None:
    assert store.get(uuid.uuid4()) is None


def test_a_sign_in_reads_as_its_row(store: BaseStore, sign_in: AuthSession) -> None:
    row = AuthSession.objects.get(pk=sign_in.pk)
    assert store.get(row.pk) == SignInState.of(row)
    assert store.get(row.pk) == SignInState.of(row), "a second read (a cache hit) answers the same"


def test_a_revocation_is_seen_at_once_by_every_instance(store: BaseStore, sign_in: AuthSession) -> None:
    other = _fresh(store)
    assert other.get(sign_in.pk) is not None
    services.revoke(sign_in.pk, Reason.ADMIN)
    for instance in (store, other):
        state = instance.get(sign_in.pk)
        assert state is not None
        assert state.revoked
        assert not state.is_live(timezone.now())


def test_a_written_row_is_read_back_after_changed(store: BaseStore, sign_in: AuthSession) -> None:
    store.get(sign_in.pk)
    later = timezone.now() + timedelta(minutes=5)
    AuthSession.objects.filter(pk=sign_in.pk).update(last_seen_at=later, user_mark="changed")
    store.changed(sign_in.pk)
    state = store.get(sign_in.pk)
    assert state is not None
    assert (state.last_seen_at, state.user_mark) == (later, "changed")


def test_a_deleted_row_is_none_after_changed(store: BaseStore, sign_in: AuthSession) -> None:
    store.get(sign_in.pk)
    AuthSession.objects.filter(pk=sign_in.pk).delete()  # the post_delete receiver calls changed()
    assert store.get(sign_in.pk) is None


def test_get_overlapping_runs_the_work_once_and_answers_as_get(store: BaseStore, sign_in: AuthSession) -> None:
    runs: list[int] = []
    state, result = store.get_overlapping(sign_in.pk, lambda: runs.append(1) or "user")
    assert (state, result, runs) == (store.get(sign_in.pk), "user", [1])
    assert store.get_overlapping(uuid.uuid4(), lambda: "x") == (None, "x")


def test_a_failing_work_fails_the_read_and_leaves_the_store_usable(store: BaseStore, sign_in: AuthSession) -> None:
    with pytest.raises(ZeroDivisionError):
        store.get_overlapping(sign_in.pk, lambda: 1 / 0)
    assert store.get(sign_in.pk) is not None


def test_resync_and_flush_answer_with_nothing_pending(store: BaseStore, sign_in: AuthSession) -> None:
    services.revoke(sign_in.pk, Reason.ADMIN)
    assert store.resync([sign_in.pk]) in (0, 1)
    assert store.flush() is True
    state = store.get(sign_in.pk)
    assert state is not None
    assert state.revoked


def test_a_site_without_time_zones_is_served_alike(store: BaseStore, alice: Any, settings: Any) -> None:
    """``USE_TZ = False``: naive times in and out, read back as the database gives them; a token's expiry is the
    row's (a TypeError comparing naive and aware times before)."""
    settings.USE_TZ = False
    started = services.sign_in(RequestFactory().post("/"), alice, "jwt")
    assert started.tokens is not None
    sid = started.auth_session.pk
    assert started.tokens.refresh_expires_at == AuthSession.objects.get(pk=sid).expires_at
    refreshed = services.refresh(started.tokens.refresh, RequestFactory().post("/"))
    assert refreshed.tokens is not None
    row = AuthSession.objects.get(pk=sid)
    assert timezone.is_naive(row.last_seen_at)
    for instance in (store, _fresh(store)):
        assert instance.get(sid) == SignInState.of(row)
        assert instance.get(sid) == SignInState.of(row), "a second read (a cache hit) answers the same"
    assert services.check(sid, "jwt") is not None
    services.revoke(sid, Reason.ADMIN)
    state = store.get(sid)
    assert state is not None
    assert state.revoked


class _Unfinished(BaseStore):
    """A project's store that forgot the two methods every store must have."""


class _Minimal(BaseStore):
    """The least a store must be: ``get()`` and ``changed()``; the rest has defaults."""

    def get(self, sid: uuid.UUID) -> SignInState | None:
        return None

    def changed(self, sid: uuid.UUID) -> None:
        pass


def test_a_store_without_get_or_changed_says_which_it_lacks() -> None:
    with pytest.raises(NotImplementedError, match=r"^subclasses of BaseStore must provide a get\(\) method$"):
        _Unfinished().get(uuid.uuid4())
    with pytest.raises(NotImplementedError, match=r"^subclasses of BaseStore must provide a changed\(\) method$"):
        _Unfinished().changed(uuid.uuid4())


def test_a_store_with_no_copy_has_nothing_to_resync_or_flush() -> None:
    store = _Minimal()
    assert store.resync([uuid.uuid4(), uuid.uuid4()]) == 0
    assert store.flush() is True
    assert store.get_overlapping(uuid.uuid4(), lambda: "user") == (None, "user")
