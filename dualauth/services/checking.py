"""Checking a sign-in on each request (the hot path), and recording its activity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from django.http import HttpRequest
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError

from .. import users
from ..client_info import client_ip, user_agent
from ..conf import dualauth_settings
from ..exceptions import SignInRefused
from ..models import AuthSession, Kind, Reason
from ..stores import SignInState, get_store, hash_session_key
from ..tokens import SID_CLAIM, AccessToken, decode, jwt_settings, parse_sid
from .binding import still_bound
from .django_sessions import keys_are_tracked, trackable_session_key
from .issuing import capped
from .revoking import revoke
from .shared import ENDED, INVALID_TOKEN, SESSION_SID_KEY, CheckedToken

T = TypeVar("T")


def check(sid: Any, kind: str) -> SignInState | None:
    """The state of a live sign-in of ``kind``, or ``None`` if it is revoked, expired or unknown."""
    parsed = parse_sid(sid)
    return None if parsed is None else live(get_store().get(parsed), kind)


def check_overlapping(sid: Any, kind: str, work: Callable[[], T]) -> tuple[SignInState | None, T]:
    """``check(sid, kind)`` and ``work()`` (the request's user read): the store may overlap the two."""
    parsed = parse_sid(sid)
    if parsed is None:
        return None, work()
    state, result = get_store().get_overlapping(parsed, work)
    return live(state, kind), result


def live(state: SignInState | None, kind: str) -> SignInState | None:
    """``state`` if it is a live sign-in of ``kind``."""
    if state is None or state.kind != kind:
        return None
    if not state.is_live(timezone.now()):
        return None
    return state


def user_by_claim(value: Any, *, active_only: bool = True) -> Any:
    """The user a token's user-id claim names (``None`` names no one: no row has a null id)."""
    user = users.get_user(jwt_settings().USER_ID_FIELD, value)
    if user is None:
        return None
    return user if user.is_active or not active_only else None


def check_access_token(raw: Any) -> CheckedToken:
    """Validate an access token and its sign-in, or raise ``SignInRefused``."""
    try:
        token = decode(raw, AccessToken)
    except TokenError:
        raise SignInRefused(INVALID_TOKEN, "token_not_valid") from None
    raw_sid = token.get(SID_CLAIM)
    sid = parse_sid(raw_sid)
    if sid is None and (raw_sid is not None or not dualauth_settings.ADOPT_LEGACY_TOKENS):
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    load_user = partial(user_by_claim, token.get(jwt_settings().USER_ID_CLAIM), active_only=False)
    state = None
    if sid is not None and dualauth_settings.CHECK_REVOCATION:
        state, user = check_overlapping(sid, Kind.JWT, load_user)
        if state is None:
            raise SignInRefused(ENDED, "session_ended")
    else:
        user = load_user()
    if user is None or (state is not None and user.pk != state.user_id):
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    if not user.is_active:
        if state is not None:  # deactivated by a path no signal saw: end it for good
            revoke(state.sid, Reason.DEACTIVATED)
        raise SignInRefused(ENDED, "session_ended")
    if state is not None and not still_bound(state, user):
        raise SignInRefused(ENDED, "session_ended")
    return CheckedToken(user, sid, state)


def follow_session_key(request: HttpRequest, previous_key: str | None) -> None:
    """The request's Django session got a new key (``cycle_key()``: Django's ``update_session_auth_hash()``, a
    project's own code): its sign-in's row follows, so a logout during a session-store outage right after, or a
    request still carrying the old key, finds it by the right one. Costs a write only when the key changed."""
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not key or key == previous_key or not keys_are_tracked():
        return
    try:
        sid = parse_sid(session.get(SESSION_SID_KEY))  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - an engine that cannot read it now: the next request's touch() syncs the key
        return
    if sid is None:
        return
    rows = AuthSession.objects.filter(pk=sid, kind=Kind.SESSION, revoked_at__isnull=True).exclude(session_key=key)
    if rows.update(session_key=key):
        get_store().changed(sid)


def touch(state: SignInState, request: HttpRequest) -> None:
    """Record activity at most once per ``ACTIVITY_UPDATE_INTERVAL``; no write otherwise.

    A session key other than the row's (the session moved outside any request
    dualauth saw) is written too, but only while its session store still holds
    it: a request that started under a key a step-up has since replaced, in
    another tab, must not move the row back to a dead key.
    """
    now = timezone.now()
    interval = timedelta(seconds=dualauth_settings.ACTIVITY_UPDATE_INTERVAL)
    session_key = trackable_session_key(request) if state.kind == Kind.SESSION else ""
    moved = hash_session_key(session_key) != state.session_key_hash and request.session.exists(session_key)
    if now - state.last_seen_at < interval and not moved:
        return
    changes: dict[str, Any] = {"last_seen_at": now, "ip": client_ip(request), "user_agent": user_agent(request)}
    if state.kind == Kind.SESSION:
        if moved:
            changes["session_key"] = session_key
        changes["expires_at"] = capped(request.session.get_expiry_date(), state.created_at)
    AuthSession.objects.filter(pk=state.sid, revoked_at__isnull=True).update(**changes)
    get_store().changed(state.sid)
