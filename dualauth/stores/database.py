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
    "refresh_jti",
    "created_at",
    "last_seen_at",
    "expires_at",
    "revoked_at",
)


def state_from_row(row: dict[str, object]) -> SignInState:
    return SignInState(
        sid=row["id"],  # type: ignore[arg-type]
        user_id=row["user_id"],
        kind=row["kind"],  # type: ignore[arg-type]
        session_key=row["session_key"],  # type: ignore[arg-type]
        refresh_jti=row["refresh_jti"],  # type: ignore[arg-type]
        created_at=row["created_at"],  # type: ignore[arg-type]
        last_seen_at=row["last_seen_at"],  # type: ignore[arg-type]
        expires_at=row["expires_at"],  # type: ignore[arg-type]
        revoked=row["revoked_at"] is not None,
    )


class DatabaseStore(BaseStore):
    def get(self, sid: uuid.UUID) -> SignInState | None:
        row = AuthSession.objects.filter(pk=sid).values(*STATE_FIELDS).first()
        return None if row is None else state_from_row(row)

    def changed(self, sid: uuid.UUID) -> None:
        """Nothing to do: the database is what ``get`` reads."""
