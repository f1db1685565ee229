"""A sign-in's binding to its user's password and privileges (``AuthSession.user_mark``).

``still_bound`` is asked wherever a request has just read the user row;
``user_changed`` is told of saves as they happen; ``password_rehashed``
carries sign-ins over Django's hash upgrade on login.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpRequest

from .. import user_marks
from ..conf import dualauth_settings
from ..models import AuthSession, Reason
from ..stores import SignInState, get_store
from ..tokens import parse_sid
from .django_sessions import trackable_session_key
from .revoking import revoke, revoke_user
from .shared import SESSION_SID_KEY


def still_bound(state: SignInState, user: Any) -> bool:
    """Whether ``user`` still has the password and privileges the sign-in started with; if not, end it.

    Called wherever a request has just read the user row, so every change is
    caught on the sign-in's next request, whatever made it (``user_changed``
    ends sign-ins at once for the changes it hears of). A caching state store
    may hold a mark older than the row, so a difference is confirmed against
    the database before anything ends.
    """
    change = user_marks.compare(state.user_mark, user)
    if change is None:
        return True
    held = AuthSession.objects.filter(pk=state.sid, revoked_at__isnull=True).values_list("user_mark", flat=True).first()
    if held is None:
        return False
    if held != state.user_mark:
        get_store().changed(state.sid)
        change = user_marks.compare(held, user)
        if change is None:
            return True
    if change.privileges:
        revoke(state.sid, Reason.PRIVILEGE_CHANGE)
        return False
    if change.password and dualauth_settings.REVOKE_ON_PASSWORD_CHANGE:
        revoke(state.sid, Reason.PASSWORD_CHANGE)
        return False
    rebind(state.sid, user_marks.mark_of(user))  # a kept password change, or nothing to compare with yet
    return True


def rebind(sid: uuid.UUID, mark: str, **changes: Any) -> None:
    """Bind a live sign-in to the user as ``mark`` describes it now."""
    AuthSession.objects.filter(pk=sid, revoked_at__isnull=True).update(user_mark=mark, **changes)
    get_store().changed(sid)


def password_rehashed(user: Any, previous_hash: str) -> int:
    """Django upgraded the stored hash of an unchanged password on login: keep the sign-ins bound to it.

    Only sign-ins bound to the hash just replaced are carried over; one bound
    to an older password stays as refused as it was. Returns how many.
    """
    old_part = user_marks.password_part(previous_hash)
    carried = 0
    for sid, mark in AuthSession.objects.filter(user_id=user.pk, revoked_at__isnull=True).values_list(
        "pk", "user_mark"
    ):
        if mark.partition(".")[0] == old_part:
            rebind(sid, user_marks.with_password(mark, user.password))
            carried += 1
    return carried


def user_changed(
    user: Any,
    *,
    password_set: bool | None = False,
    deactivated: bool = False,
    privileges_changed: bool | None = False,
    keep: uuid.UUID | None = None,
    request: HttpRequest | None = None,
) -> int:
    """React to a saved user; return how many sign-ins ended.

    Deactivation ends every sign-in. A new password (``REVOKE_ON_PASSWORD_CHANGE``)
    or a privilege change ends all but ``keep``: the sign-in of ``request``,
    when the user made the change themselves. A kept session gets a new key
    (OWASP: renew the id on a privilege change), so an id copied before the
    change is worth nothing after it. ``None`` for ``password_set`` or
    ``privileges_changed``: the saved instance only suggests it, and the marks
    of the user's sign-ins decide.
    """
    if deactivated:
        return revoke_user(user, Reason.DEACTIVATED)
    if password_set is None or privileges_changed is None:
        change = _held_change(user)
        if password_set is None:
            password_set = bool(change and change.password)
        if privileges_changed is None:
            privileges_changed = bool(change and change.privileges)
    if (password_set or privileges_changed) and keep:
        # First: another request of this sign-in may already read the saved row, and must find it bound to it.
        session = getattr(request, "session", None)
        if request is not None and session is not None and parse_sid(session.get(SESSION_SID_KEY)) == keep:
            request.session.cycle_key()
            rebind(keep, user_marks.mark_of(user), session_key=trackable_session_key(request))
        else:
            rebind(keep, user_marks.mark_of(user))
    ended = 0
    if privileges_changed:
        ended += revoke_user(user, Reason.PRIVILEGE_CHANGE, keep=keep)
    if password_set and dualauth_settings.REVOKE_ON_PASSWORD_CHANGE:
        ended += revoke_user(user, Reason.PASSWORD_CHANGE, keep=keep)
    return ended


def _held_change(user: Any) -> user_marks.Change | None:
    """How ``user`` differs from what its live sign-ins were bound to, any of them; ``None``: from none."""
    marks = AuthSession.objects.filter(user_id=user.pk, revoked_at__isnull=True).exclude(user_mark="")
    changes = [
        change for mark in marks.values_list("user_mark", flat=True) if (change := user_marks.compare(mark, user))
    ]
    if not changes:
        return None
    return user_marks.Change(
        password=any(change.password for change in changes), privileges=any(change.privileges for change in changes)
    )
