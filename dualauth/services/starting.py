"""Starting a sign-in: a Django ``login()`` tracked, or a new token pair."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib import auth
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .. import signals, user_marks
from ..client_info import client_ip, user_agent
from ..conf import dualauth_settings
from ..models import AuthSession, Kind, Reason
from ..stores import SignInState, get_store
from ..tokens import jwt_settings
from . import simplejwt_tables
from .django_sessions import keys_are_tracked, trackable_session_key
from .issuing import absolute_end, capped, expiry_of, issue, new_refresh
from .revoking import revoke
from .shared import SESSION_SID_KEY, SignIn, default_kind, logger


def sign_in(request: HttpRequest, user: Any, kind: str | None = None) -> SignIn:
    """Start a sign-in for a user whose credentials the caller has already checked.

    A session sign-in goes through Django's ``login()`` (so its signals and
    CSRF rotation happen as usual) and always gets a new session key, even when
    the same user was already signed in on that session. As with ``login()``,
    a project with several authentication backends sets ``user.backend`` first
    (``authenticate()`` does).
    """
    kind = kind or default_kind()
    if kind == Kind.SESSION:
        if auth.SESSION_KEY in request.session:
            request.session.cycle_key()
        auth.login(request, user)
        sid = request.session[SESSION_SID_KEY]
        return SignIn(AuthSession.objects.get(pk=sid))
    if kind == Kind.JWT:
        return start_jwt(request, user)
    raise ValueError(f"unknown sign-in kind {kind!r}")


def record_session_login(request: HttpRequest, user: Any, previous_session_keys: Iterable[str] = ()) -> AuthSession:
    """Give the session that Django's ``login()`` just made its own sign-in.

    Called by the ``user_logged_in`` receiver, so every login (the admin,
    allauth, SSO) is tracked. The sign-in the session carried before is
    replaced: found by the sid still in the session or, when ``login()``
    flushed it to switch users, by a key the session had in this request.
    """
    previous = request.session.get(SESSION_SID_KEY)
    if previous:
        revoke(previous, Reason.SUPERSEDED, delete_session=False)
    keys = [key for key in previous_session_keys if key]
    if keys:
        rows = AuthSession.objects.filter(kind=Kind.SESSION, session_key__in=keys, revoked_at__isnull=True)
        for sid in list(rows.values_list("pk", flat=True)):
            revoke(sid, Reason.SUPERSEDED, delete_session=False)
    return _start_session(request, user)


def adopt_session(request: HttpRequest, user: Any) -> SignInState:
    """Give a session from before dualauth was installed a sign-in instead of logging it out."""
    row = _start_session(request, user)
    return SignInState.of(row)


def _start_session(request: HttpRequest, user: Any) -> AuthSession:
    now = timezone.now()
    session = request.session
    sid = uuid.uuid4()
    session[SESSION_SID_KEY] = str(sid)
    if session.session_key is None and keys_are_tracked():
        session.save()  # a flushed session has no key until saved; the row needs it to kill the session
    row = AuthSession.objects.create(
        id=sid,
        user=user,
        kind=Kind.SESSION,
        session_key=trackable_session_key(request),
        ip=client_ip(request),
        user_agent=user_agent(request),
        created_at=now,
        last_seen_at=now,
        expires_at=capped(session.get_expiry_date(), now),
        user_mark=user_marks.mark_of(user),
    )
    _started(row, request)
    return row


def start_jwt(request: HttpRequest, user: Any) -> SignIn:
    """A new jwt-kind sign-in and its first token pair."""
    now = timezone.now()
    row = AuthSession(
        id=uuid.uuid4(),
        user=user,
        kind=Kind.JWT,
        ip=client_ip(request),
        user_agent=user_agent(request),
        created_at=now,
        last_seen_at=now,
        user_mark=user_marks.mark_of(user),
    )
    refresh = new_refresh(user, row.pk, absolute_end(now))
    row.refresh_jti = refresh[jwt_settings().JTI_CLAIM]
    row.expires_at = expiry_of(refresh)
    with transaction.atomic():
        row.save(force_insert=True)
        simplejwt_tables.record_outstanding(refresh, user)
    # Listeners of Django's login signal (last_login, audit apps) hear of token
    # sign-ins too; dualauth's own receiver skips them by the extra argument.
    user_logged_in.send(sender=type(user), request=request, user=user, dualauth_kind=Kind.JWT.value)
    _started(row, request)
    return SignIn(row, issue(refresh))


def _started(row: AuthSession, request: HttpRequest | None) -> None:
    logger.info("dualauth: %s sign-in %s started for user %s from %s", row.kind, row.pk, row.user_id, row.ip)
    get_store().changed(row.pk)
    limit = dualauth_settings.MAX_SESSIONS_PER_USER
    if limit:
        extra = AuthSession.objects.active().filter(user_id=row.user_id).exclude(pk=row.pk)
        for sid in extra.order_by("-created_at").values_list("pk", flat=True)[max(limit - 1, 0) :]:
            revoke(sid, Reason.LIMIT)
    signals.session_started.send(sender=AuthSession, auth_session=row, request=request)
