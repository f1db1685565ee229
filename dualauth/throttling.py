"""Login throttles: ``LOGIN_THROTTLE_RATE`` per client IP and per username."""

from __future__ import annotations

import hashlib
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .client_info import client_ip
from .conf import dualauth_settings


class _LoginThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        return dualauth_settings.LOGIN_THROTTLE_RATE  # type: ignore[no-any-return]

    def _key(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginIPThrottle(_LoginThrottle):
    scope = "dualauth_login_ip"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self._key(client_ip(request._request) or "unknown")


class LoginUsernameThrottle(_LoginThrottle):
    scope = "dualauth_login_user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        data = request.data
        username = data.get("username") if isinstance(data, dict) else None
        if not isinstance(username, str) or not username:
            return None
        return self._key(hashlib.sha256(username.casefold().encode("utf-8", "surrogatepass")).hexdigest())
