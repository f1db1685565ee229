"""Read many Django sessions at once, whatever the engine: what the admin's session screen shows.

One round trip per page, not one per row: ``get_many`` on the cache engines,
one query on the database ones; engines with neither (files) are read one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone


def load_many(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The data of each session in ``keys`` that its engine still holds, by key."""
    wanted = [key for key in dict.fromkeys(keys) if key]
    if not wanted:
        return {}
    store_class: Any = import_module(settings.SESSION_ENGINE).SessionStore
    found: dict[str, dict[str, Any]] = {}
    prefix = getattr(store_class, "cache_key_prefix", None)
    if prefix is not None:
        try:
            hits = caches[settings.SESSION_CACHE_ALIAS].get_many([prefix + key for key in wanted])
        except Exception:  # noqa: BLE001 - an unreachable cache is no session data, and cached_db has the database
            hits = {}
        found = {key: hits[prefix + key] for key in wanted if prefix + key in hits}
    missing = [key for key in wanted if key not in found]
    if not missing:
        return found
    if hasattr(store_class, "get_model_class"):
        decoder = store_class()
        rows = store_class.get_model_class()._default_manager.filter(
            session_key__in=missing, expire_date__gt=timezone.now()
        )
        for row in rows:
            found[row.session_key] = decoder.decode(row.session_data)
    elif prefix is None:
        for key in missing:
            store = store_class(key)
            if store.exists(key):
                found[key] = dict(store.items())
    return found
