"""Where a request comes from: client IP (``TRUSTED_PROXY_COUNT``) and a device label.

django-ipware / python-ipware were tried for the IP and left out: their
``proxy_count`` is a different rule from ours (their modern engine answered
``None`` for chains of private proxies, and with no count they believe the
client's own ``X-Forwarded-For``). Ours is exact and short: with N trusted
proxies the client is the Nth ``X-Forwarded-For`` entry from the right, and
with 0 the headers are never read.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.http import HttpRequest

from .conf import dualauth_settings

USER_AGENT_MAX_LENGTH = 512


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    count = dualauth_settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote
    entries = [e for e in (request.META.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if e.strip()]
    if len(entries) < count:
        return remote
    return _valid_ip(entries[-count]) or remote


def user_agent(request: HttpRequest) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") or "")[:USER_AGENT_MAX_LENGTH]


@lru_cache(maxsize=1024)
def device_label(user_agent: str) -> str:
    """A short human label such as "Chrome 120 on Mac OS X", from ua-parser's rules."""
    if not user_agent:
        return ""
    from ua_parser import parse

    result = parse(user_agent)
    parts = []
    if result.user_agent is not None and result.user_agent.family != "Other":
        ua = result.user_agent
        parts.append(f"{ua.family} {ua.major}" if ua.major else ua.family)
    if result.os is not None and result.os.family != "Other":
        parts.append(f"on {result.os.family}")
    return " ".join(parts) or "Unknown device"
