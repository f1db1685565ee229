"""Build tokens the way an attacker would: from real claims, with any header, key or algorithm."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt

from dualauth.tokens import jwt_settings


def b64(part: dict | bytes) -> str:
    raw = part if isinstance(part, bytes) else json.dumps(part).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(raw: str) -> dict[str, Any]:
    """The claims of a token, read without verifying (as anyone holding it can)."""
    return dict(jwt.decode(raw, options={"verify_signature": False}))


def server_key() -> str:
    return jwt_settings().SIGNING_KEY  # type: ignore[no-any-return]


def forge(payload: dict[str, Any], key: Any = None, algorithm: str = "HS256", headers: dict | None = None) -> str:
    return jwt.encode(payload, server_key() if key is None else key, algorithm=algorithm, headers=headers)


def unsigned(payload: dict[str, Any], alg: str = "none") -> str:
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(payload)}."
