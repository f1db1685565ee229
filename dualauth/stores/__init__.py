"""Pick the state store named by ``DUALAUTH["STORE"]``; memoised, reset on ``setting_changed``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from ..conf import dualauth_settings
from .base import BaseStore, SignInState

__all__ = ["BaseStore", "SignInState", "get_store"]

_store: BaseStore | None = None


def get_store() -> BaseStore:
    global _store
    if _store is None:
        name = dualauth_settings.STORE
        if name == "database":
            from .database import DatabaseStore

            _store = DatabaseStore()
        else:
            raise ImproperlyConfigured(f"DUALAUTH['STORE'] = {name!r} is not available in this version of dualauth")
    return _store


@receiver(setting_changed, dispatch_uid="dualauth.stores.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    global _store
    if setting in ("DUALAUTH", "CACHES"):
        _store = None
