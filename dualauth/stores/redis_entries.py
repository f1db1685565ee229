"""What the Redis store keeps of a sign-in: one JSON entry per ``sid``, and the script that writes it.

An entry is written unconditionally only for a revocation; every other write
goes through ``SET_UNLESS_REVOKED_OR_NEWER``, which refuses to replace a
revoked entry or a newer one (see ``stores/redis.py``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError

from ..models import AuthSession
from ..moments import as_aware, as_stored
from .base import SignInState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEY_PREFIX = "dualauth:sid:"

# KEYS[1] the entry; ARGV[1] the new value, ARGV[2] its last-seen time, ARGV[3] its TTL in ms.
# A revoked entry is final; an entry seen more recently than the new value is newer.
SET_UNLESS_REVOKED_OR_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
    local ok, state = pcall(cjson.decode, current)
    if ok and type(state) == 'table' then
        if state['r'] == 1 then return 0 end
        if tonumber(state['s']) and tonumber(state['s']) > tonumber(ARGV[2]) then return 0 end
    end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""


def micros(moment: datetime) -> int:
    return (as_aware(moment) - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return as_stored(EPOCH + timedelta(microseconds=value))


def encode(state: SignInState) -> str:
    return json.dumps(
        {
            "r": int(state.revoked),
            "s": micros(state.last_seen_at),
            "u": str(state.user_id),
            "k": state.kind,
            "h": state.session_key_hash,
            "c": micros(state.created_at),
            "e": micros(state.expires_at),
            "m": state.user_mark,
        },
        separators=(",", ":"),
    )


def decode(sid: uuid.UUID, raw: bytes | str) -> SignInState | None:
    """The state in an entry, or ``None`` for anything this module did not write."""
    try:
        data = json.loads(raw)
        user_id = AuthSession._meta.get_field("user").target_field.to_python(data["u"])
        return SignInState(
            sid=sid,
            user_id=user_id,
            kind=data["k"],
            session_key_hash=data["h"],
            created_at=from_micros(data["c"]),
            last_seen_at=from_micros(data["s"]),
            expires_at=from_micros(data["e"]),
            revoked=bool(data["r"]),
            # An entry without it was written by a dualauth that kept no marks: a miss, refilled.
            user_mark=data["m"],
        )
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, ValidationError):
        return None
