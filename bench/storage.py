"""What a sign-in keeps on the server: bytes per sign-in in PostgreSQL and in Redis, by kind.

Real sign-ins made by the service layer, not filler, so every column holds
what production writes (a session key, a jti, a user agent). PostgreSQL's
figure is the growth of ``pg_total_relation_size`` (table, TOAST and indexes)
of every table a sign-in writes, divided by the number of sign-ins; Redis's is
``MEMORY USAGE`` of each state-store entry, which counts the key, the value
and the allocator's overhead.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import RequestFactory, override_settings

from dualauth import services
from dualauth.stores import get_store

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
TABLES = {
    "sign-in rows (dualauth_authsession)": "dualauth_authsession",
    "outstanding refresh tokens (simplejwt)": "token_blacklist_outstandingtoken",
    "Django sessions (django_session)": "django_session",
}


def _sizes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # settles the free-space map, so growth is pages the rows really took
        sizes = {}
        for label, table in TABLES.items():
            cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[label] = int(cursor.fetchone()[0])
    return sizes


def _sign_in(user: Any, kind: str, number: int) -> Any:
    request = RequestFactory().post(
        "/api/auth/login/", HTTP_USER_AGENT=USER_AGENT, REMOTE_ADDR=f"198.51.{number // 250 % 250}.{number % 250 + 1}"
    )
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    signin = services.sign_in(request, user, kind)
    if kind == "session":
        request.session.save()  # SessionMiddleware's job in a real request
    return signin.auth_session.pk


def per_sign_in(user: Any, *, count: int, progress: Callable[[str], None]) -> dict[str, dict[str, float]]:
    """Bytes per sign-in of each kind: {kind: {where: bytes}}, from ``count`` sign-ins of each."""
    store_settings = {**settings.DUALAUTH, "STORE": "redis", "REDIS_CACHE_ALIAS": "default"}
    results: dict[str, dict[str, float]] = {}
    with override_settings(DUALAUTH=store_settings):
        store = get_store()
        client = store._client()
        for kind in ("jwt", "session"):
            progress(f"  storage: {count:,} {kind} sign-ins")
            before = _sizes()
            sids = [_sign_in(user, kind, number) for number in range(count)]
            after = _sizes()
            for sid in sids:
                assert services.check(sid, kind) is not None  # the check fills the store's entry
            usage = [client.memory_usage(store._key(sid), samples=0) for sid in sids]
            figures = {label: (after[label] - before[label]) / count for label in TABLES}
            figures["Redis state-store entry (MEMORY USAGE)"] = statistics.median(usage)
            results[kind] = figures
            for sid in sids:
                services.revoke(sid, "admin")
    return results
