"""Logging out, including while the session store or the database is down.

Only the database can record that a sign-in ended: a session store can
delete a session, but one restored from an older snapshot would bring it
back. So a logout the database could not record raises ``NotRecorded``,
and the adapters tell the client to try again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ..exceptions import NotRecorded
from ..models import AuthSession, Kind, Reason
from .django_sessions import delete_session, keys_are_tracked
from .revoking import revoke
from .shared import UNREACHABLE, logger


def sign_ins_of_session(session_key: str) -> list[uuid.UUID]:
    """The live sign-ins of the Django session with this key.

    How a logout finds its sign-in when the session data cannot be read (its
    session store is down): the key is in the cookie, and in the row.
    ``NotRecorded`` if the database cannot answer either.
    """
    if not session_key or not keys_are_tracked():
        return []
    rows = AuthSession.objects.filter(kind=Kind.SESSION, session_key=session_key, revoked_at__isnull=True)
    try:
        return list(rows.values_list("pk", flat=True))
    except UNREACHABLE as exc:
        raise NotRecorded from exc


def end_lost_session(session_key: str) -> int:
    """End the sign-ins of a Django session its store no longer gives back; return how many were live."""
    try:
        return sum(revoke(sid, Reason.SESSION_LOST) for sid in sign_ins_of_session(session_key))
    except UNREACHABLE as exc:
        raise NotRecorded from exc


def log_out(sids: Iterable[uuid.UUID], session_key: str | None = None) -> int:
    """End the sign-ins a logout presented; return how many were live.

    When the database cannot be written, ``NotRecorded`` is raised after the
    Django session, if any, has been deleted as far as its engine can.
    """
    try:
        return sum(revoke(sid, Reason.LOGOUT) for sid in sids)
    except UNREACHABLE as exc:
        logger.warning("dualauth: a logout could not be recorded: the database is unreachable (%s)", exc)
        if session_key:
            delete_session(session_key)
        raise NotRecorded from exc
