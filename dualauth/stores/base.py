"""The contract of a state store: the hot-path answer to "is this sid live?".

The database is the source of truth and only ``dualauth.services`` writes it;
a store answers reads and is told when a row changed, so a caching store can
drop or rewrite what it holds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from .. import liveness

T = TypeVar("T")


def hash_session_key(session_key: str) -> str:
    """What a store keeps of a session key: enough to notice it changed, useless to a thief."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


@dataclass(frozen=True)
class SignInState:
    """What the hot path needs to know about one sign-in."""

    sid: uuid.UUID
    user_id: Any
    kind: str
    session_key_hash: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked: bool
    user_mark: str

    @classmethod
    def of(cls, row: Any) -> SignInState:
        """The state of an ``AuthSession`` (or any object with its attributes)."""
        return cls(
            sid=row.id,
            user_id=row.user_id,
            kind=row.kind,
            session_key_hash=hash_session_key(row.session_key),
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
            user_mark=row.user_mark,
        )

    def is_live(self, now: datetime) -> bool:
        return liveness.is_live(self.revoked, self.expires_at, self.last_seen_at, now)


class BaseStore:
    """Base class of the state stores named by ``DUALAUTH["STORE"]``."""

    # Methods that child classes must implement.

    def get(self, sid: uuid.UUID) -> SignInState | None:
        """Return the state of ``sid``, or ``None`` when no such sign-in exists.

        Must never answer from memory local to one process: a revocation made
        by another instance has to be seen on the next request.
        """
        raise NotImplementedError("subclasses of BaseStore must provide a get() method")

    def changed(self, sid: uuid.UUID) -> None:
        """Called by the service layer after it wrote the row of ``sid``."""
        raise NotImplementedError("subclasses of BaseStore must provide a changed() method")

    # Optional.

    def get_overlapping(self, sid: uuid.UUID, work: Callable[[], T]) -> tuple[SignInState | None, T]:
        """``get(sid)`` and ``work()``, both, in whatever order costs least.

        The hot path reads the user from the database on every request; a
        store that waits on a network can send its question first and wait
        for the answer during that read instead of before it.
        """
        return self.get(sid), work()

    def resync(self, sids: Iterable[uuid.UUID]) -> int:
        """Write these sign-ins again from the database; return how many. A store with no copy has nothing to do."""
        return 0

    def flush(self) -> bool:
        """Deliver now any write held back (its backend was unreachable); return whether none is left.

        A short-lived process (a management command) calls it before exiting,
        since it will not be around to deliver them later.
        """
        return True
