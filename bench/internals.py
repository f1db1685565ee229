"""``python -m bench.internals``: what dualauth's two reliances on other libraries' internals buy, in isolation.

- The user (and the database store's sign-in) read by SQL the ORM compiled once (``dualauth/rows.py``,
  Django's compiler internals), against ``Manager.raw()`` and ``QuerySet.only().get()``, both public.
- The Redis store's ``GET`` overlapped with the user's read (``dualauth/stores/redis_wire.py``, redis-py's
  connection internals), against ``get()`` then the read: redis-py's public API, pipelines included,
  sends and waits in one call, so nothing public overlaps a reply with other work.

Rounds interleave the variants in a rotated order; each figure is the median over rounds of the mean
per call, and each ratio the median of the per-round ratios against the public baseline of the same
round, in the same process. Run it on the benchmark's PostgreSQL and Redis (``make services``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.site import setup_django


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def measure(variants: dict[str, Callable[[], Any]], baseline: str, rounds: int, calls: int) -> dict[str, Any]:
    names = list(variants)
    for fn in variants.values():  # warm: compiled statements, connections, scripts
        _per_call(fn, 20)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            times[name].append(_per_call(variants[name], calls))
    return {
        name: {
            "us": statistics.median(times[name]) * 1e6,
            "ratio": statistics.median(a / b for a, b in zip(times[name], times[baseline], strict=True)),
        }
        for name in names
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.internals", description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args(argv)
    setup_django()

    from django.contrib.auth import get_user_model
    from django.test import RequestFactory, override_settings

    from bench.site import reset
    from dualauth import rows, services
    from dualauth.stores import get_store
    from dualauth.stores.database import STATE_FIELDS

    user = reset()
    model = get_user_model()
    table = model._meta.db_table
    columns = ", ".join(f.column for f in model._meta.concrete_fields)
    raw_sql = f'SELECT {columns} FROM "{table}" WHERE "{model._meta.pk.column}" = %s LIMIT 2'

    def by_raw() -> Any:
        found = list(model._default_manager.raw(raw_sql, [user.pk]))
        return found[0] if len(found) == 1 else None

    print(f"User read by primary key, {args.rounds} rounds x {args.calls} calls (PostgreSQL)")
    figures = measure(
        {
            "compiled once (rows.fetch_one)": lambda: rows.fetch_one(model, "pk", user.pk),
            "Manager.raw()": by_raw,
            "QuerySet.get()": lambda: model._default_manager.get(pk=user.pk),
        },
        "QuerySet.get()",
        args.rounds,
        args.calls,
    )
    _print(figures)

    from dualauth.models import AuthSession

    with override_settings(DUALAUTH={"MODE": "jwt", "STORE": "database"}):
        sid = services.sign_in(RequestFactory().post("/"), user, "jwt").auth_session.pk
    print(f"\nSign-in row read by primary key (the database store), {args.rounds} rounds x {args.calls} calls")
    _print(
        measure(
            {
                "compiled once (rows.fetch_one)": lambda: rows.fetch_one(AuthSession, "pk", sid, only=STATE_FIELDS),
                "QuerySet.only().get()": lambda: AuthSession.objects.only(*STATE_FIELDS).get(pk=sid),
            },
            "QuerySet.only().get()",
            args.rounds,
            args.calls,
        )
    )

    with override_settings(DUALAUTH={"MODE": "jwt", "STORE": "redis", "REDIS_CACHE_ALIAS": "default"}):
        store = get_store()
        read_user = lambda: rows.fetch_one(model, "pk", user.pk)  # noqa: E731
        store.get(sid)
        print(f"\nRedis store read with the user's read, {args.rounds} rounds x {args.calls} calls")
        _print(
            measure(
                {
                    "overlapped (get_overlapping)": lambda: store.get_overlapping(sid, read_user),
                    "get() then the user": lambda: (store.get(sid), read_user()),
                },
                "get() then the user",
                args.rounds,
                args.calls,
            )
        )


def _print(figures: dict[str, Any]) -> None:
    width = max(len(name) for name in figures)
    for name, figure in figures.items():
        print(f"  {name:<{width}}  {figure['us']:8.1f} us/call  {figure['ratio']:.2f}x")


if __name__ == "__main__":
    main()
