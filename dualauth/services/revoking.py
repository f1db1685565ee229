"""Ending sign-ins: one, a user's, everyone's. The database first, then the state store."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone

from .. import signals, users
from ..models import AuthSession, Kind, Reason
from ..stores import get_store
from ..tokens import parse_sid
from . import django_sessions, simplejwt_tables
from .shared import logger

T = TypeVar("T", AuthSession, uuid.UUID, str)


def revoke(target: AuthSession | uuid.UUID | str, reason: str, *, delete_session: bool = True) -> bool:
    """End a sign-in; return whether it was live. The database first, then the store.

    A session-kind sign-in also loses its Django session (any engine but signed
    cookies, which the ``sid`` check kills instead); a jwt-kind one has its
    current refresh token blacklisted, and its access tokens fail the ``sid``
    check from the next request on.
    """
    sid = target.pk if isinstance(target, AuthSession) else target
    updated = AuthSession.objects.filter(pk=sid, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    if not updated:
        return False
    row = AuthSession.objects.select_related("user").get(pk=sid)
    get_store().changed(row.pk)
    if row.kind == Kind.SESSION:
        if delete_session:
            django_sessions.delete_session(row.session_key)
    else:
        simplejwt_tables.blacklist(row.refresh_jti, row.user_id, row.expires_at)
    logger.info("dualauth: sign-in %s of user %s revoked (%s)", row.pk, row.user_id, reason)
    signals.session_revoked.send(sender=AuthSession, auth_session=row, reason=reason)
    return True


def end_sign_ins(
    users: Iterable[Any] | None,
    sign_ins: Iterable[T],
    reason: str,
    *,
    legacy: bool = True,
    ended: Callable[[T], object] | None = None,
) -> list[T]:
    """End ``sign_ins`` (rows or ids) of ``users`` (``None``: of anyone), after the users' legacy refresh tokens.

    Whatever ends all of a user's sign-ins must end the refresh tokens
    simplejwt issued before dualauth too: they belong to no sign-in, and
    would otherwise be exchanged for a new one. They go first, so a token
    exchanged meanwhile becomes a sign-in that ``sign_ins`` (evaluated after,
    when it is a query) still holds. Returns those that were live; ``ended``
    hears of each the moment it ends (an audit log entry written then
    survives a failure further down the list).
    """
    if legacy:
        if users is None:
            simplejwt_tables.end_legacy_tokens()
        else:
            for user in users:
                simplejwt_tables.end_legacy_tokens(user)
    done = []
    for sign_in in list(sign_ins):
        if revoke(sign_in, reason):
            done.append(sign_in)
            if ended is not None:
                ended(sign_in)
    return done


def revoke_user(user: Any, reason: str, *, keep: uuid.UUID | str | None = None, kind: str | None = None) -> int:
    """End every live sign-in of ``user`` but ``keep``; return how many ended."""
    rows = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    if keep is not None:
        rows = rows.exclude(pk=keep)
    if kind is not None:
        rows = rows.filter(kind=kind)
    return len(end_sign_ins([user], rows.values_list("pk", flat=True), reason, legacy=kind in (None, Kind.JWT)))


def revoke_everyone(reason: str, *, kind: str | None = None) -> tuple[int, int]:
    """End every live sign-in (of ``kind``, when given); return (sign-ins ended, users they belonged to)."""
    rows = AuthSession.objects.filter(revoked_at__isnull=True)
    if kind is not None:
        rows = rows.filter(kind=kind)
    ended = end_sign_ins(None, rows.only("pk", "user_id"), reason, legacy=kind in (None, Kind.JWT))
    return len(ended), len({row.user_id for row in ended})


def revoke_own(user: Any, sid: Any, reason: str) -> uuid.UUID | None:
    """Revoke one of ``user``'s live sign-ins; ``None`` if ``sid`` is not one (malformed, another's, ended)."""
    parsed = parse_sid(sid)
    if parsed is None or not AuthSession.objects.active().filter(pk=parsed, user_id=user.pk).exists():
        return None
    revoke(parsed, reason)
    return parsed


def active_sign_ins(user: Any) -> list[AuthSession]:
    """``user``'s live sign-ins (idle timeout included), the most recently seen first."""
    return list(AuthSession.objects.active().filter(user_id=user.pk).order_by("-last_seen_at"))


def end_unloadable_session(request: HttpRequest, sid: Any, user_id: Any) -> None:
    """Revoke the sign-in of a session whose user Django no longer loads.

    ``get_user()`` turns such a session anonymous (user inactive, deleted, or
    its password hash changed); without this its sign-in would look active,
    and come back if the user were reactivated.
    """
    pk = users.user_pk(user_id)
    users_by_pk = get_user_model()._default_manager
    active = None if pk is None else users_by_pk.filter(pk=pk).values_list("is_active", flat=True).first()
    revoke(sid, Reason.DEACTIVATED if active is False else Reason.INVALIDATED, delete_session=False)


def sign_in_deleted(sid: uuid.UUID) -> None:
    """A row is gone (its user was deleted, or cleanup removed it): the store must stop answering for it."""
    get_store().changed(sid)
