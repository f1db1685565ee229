"""How costs grow with the data: the store at 1 000 and 1 000 000 sign-ins, one user's list, the admin.

Each size lives side by side, so rounds can interleave them: PostgreSQL holds
a copy of ``dualauth_authsession`` per size in its own schema (a batch picks
one with ``search_path``), and Redis a database per size. Half the filler
sign-ins are revoked. The filler is kept between runs and made again only
when its size is not what a run asks for.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from bench import inprocess
from bench.scenarios import SCENARIOS, Scenario

FILLER_USERS = 1000
FILL_CHUNK = 100_000
ENTRY_TTL_MS = 24 * 3600 * 1000

# Writes ``count`` entries from ``start``, alternately revoked and live, in the store's own format.
FILL_REDIS = """
local prefix, start, count, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = start, start + count - 1 do
    local key = prefix .. string.format('%08x-0000-4000-8000-%012x', i % 4294967296, i)
    local value = '{"r":' .. (i % 2) .. ',"s":1700000000000000,"u":"1","k":"jwt","h":"","c":1700000000000000,'
        .. '"e":4102444800000000}'
    redis.call('SET', key, value, 'PX', ttl)
end
return count
"""


def schema(size: int) -> str:
    return f"bench_scale_{size}"


@contextmanager
def search_path(name: str | None) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {name}, public" if name else "SET search_path TO public")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET search_path TO public")


def _count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")
    return int(cursor.fetchone()[0])


def _indexes(cursor: Any, schema_name: str) -> int:
    cursor.execute(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND tablename = 'dualauth_authsession'", [schema_name]
    )
    return int(cursor.fetchone()[0])


def _owned(cursor: Any, schema_name: str) -> bool:
    """Whether the kept filler still belongs to users that exist (a join must not drop it)."""
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM auth_user WHERE id = (SELECT user_id FROM {schema_name}.dualauth_authsession"
        " LIMIT 1))"
    )
    return bool(cursor.fetchone()[0])


def filler_user_ids() -> list[int]:
    """A thousand users to own the filler, made once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM auth_user WHERE username LIKE 'filler-%%' ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        if len(ids) < FILLER_USERS:
            cursor.execute(
                "INSERT INTO auth_user (username, password, is_superuser, is_staff, is_active, first_name,"
                " last_name, email, date_joined) SELECT 'filler-' || i, '!', false, false, true, '', '', '', now()"
                " FROM generate_series(1, %s) AS i ON CONFLICT (username) DO NOTHING",
                [FILLER_USERS],
            )
            cursor.execute("SELECT id FROM auth_user WHERE username LIKE 'filler-%%' ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
    return ids


def fill_database(size: int, progress: Callable[[str], None]) -> None:
    """``schema(size).dualauth_authsession`` with ``size`` sign-ins, half of them revoked."""
    name = schema(size)
    users = filler_user_ids()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
        if _indexes(cursor, name) != _indexes(cursor, "public"):  # made before a migration changed the table
            cursor.execute(f"DROP TABLE IF EXISTS {name}.dualauth_authsession")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {name}.dualauth_authsession (LIKE public.dualauth_authsession INCLUDING ALL)"
        )
        cursor.execute(f"DELETE FROM {name}.dualauth_authsession WHERE refresh_jti <> 'filler'")
        if _count(cursor, f"{name}.dualauth_authsession") == size and _owned(cursor, name):
            return
        progress(f"  filling PostgreSQL with {size:,} sign-ins")
        cursor.execute(f"TRUNCATE {name}.dualauth_authsession")
        for start in range(0, size, FILL_CHUNK):
            cursor.execute(
                f"INSERT INTO {name}.dualauth_authsession (id, user_id, kind, session_key, refresh_jti,"
                " previous_refresh_jti, ip, user_agent, created_at, last_seen_at, expires_at, revoked_at,"
                " revoked_reason)"
                " SELECT gen_random_uuid(), (%(users)s::bigint[])[1 + i %% %(count)s],"
                " CASE WHEN i %% 3 = 0 THEN 'session' ELSE 'jwt' END, '', 'filler', '', '10.0.0.1',"
                " 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0', now() - i * interval '1 second',"
                " now() - i * interval '1 second', now() + interval '30 days',"
                " CASE WHEN i %% 2 = 0 THEN now() END, CASE WHEN i %% 2 = 0 THEN 'admin' ELSE '' END"
                " FROM generate_series(%(start)s, %(stop)s) AS i",
                {"users": users, "count": len(users), "start": start, "stop": min(start + FILL_CHUNK, size) - 1},
            )
        cursor.execute(f"ANALYZE {name}.dualauth_authsession")


def copy_sign_ins(sizes: list[int], sids: list[uuid.UUID]) -> None:
    """The measured sign-ins, present in every size's table."""
    with connection.cursor() as cursor:
        for size in sizes:
            cursor.execute(
                f"INSERT INTO {schema(size)}.dualauth_authsession SELECT * FROM public.dualauth_authsession"
                " WHERE id = ANY(%s) ON CONFLICT (id) DO NOTHING",
                [sids],
            )


def redis_url(size: int) -> str:
    base = settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[0]
    return f"{base}/{12 if size < 10_000 else 13}"


def fill_redis(size: int, progress: Callable[[str], None]) -> None:
    client = redis.Redis.from_url(redis_url(size))
    if client.dbsize() == size:
        return
    progress(f"  filling Redis with {size:,} sign-ins")
    client.flushdb()
    script = client.register_script(FILL_REDIS)
    for start in range(0, size, FILL_CHUNK):
        script(args=[":1:dualauth:sid:", start, min(FILL_CHUNK, size - start), ENTRY_TTL_MS])


def store_settings(scenario: Scenario, size: int, store: str) -> dict[str, Any]:
    overrides = scenario.settings()
    overrides["DUALAUTH"] = {**overrides["DUALAUTH"], "STORE": store}
    if store == "redis":
        overrides["CACHES"] = {
            "default": {**settings.CACHES["default"], "LOCATION": redis_url(size)},
        }
    return overrides


@dataclass
class Sized:
    label: str
    request_us: list[float] = field(default_factory=list)
    check_us: list[float] = field(default_factory=list)


def per_request(
    user: Any,
    sizes: list[int],
    *,
    rounds: int,
    requests: int,
    checks: int,
    credential: Callable[[Scenario, Any], dict[str, str]],
    progress: Callable[[str], None],
) -> dict[str, Sized]:
    """One request and one bare ``services.check()`` of a live jwt sign-in, per store and size."""
    from dualauth import services
    from dualauth.tokens import token_sid

    scenario = SCENARIOS["jwt-header-database"]
    for size in sizes:
        fill_database(size, progress)
        fill_redis(size, progress)
    cases = []
    for store in ("database", "redis"):
        for size in sizes:
            overrides = store_settings(scenario, size, store)
            with override_settings(**overrides):
                environ = credential(scenario, user)
                runner = inprocess.Runner(scenario, environ)
            sid = token_sid(environ["HTTP_AUTHORIZATION"].split()[1], "access")
            cases.append((f"{store} store, {size:,} sign-ins", store, size, runner, sid))
    copy_sign_ins(sizes, [case[4] for case in cases])
    results = {label: Sized(label) for label, *_rest in cases}
    for round_number in range(rounds):
        # Each store's two sizes back to back, the order alternating: the pair sees the same machine.
        order = cases if round_number % 2 == 0 else [cases[1], cases[0], cases[3], cases[2]]
        for label, store, size, runner, sid in order:
            with search_path(schema(size) if store == "database" else None):
                results[label].request_us.append(runner.batch(requests, 50))
                with override_settings(**runner.overrides):
                    started = time.perf_counter()
                    for _ in range(checks):
                        services.check(sid, "jwt")
                    results[label].check_us.append((time.perf_counter() - started) / checks * 1e6)
        progress(f"  scale round {round_number + 1}/{rounds} done")
    return results


@dataclass
class Timed:
    label: str
    ms: list[float] = field(default_factory=list)
    rows: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.ms)


def _time_get(client: Client, path: str, repeat: int) -> tuple[list[float], Any]:
    timings, response = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return timings, response


def listing(user: Any, counts: list[int], *, repeat: int, progress: Callable[[str], None]) -> dict[str, Timed]:
    """``GET /api/auth/sessions/`` for a user with ``count`` live sign-ins."""
    from django.contrib.auth import get_user_model

    results = {}
    scenario = SCENARIOS["session-db-database"]
    with override_settings(**scenario.settings()):
        for count in counts:
            owner, _ = get_user_model().objects.get_or_create(username=f"lister-{count}")
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM dualauth_authsession WHERE user_id = %s", [owner.pk])
                cursor.execute(
                    "INSERT INTO dualauth_authsession (id, user_id, kind, session_key, refresh_jti,"
                    " previous_refresh_jti, ip, user_agent, created_at, last_seen_at, expires_at, revoked_reason)"
                    " SELECT gen_random_uuid(), %s, 'jwt', '', 'filler', '', '10.0.0.1',"
                    " 'Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0', now() - i * interval '1 second',"
                    " now(), now() + interval '30 days', '' FROM generate_series(1, %s) AS i",
                    [owner.pk, count - 1],
                )
            client = Client()
            client.force_login(owner)
            timings, response = _time_get(client, "/api/auth/sessions/", repeat)
            label = f"{count:,} sign-ins"
            results[label] = Timed(label, timings, len(response.json()))
        progress("  listing done")
    return results


def admin_changelist(user: Any, sizes: list[int], *, repeat: int, progress: Callable[[str], None]) -> dict[str, Timed]:
    """The sign-ins changelist (and its "active" filter) as a superuser, per table size."""
    results = {}
    scenario = SCENARIOS["session-db-database"]
    with override_settings(**scenario.settings()):
        from dualauth.services import SESSION_SID_KEY

        client = Client()
        client.force_login(user)
        copy_sign_ins(sizes, [client.session[SESSION_SID_KEY]])
        for path, what in (
            ("/admin/dualauth/authsession/", "changelist"),
            ("/admin/dualauth/authsession/?status=active", "active filter"),
        ):
            for size in sizes:
                with search_path(schema(size)):
                    timings, _response = _time_get(client, path, repeat)
                label = f"{what}, {size:,} rows"
                results[label] = Timed(label, timings, size)
        progress("  admin done")
    return results
