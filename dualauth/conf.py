"""The one place dualauth's settings are read.

Values are looked up on every access from ``settings.DUALAUTH`` merged over
``DEFAULTS``; the merged dict is memoised and dropped on ``setting_changed``,
so ``override_settings(DUALAUTH=...)`` takes effect at once. Nothing here is
read at import time. Validation lives in ``checks.py``.
"""

from __future__ import annotations

from typing import Any

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


class DualAuthSettings:
    """Attribute access over the merged ``DUALAUTH`` dict (``dualauth_settings.MODE``)."""

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

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in DEFAULTS:
            raise AttributeError(f"dualauth has no setting {name!r}")
        return self._values()[name]

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
