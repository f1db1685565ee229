"""The embedded default: every check asks the database (one primary-key read, its SQL compiled once)."""

from __future__ import annotations

import uuid

from ..models import AuthSession
from ..rows import fetch_one
from .base import BaseStore, SignInState

STATE_FIELDS = (
    "id",
    "user_id",
    "kind",
    "session_key",
    "created_at",
    "last_seen_at",
    "expires_at",
    "revoked_at",
    "user_mark",
)


class DatabaseStore(BaseStore):
    def get(self, sid: uuid.UUID) -> SignInState | None:
        row = fetch_one(AuthSession, "pk", sid, only=STATE_FIELDS)
        return None if row is None else SignInState.of(row)

    def changed(self, sid: uuid.UUID) -> None:
        """Nothing to do: the database is what ``get`` reads."""
