"""The per-request reads: the user and the sign-in, from the database every time, compiled once.

``dualauth.rows`` replaces ``Model._default_manager.get()`` on the hot path; it
must answer exactly what the ORM answers, and give way to the ORM wherever a
compiled statement could answer differently.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import CharField, QuerySet
from django.db.models.lookups import Exact
from django.db.models.manager import BaseManager
from django.test.utils import CaptureQueriesContext

from dualauth import rows
from dualauth.models import AuthSession
from dualauth.stores.database import STATE_FIELDS

from .conftest import FLAVOUR_IDS, FLAVOURS, SignInClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_statements() -> Iterator[None]:
    rows._reset(setting="DATABASES")
    yield
    rows._reset(setting="DATABASES")


def _values(instance: Any) -> list[Any]:
    return [getattr(instance, field.attname) for field in instance._meta.concrete_fields]


def test_a_row_is_what_the_orm_reads_in_one_query(alice: Any) -> None:
    with CaptureQueriesContext(connection) as first:
        fetched = rows.fetch_one(get_user_model(), "pk", alice.pk)
    with CaptureQueriesContext(connection) as second:
        again = rows.fetch_one(get_user_model(), "pk", str(alice.pk))
    expected = get_user_model().objects.get(pk=alice.pk)
    assert _values(fetched) == _values(again) == _values(expected)
    assert fetched is not None
    assert fetched._state.adding is False
    assert fetched._state.db == "default"
    assert len(first) == len(second) == 1


def test_a_sign_in_row_reads_only_the_state_fields(alice: Any) -> None:
    client = SignInClient("header")
    client.login("alice")
    row = AuthSession.objects.get()
    fetched = rows.fetch_one(AuthSession, "pk", row.pk, only=STATE_FIELDS)
    assert fetched is not None
    assert [getattr(fetched, name) for name in STATE_FIELDS] == [getattr(row, name) for name in STATE_FIELDS]
    assert fetched.get_deferred_fields() == {field.attname for field in AuthSession._meta.concrete_fields} - set(
        STATE_FIELDS
    )


@pytest.mark.parametrize("value", [999_999, "999999", "not-a-number", None, "", [1], 10**30, -(10**30)])
def test_a_value_that_matches_no_one_is_no_row(alice: Any, value: Any) -> None:
    assert rows.fetch_one(get_user_model(), "pk", value) is None


def test_a_non_unique_field_that_matches_two_is_no_row(make_user: Any) -> None:
    make_user("bob")
    make_user("carol")
    get_user_model().objects.update(email="same@example.com")
    assert rows.fetch_one(get_user_model(), "email", "same@example.com") is None


def test_a_manager_that_filters_is_left_to_the_orm(alice: Any, monkeypatch: Any) -> None:
    """A ``get_queryset()`` may depend on the request (a tenant, say): it is asked every time."""
    manager_class = type(get_user_model()._default_manager)

    def only_staff(self: Any) -> Any:
        return BaseManager.get_queryset(self).filter(is_staff=True)

    monkeypatch.setattr(manager_class, "get_queryset", only_staff, raising=False)
    assert rows.fetch_one(get_user_model(), "pk", alice.pk) is None
    get_user_model()._base_manager.filter(pk=alice.pk).update(is_staff=True)
    assert rows.fetch_one(get_user_model(), "pk", alice.pk) is not None
    assert set(rows._statements().values()) == {None}


class SoftDeletedQuerySet(QuerySet):
    """A QuerySet class that chooses rows its own way: no statement may be compiled around it."""

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return QuerySet.get(QuerySet.filter(self, is_active=True), *args, **kwargs)


def test_a_queryset_class_that_chooses_rows_its_own_way_is_left_to_the_orm(alice: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(get_user_model()._default_manager, "_queryset_class", SoftDeletedQuerySet)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert rows.fetch_one(get_user_model(), "pk", alice.pk) is None
    assert set(rows._statements().values()) == {None}


class FoldedExact(Exact):
    """A field's own ``exact`` (case-folded, hashed, ...) prepares values in ways a statement cannot know."""

    def get_prep_lookup(self) -> Any:
        return str(self.rhs).lower()


def test_a_field_with_its_own_exact_lookup_is_left_to_the_orm(alice: Any) -> None:
    CharField.register_lookup(FoldedExact)
    try:
        assert rows.fetch_one(get_user_model(), "username", "ALICE") == alice
    finally:
        CharField._unregister_lookup(FoldedExact)
    assert rows.fetch_one(get_user_model(), "username", "ALICE") is None


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_for_its_own_connection(alice: Any) -> None:
    found: list[Any] = []
    caches: list[Any] = []

    def read() -> None:
        try:
            found.append(rows.fetch_one(get_user_model(), "pk", alice.pk))
            caches.append(rows._statements())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=read)
    rows.fetch_one(get_user_model(), "pk", alice.pk)
    mine = rows._statements()
    thread.start()
    thread.join()
    assert found == [alice]
    assert len(mine) == 1
    # The other thread compiled its own statement, for its own connection, into a cache of its own.
    assert len(caches) == 1
    assert caches[0] is not mine


@pytest.mark.parametrize(("mode", "flavour"), FLAVOURS, ids=FLAVOUR_IDS)
def test_a_request_reads_the_user_with_the_compiled_statement(
    alice: Any, use_mode: Any, mode: str, flavour: str
) -> None:
    use_mode(mode)
    client = SignInClient(flavour)
    client.login("alice")
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/auth/me/").status_code == 200
    user_table = connection.ops.quote_name(get_user_model()._meta.db_table)
    reads = [query["sql"] for query in captured if query["sql"].startswith("SELECT") and user_table in query["sql"]]
    assert len(reads) == 1
    # The compiled statement's [:2], not the ORM's get(), whose LIMIT 21 would also contain "LIMIT 2".
    assert re.search(r"LIMIT 2\b", reads[0]), reads[0]
    compiled = [key for key, statement in rows._statements().items() if key[0] is get_user_model() and statement]
    assert compiled, "the user was read without a compiled statement"


def test_a_session_from_a_fallback_secret_is_kept_and_moved_to_the_new_one(
    alice: Any, use_mode: Any, settings: Any
) -> None:
    """The one case the fast path leaves to Django that must not log anyone out."""
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert client.get("/api/auth/me/").status_code == 200
    settings.SECRET_KEY_FALLBACKS = []
    assert client.get("/api/auth/me/").status_code == 200


class CountingBackend(ModelBackend):
    calls = 0

    def get_user(self, user_id: Any) -> Any:
        CountingBackend.calls += 1
        return super().get_user(user_id)


def test_a_backend_with_its_own_get_user_is_asked(alice: Any, use_mode: Any, settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.CountingBackend"]
    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    CountingBackend.calls = 0
    assert client.get("/api/auth/me/").status_code == 200
    assert CountingBackend.calls == 1


def _bearer_request(access: str) -> Any:
    from django.test import RequestFactory

    return RequestFactory().get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {access}")


def test_a_requests_credential_is_checked_once_however_many_ask(alice: Any, use_mode: Any) -> None:
    """The middleware and each DRF authentication class ask; only the first costs queries, until a login or a
    logout changes the credential."""
    from dualauth import credentials

    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    request = _bearer_request(client.access)  # type: ignore[arg-type]
    first = credentials.jwt_credential(request)
    assert first is not None
    with CaptureQueriesContext(connection) as captured:
        assert credentials.jwt_credential(request) is first
    assert not captured.captured_queries
    credentials.drop_memoised(request)
    with CaptureQueriesContext(connection) as captured:
        again = credentials.jwt_credential(request)
    assert again is not first
    assert captured.captured_queries


def test_a_requests_session_credential_is_checked_once(alice: Any, use_mode: Any) -> None:
    from importlib import import_module

    from django.conf import settings
    from django.test import RequestFactory

    from dualauth import credentials

    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    request = RequestFactory().get("/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(client.client.cookies["sessionid"].value)
    first = credentials.session_credential(request)
    assert first is not None
    assert first.user == alice
    with CaptureQueriesContext(connection) as captured:
        assert credentials.session_credential(request) is first
    assert not captured.captured_queries


def test_an_anonymous_session_with_data_costs_no_sign_in_lookup(use_mode: Any) -> None:
    """A visitor's session (a cart, a language) is not a lost sign-in: nothing looks one up by its key."""
    from importlib import import_module

    from django.conf import settings

    use_mode("hybrid")
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session["cart"] = [1, 2]
    session.save()
    client = SignInClient("session")
    client.client.cookies["sessionid"] = session.session_key
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/auth/me/").status_code == 401
    sign_in_table = AuthSession._meta.db_table
    assert not [query for query in captured if sign_in_table in query["sql"]]


@pytest.mark.parametrize("user_id", ["not-a-number", "", "1.5"])
def test_a_session_whose_user_id_is_not_one_is_anonymous_not_a_500(alice: Any, use_mode: Any, user_id: str) -> None:
    """Django's get_user() raises on an id the pk cannot hold (one left by a migration to UUIDs, say)."""
    from importlib import import_module

    from django.conf import settings

    use_mode("session")
    client = SignInClient("session")
    client.login("alice")
    session = import_module(settings.SESSION_ENGINE).SessionStore(client.client.cookies["sessionid"].value)
    session["_auth_user_id"] = user_id
    session.save()
    assert client.get("/api/auth/me/").status_code == 401
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "invalidated"
    assert not session.exists(session.session_key), "the session went, as Django's own stale-hash check does"
