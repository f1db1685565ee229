"""Canaries for dualauth's two reliances on other libraries' internals, and the public path behind each fence.

``dualauth/rows.py`` runs SQL the ORM compiled once; ``dualauth/stores/redis_wire.py`` reads a Redis reply
after other work. Each is gated to the versions it is tested on. The canaries fail loudly, in every tox env,
when a Django or redis-py release moves what they use; production then takes the public path, logged, and
the fallback tests below hold that path to the same answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import django
import pytest
import redis
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dualauth import rows, services
from dualauth.models import AuthSession, Kind
from dualauth.stores import get_store, redis_wire
from dualauth.stores.database import STATE_FIELDS

from .conftest import SignInClient


def _forget_statements() -> None:
    rows._reset(setting="DATABASES")


@pytest.fixture(autouse=True)
def _fresh_gates() -> Iterator[None]:
    """Each test decides afresh, and leaves no gate or statement behind: a cached fallback would send every
    later test's reads through the ORM."""
    rows.usable.cache_clear()
    redis_wire.usable.cache_clear()
    yield
    rows.usable.cache_clear()
    redis_wire.usable.cache_clear()
    _forget_statements()


# The ORM ------------------------------------------------------------------------------------------------------


def test_the_installed_django_is_one_the_compiled_reads_are_tested_on() -> None:
    assert rows.usable(), f"Django {django.__version__} is outside rows.TESTED_DJANGO {rows.TESTED_DJANGO}"


@pytest.mark.parametrize(("kind", "field_name"), [("user", "pk"), ("user", "username"), ("sign-in", "pk")])
def test_the_orm_still_compiles_as_the_compiled_reads_expect(alice: Any, kind: str, field_name: str) -> None:
    _forget_statements()
    if kind == "user":
        model: Any = get_user_model()
        only: tuple[str, ...] = ()
        value = alice.pk if field_name == "pk" else alice.username
    else:
        model, only = AuthSession, STATE_FIELDS
        now = timezone.now()
        value = AuthSession.objects.create(
            id=uuid.uuid4(), user=alice, kind=Kind.JWT, last_seen_at=now, expires_at=now, revoked_at=now
        ).pk
    statement = rows._compile(model, field_name, only, "default")
    assert statement is not None, "Django's compiler moved: compiled reads would silently take the ORM's path"
    fetched = rows.fetch_one(model, field_name, value, only)
    expected = (model._default_manager.only(*only) if only else model._default_manager).get(**{field_name: value})
    names = only or [field.attname for field in model._meta.concrete_fields]
    assert [getattr(fetched, name) for name in names] == [getattr(expected, name) for name in names]


def _user_reads(alice: Any) -> list[str]:
    table = connection.ops.quote_name(get_user_model()._meta.db_table)
    with CaptureQueriesContext(connection) as captured:
        assert rows.fetch_one(get_user_model(), "pk", alice.pk) == alice
        assert rows.fetch_one(get_user_model(), "pk", -1) is None
    return [query["sql"] for query in captured if table in query["sql"]]


def test_on_an_untested_django_every_read_takes_the_orms_path(alice: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(rows, "TESTED_DJANGO", ((1, 0), (1, 1)))
    _forget_statements()
    assert not rows.usable()
    assert all("LIMIT 21" in sql for sql in _user_reads(alice))


def test_when_a_compiler_internal_moved_every_read_takes_the_orms_path(alice: Any, monkeypatch: Any) -> None:
    def moved(*args: Any) -> None:
        raise AttributeError("'SQLCompiler' object has no attribute 'klass_info'")

    monkeypatch.setattr(rows, "_compile_internals", moved)
    _forget_statements()
    assert all("LIMIT 21" in sql for sql in _user_reads(alice))


# redis-py -----------------------------------------------------------------------------------------------------


def test_the_installed_redis_py_is_one_the_overlapped_reads_are_tested_on() -> None:
    assert redis_wire.usable(), f"redis-py {redis.__version__} is outside redis_wire.TESTED {redis_wire.TESTED}"


def test_a_reply_read_later_is_the_reply_and_the_pool_knows_the_connection(redis_url: str) -> None:
    pool = redis.ConnectionPool.from_url(redis_url)
    try:
        redis.Redis(connection_pool=pool).set("dualauth:canary", "here")
        sent = redis_wire.send(pool, "GET", "dualauth:canary")
        assert sent is not None
        assert sent in redis_wire.existing_connections(pool), "the pool's private lists moved"
        assert redis_wire.receive(pool, sent) == b"here"
        assert sent in redis_wire.existing_connections(pool)
    finally:
        pool.disconnect()


def test_on_an_untested_redis_py_overlapped_reads_are_off_and_answer_alike(
    alice: Any, redis_cache: str, use_mode: Any, monkeypatch: Any
) -> None:
    use_mode("jwt", STORE="redis")
    client = SignInClient("header")
    client.login("alice")
    sid = uuid.UUID(client.session_id)
    store = get_store()
    expected = store.get(sid)
    monkeypatch.setattr(redis_wire, "TESTED", (1, 1))
    redis_wire.usable.cache_clear()

    def never(*args: Any) -> None:
        raise AssertionError("an overlapped read on an untested redis-py")

    monkeypatch.setattr(redis_wire, "send", never)
    assert not redis_wire.usable()
    assert redis_wire.existing_connections(object()) == []
    assert store.get_overlapping(sid, lambda: "user") == (expected, "user")
    assert services.check(sid, Kind.JWT) == expected


def test_when_redis_py_moved_what_overlapped_reads_use_they_are_off_and_say_so(monkeypatch: Any, caplog: Any) -> None:
    assert all(hasattr(owner, name) for owner, name in redis_wire.NEEDED), "redis-py moved what overlapped reads use"
    monkeypatch.setattr(redis_wire, "NEEDED", (*redis_wire.NEEDED, (redis.Connection, "read_reply_renamed")))
    with caplog.at_level("WARNING", logger="dualauth"):
        assert not redis_wire.usable()
    assert "moved what overlapped reads use" in caplog.text


def test_when_the_compiled_shape_is_not_the_expected_one_every_read_takes_the_orms_path(
    alice: Any, monkeypatch: Any
) -> None:
    """A compiler that adds a parameter of its own (a new default filter, say) cannot be reused with one slot."""
    from django.db.models.sql.compiler import SQLCompiler

    real_as_sql = SQLCompiler.as_sql

    def one_more_parameter(self: Any, *args: Any, **kwargs: Any) -> Any:
        sql, params = real_as_sql(self, *args, **kwargs)
        return (sql, (*params, "extra")) if rows._MARK in params else (sql, params)

    monkeypatch.setattr(SQLCompiler, "as_sql", one_more_parameter)
    _forget_statements()
    assert rows._compile(get_user_model(), "pk", (), "default") is None
    assert all("LIMIT 21" in sql for sql in _user_reads(alice))
