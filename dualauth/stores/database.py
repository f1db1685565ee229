"""The embedded default: every check asks the database (one indexed primary-key read)."""

from __future__ import annotations

import uuid

from ..models import AuthSession
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
)


class DatabaseStore(BaseStore):
    def get(self, sid: uuid.UUID) -> SignInState | None:
        row = AuthSession.objects.filter(pk=sid).only(*STATE_FIELDS).first()
        return None if row is None else SignInState.of(row)

    def changed(self, sid: uuid.UUID) -> None:
        """Nothing to do: the database is what ``get`` reads."""
