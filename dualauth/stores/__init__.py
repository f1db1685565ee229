"""Pick the state store named by ``DUALAUTH["STORE"]``; memoised, reset on ``setting_changed``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from ..conf import dualauth_settings
from .base import BaseStore, SignInState, hash_session_key

__all__ = ["BaseStore", "SignInState", "get_store", "hash_session_key"]

_store: BaseStore | None = None


def get_store() -> BaseStore:
    global _store
    if _store is None:
        name = dualauth_settings.STORE
        if name == "database":
            from .database import DatabaseStore

            _store = DatabaseStore()
        elif name == "redis":
            from .redis import RedisStore

            _store = RedisStore(dualauth_settings.REDIS_CACHE_ALIAS, dualauth_settings.STORE_ENTRY_MAX_AGE)
        else:
            raise ImproperlyConfigured(f"DUALAUTH['STORE'] = {name!r} is not a dualauth store")
    return _store


@receiver(setting_changed, dispatch_uid="dualauth.stores.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    global _store
    if setting in ("DUALAUTH", "CACHES"):
        _store = None
