"""Fetch one row by a unique field with a statement the ORM compiled once.

On the hot path, ``Model._default_manager.get(pk=...)`` spends most of its time
building SQL that never changes (see ``docs/benchmarks.md``). Here the ORM
compiles ``manager.filter(field=<slot>)[:2]`` once per model, field, column
set and database; each call runs that statement with the one value that
changes, and the row goes through the ORM's converters and
``Model.from_db()``. The database is still read on every call.

Anything that could make the compiled SQL answer differently from the ORM
sends every call through the ORM instead: a default manager or QuerySet class
that overrides how rows are chosen (it may filter on per-request state, a
tenant or a clock), a compiled statement with any parameter besides the
looked-up value, or a field whose ``exact`` lookup is not Django's own (a
hashed or case-folded field prepares values its own way).

This is the one module that relies on the ORM's internals (the compiler's
``klass_info``, ``select`` and ``get_converters``). What it buys, measured in
isolation by ``python -m bench.internals`` on PostgreSQL: a user read by
primary key costs 0.37x of ``QuerySet.get()``, where ``Manager.raw()``, the
nearest public API, costs 0.61x (medians of per-round ratios, same process);
the sign-in row, 0.34x of ``QuerySet.only().get()``. ``TESTED_DJANGO`` names
the Django versions the canary test (``tests/test_internals_canary.py``) runs
on; on any other, or when a compiler internal has moved, every call takes the
ORM's public path, logged once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import django
from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist, ValidationError
from django.core.signals import setting_changed
from django.db import connections
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.manager import BaseManager
from django.dispatch import receiver

M = TypeVar("M", bound=Model)

#: Django feature releases the compiled path is tested on, inclusive.
TESTED_DJANGO = ((5, 2), (6, 1))

logger = logging.getLogger("dualauth")

_MARK = object()
_UNCOMPILED = object()


class _Slot(Expression):
    """Where the looked-up value goes: compiled as one parameter, found again by identity."""

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        return "%s", [_MARK]


@dataclass(frozen=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]
    slot: int
    field: Field[Any, Any]
    attnames: list[str]
    converters: list[tuple[int, tuple[list[Any], Any]]]


# Per thread: a statement's converters belong to the connection of the thread that compiled it.
_local = threading.local()
_generation = 0
_QUERYSET_METHODS = ("__init__", "all", "filter", "get", "only", "using", "_filter_or_exclude", "_fetch_all")
_STOCK_LOOKUP_MODULES = ("django.db.models.lookups", "django.db.models.fields.related_lookups")


def _reusable(manager: Any, field: Any) -> bool:
    if type(manager).get_queryset is not BaseManager.get_queryset:
        return False
    queryset_class = manager._queryset_class
    if any(getattr(queryset_class, name) is not getattr(QuerySet, name) for name in _QUERYSET_METHODS):
        return False
    return field.get_lookup("exact").__module__ in _STOCK_LOOKUP_MODULES


@cache
def usable() -> bool:
    """Whether the running Django is one the compiled path is tested on."""
    if TESTED_DJANGO[0] <= django.VERSION[:2] <= TESTED_DJANGO[1]:
        return True
    logger.warning("dualauth: Django %s is untested with compiled reads; they take the ORM's path", django.__version__)
    return False


def _compile(model: type[Model], field_name: str, only: Sequence[str], alias: str) -> _Statement | None:
    """The statement of ``manager.filter(field=value)[:2]``, or ``None`` where it cannot be reused safely."""
    manager = model._default_manager
    field = model._meta.pk if field_name == "pk" else model._meta.get_field(field_name)
    if not usable() or not _reusable(manager, field):
        return None
    try:
        return _compile_internals(model, field_name, field, only, alias)
    except (AttributeError, KeyError, TypeError, IndexError, ValueError) as exc:
        logger.warning(
            "dualauth: Django %s compiles %s reads differently (%r); they take the ORM's path",
            django.__version__,
            model._meta.label,
            exc,
        )
        return None


def _compile_internals(
    model: type[Model], field_name: str, field: Any, only: Sequence[str], alias: str
) -> _Statement | None:
    manager = model._default_manager
    queryset = manager.using(alias).filter(**{field_name: _Slot(output_field=field)}).order_by()
    if only:
        queryset = queryset.only(*only)
    compiler = queryset[:2].query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    klass_info = compiler.klass_info
    if (
        len(params) != 1
        or params[0] is not _MARK
        or not klass_info
        or klass_info["model"] is not model
        or list(klass_info["select_fields"]) != list(range(len(compiler.select)))
    ):
        return None
    columns = [column for column, _sql, _alias in compiler.select]
    return _Statement(
        sql=sql,
        params=tuple(params),
        slot=0,
        field=field,
        attnames=[column.target.attname for column in columns],
        converters=list(compiler.get_converters(columns).items()),
    )


def fetch_one(model: type[M], field_name: str, value: Any, only: Sequence[str] = ()) -> M | None:
    """The row whose ``field_name`` (``"pk"`` or a unique field) is ``value``; ``None`` if there is no one such.

    What ``model._default_manager.only(*only).get(**{field_name: value})``
    returns, with unusable values and duplicates answered ``None`` instead of raised.
    """
    alias = model._default_manager.db
    statements = _statements()
    key = (model, field_name, tuple(only), alias)
    statement = statements.get(key, _UNCOMPILED)
    if statement is _UNCOMPILED:
        statement = statements[key] = _compile(model, field_name, only, alias)
    if statement is None:
        queryset = model._default_manager.only(*only) if only else model._default_manager.all()
        try:
            return queryset.get(**{field_name: value})
        except (ObjectDoesNotExist, MultipleObjectsReturned, ValueError, TypeError, ValidationError):
            return None
    connection = connections[alias]
    field = statement.field
    try:
        prepared = field.get_db_prep_value(field.get_prep_value(value), connection, prepared=True)
    except (ValueError, TypeError, ValidationError):
        return None
    if _out_of_range(field, prepared, connection):
        return None
    params = list(statement.params)
    params[statement.slot] = prepared
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        rows = cursor.fetchmany(2)
    if len(rows) != 1:
        return None
    row = list(rows[0])
    for position, (converters, expression) in statement.converters:
        for converter in converters:
            row[position] = converter(row[position], expression, connection)
    return model.from_db(alias, statement.attnames, row)


def _out_of_range(field: Field[Any, Any], value: Any, connection: Any) -> bool:
    """An integer the column cannot hold matches no row; the ORM says so too, where a driver would raise."""
    internal_type = field.get_internal_type()
    if not isinstance(value, int) or internal_type not in connection.ops.integer_field_ranges:
        return False  # not an integer column (a bool is an int, and a BooleanField has no range)
    low, high = connection.ops.integer_field_range(internal_type)
    return (low is not None and value < low) or (high is not None and value > high)


def _statements() -> dict[tuple[Any, ...], Any]:
    """This thread's compiled statements, dropped when a setting they depend on changed."""
    if getattr(_local, "generation", None) != _generation:
        _local.generation = _generation
        _local.statements = {}
    return _local.statements  # type: ignore[no-any-return]


@receiver(setting_changed, dispatch_uid="dualauth.rows.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    global _generation
    if setting in ("AUTH_USER_MODEL", "DATABASES", "DATABASE_ROUTERS"):
        _generation += 1
