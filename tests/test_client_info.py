"""Client IP per TRUSTED_PROXY_COUNT (a spoofed X-Forwarded-For is ignored) and device labels."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import RequestFactory

from dualauth.client_info import client_ip, device_label, user_agent


@pytest.mark.parametrize(
    ("count", "xff", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.1"),  # default: the header is never read
        (0, None, "10.0.0.1"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # client spoofed the left entry
        (1, "203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.1"),  # fewer entries than proxies: REMOTE_ADDR
        (1, "not-an-ip", "10.0.0.1"),
        (1, "", "10.0.0.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_trusted_proxy_count(rf: RequestFactory, settings: Any, count: int, xff: str | None, expected: str) -> None:
    settings.DUALAUTH = {"TRUSTED_PROXY_COUNT": count}
    meta = {"REMOTE_ADDR": "10.0.0.1"}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    assert client_ip(rf.get("/", **meta)) == expected


def test_missing_remote_addr(rf: RequestFactory) -> None:
    request = rf.get("/")
    request.META["REMOTE_ADDR"] = ""
    assert client_ip(request) is None


@pytest.mark.django_db
def test_spoofed_header_is_not_recorded_at_login(alice: Any, settings: Any) -> None:
    from .conftest import SignInClient

    settings.DUALAUTH = {"MODE": "jwt"}
    client = SignInClient("header")
    client.login("alice", HTTP_X_FORWARDED_FOR="6.6.6.6")
    from dualauth.models import AuthSession

    assert AuthSession.objects.get().ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("ua", "label"),
    [
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36",
            "Chrome 120 on Mac OS X",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.1 Mobile/15E148 Safari/604.1",
            "Mobile Safari 17 on iOS",
        ),
        ("curl/8.5.0", "curl 8"),
        ("", ""),
        ("\x00\x01 nonsense", "Unknown device"),
    ],
)
def test_device_label(ua: str, label: str) -> None:
    assert device_label(ua) == label


def test_user_agent_is_bounded(rf: RequestFactory) -> None:
    assert len(user_agent(rf.get("/", HTTP_USER_AGENT="x" * 10_000))) == 512
