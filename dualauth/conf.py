"""The one place dualauth's settings are read.

Values are looked up on every access from ``settings.DUALAUTH`` merged over
``DEFAULTS``; the merged dict is memoised and dropped on ``setting_changed``,
so ``override_settings(DUALAUTH=...)`` takes effect at once. Nothing here is
read at import time. Validation lives in ``checks.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar, cast, overload

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    "MODE": "session",
    "STORE": "database",
    "REDIS_CACHE_ALIAS": "default",
    "JWT_TRANSPORTS": ["header", "cookie"],
    "ACCESS_COOKIE": "dualauth_access",
    "REFRESH_COOKIE": "dualauth_refresh",
    "COOKIE_SECURE": None,
    "COOKIE_SAMESITE": "Lax",
    "CHECK_REVOCATION": True,
    "SESSION_IDLE_TIMEOUT": None,
    "SESSION_ABSOLUTE_TIMEOUT": 30 * 24 * 3600,
    "ACTIVITY_UPDATE_INTERVAL": 60,
    "LOGIN_THROTTLE_RATE": "10/min",
    "LOGIN_IP_RATE": None,
    "LOGIN_USERNAME_RATE": None,
    "REVOKE_ON_PASSWORD_CHANGE": True,
    "HYBRID_DEFAULT_KIND": "session",
    "MAX_SESSIONS_PER_USER": None,
    "TRUSTED_PROXY_COUNT": 0,
    "COOKIE_DOMAIN": None,
    "REFRESH_REUSE_GRACE": 0,
    "ADOPT_LEGACY_TOKENS": False,
    "REVOKED_RETENTION": 30 * 24 * 3600,
    "CLEAR_SITE_DATA_ON_LOGOUT": True,
    "USER_SERIALIZER": "dualauth.serializers.UserSerializer",
    "TOKEN_CLAIMS_HOOK": None,
    "MAX_TOKEN_LENGTH": 4096,
    "EXTRA_PRIVILEGE_FIELDS": [],
    "STORE_ENTRY_MAX_AGE": 30,
}

MODES = ("session", "jwt", "hybrid")
KINDS = ("session", "jwt")
STORES = ("database", "redis")
TRANSPORTS = ("header", "cookie")
SAMESITE_VALUES = ("Lax", "Strict", "None")

V = TypeVar("V")


class Key(Generic[V]):
    """One setting, typed: its value in the merged ``DUALAUTH`` dict. What the value may be is checked at
    start-up by ``checks.py``; the type here is what a valid project has."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Key[V]: ...

    @overload
    def __get__(self, instance: DualAuthSettings, owner: type) -> V: ...

    def __get__(self, instance: DualAuthSettings | None, owner: type) -> Key[V] | V:
        if instance is None:
            return self
        return cast(V, instance._values()[self.name])


class DualAuthSettings:
    """Typed attribute access over the merged ``DUALAUTH`` dict (``dualauth_settings.MODE``)."""

    MODE: Key[str] = Key()
    STORE: Key[str] = Key()
    REDIS_CACHE_ALIAS: Key[str] = Key()
    JWT_TRANSPORTS: Key[Sequence[str]] = Key()
    ACCESS_COOKIE: Key[str] = Key()
    REFRESH_COOKIE: Key[str] = Key()
    COOKIE_SECURE: Key[bool | None] = Key()
    COOKIE_SAMESITE: Key[str] = Key()
    CHECK_REVOCATION: Key[bool] = Key()
    SESSION_IDLE_TIMEOUT: Key[int | None] = Key()
    SESSION_ABSOLUTE_TIMEOUT: Key[int | None] = Key()
    ACTIVITY_UPDATE_INTERVAL: Key[int] = Key()
    LOGIN_THROTTLE_RATE: Key[str | None] = Key()
    LOGIN_IP_RATE: Key[str | None] = Key()
    LOGIN_USERNAME_RATE: Key[str | None] = Key()
    REVOKE_ON_PASSWORD_CHANGE: Key[bool] = Key()
    HYBRID_DEFAULT_KIND: Key[str] = Key()
    MAX_SESSIONS_PER_USER: Key[int | None] = Key()
    TRUSTED_PROXY_COUNT: Key[int] = Key()
    COOKIE_DOMAIN: Key[str | None] = Key()
    REFRESH_REUSE_GRACE: Key[int] = Key()
    ADOPT_LEGACY_TOKENS: Key[bool] = Key()
    REVOKED_RETENTION: Key[int] = Key()
    CLEAR_SITE_DATA_ON_LOGOUT: Key[bool] = Key()
    USER_SERIALIZER: Key[str] = Key()
    TOKEN_CLAIMS_HOOK: Key[str | None] = Key()
    MAX_TOKEN_LENGTH: Key[int] = Key()
    EXTRA_PRIVILEGE_FIELDS: Key[Sequence[str]] = Key()
    STORE_ENTRY_MAX_AGE: Key[int] = Key()

    def __init__(self) -> None:
        self._merged: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "DUALAUTH", None)
        return value if isinstance(value, dict) else {}

    def _values(self) -> dict[str, Any]:
        if self._merged is None:
            self._merged = {**DEFAULTS, **self.user_settings}
        return self._merged

    def reload(self) -> None:
        self._merged = None

    @property
    def cookie_secure(self) -> bool:
        """``COOKIE_SECURE`` with ``None`` resolved: Secure unless DEBUG."""
        forced = self._values()["COOKIE_SECURE"]
        return (not settings.DEBUG) if forced is None else bool(forced)

    @property
    def jwt_enabled(self) -> bool:
        return self._values()["MODE"] in ("jwt", "hybrid")

    @property
    def session_enabled(self) -> bool:
        return self._values()["MODE"] in ("session", "hybrid")


dualauth_settings = DualAuthSettings()


@receiver(setting_changed, dispatch_uid="dualauth.conf.reload")
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "DUALAUTH":
        dualauth_settings.reload()
