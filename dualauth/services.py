"""The sign-in lifecycle: start, refresh, check, revoke.

This module is the only writer of ``AuthSession`` and the only caller of the
state store's ``changed()``. Views, DRF classes, middleware, admin, commands
and signal receivers are adapters over it.

``sign_in()`` is public: a project's own SSO or MFA view calls it once its own
checks have passed, to start a sign-in of either kind.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import import_module
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import IntegrityError, InterfaceError, InternalError, OperationalError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError

from . import signals, user_marks, users
from .client_info import client_ip, user_agent
from .conf import dualauth_settings
from .exceptions import NotRecorded, SignInRefused
from .models import AuthSession, Kind, Reason
from .stores import SignInState, get_store, hash_session_key
from .tokens import SID_CLAIM, AccessToken, RefreshToken, decode, jwt_settings, parse_sid

logger = logging.getLogger("dualauth")

T = TypeVar("T")

SESSION_SID_KEY = "_dualauth_sid"
SIGNED_COOKIES_ENGINE = "django.contrib.sessions.backends.signed_cookies"
RESERVED_CLAIMS = frozenset({"sid", "exp", "iat", "nbf", "jti", "token_type", "user_id", "aud", "iss"})

INVALID_TOKEN = _("Token is invalid or expired.")
ENDED = _("This sign-in has ended.")


@dataclass(frozen=True)
class IssuedTokens:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True)
class SignIn:
    auth_session: AuthSession
    tokens: IssuedTokens | None = None


# Starting a sign-in -------------------------------------------------------


def default_kind() -> str:
    mode = dualauth_settings.MODE
    return mode if mode in (Kind.SESSION, Kind.JWT) else dualauth_settings.HYBRID_DEFAULT_KIND  # type: ignore[no-any-return]


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
        return _start_jwt(request, user)
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
    if session.session_key is None and settings.SESSION_ENGINE != SIGNED_COOKIES_ENGINE:
        session.save()  # a flushed session has no key until saved; the row needs it to kill the session
    row = AuthSession.objects.create(
        id=sid,
        user=user,
        kind=Kind.SESSION,
        session_key=_trackable_session_key(request),
        ip=client_ip(request),
        user_agent=user_agent(request),
        created_at=now,
        last_seen_at=now,
        expires_at=_cap(session.get_expiry_date(), now),
        user_mark=user_marks.mark_of(user),
    )
    _started(row, request)
    return row


def _start_jwt(request: HttpRequest, user: Any) -> SignIn:
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
    refresh = _new_refresh(user, row.pk, _absolute_end(now))
    row.refresh_jti = refresh[jwt_settings().JTI_CLAIM]
    row.expires_at = _exp(refresh)
    with transaction.atomic():
        row.save(force_insert=True)
        _outstand(refresh, user)
    # Listeners of Django's login signal (last_login, audit apps) hear of token
    # sign-ins too; dualauth's own receiver skips them by the extra argument.
    user_logged_in.send(sender=type(user), request=request, user=user, dualauth_kind=Kind.JWT.value)
    _started(row, request)
    return SignIn(row, _issue(refresh))


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
    _remark(state.sid, user_marks.mark_of(user))  # a kept password change, or nothing to compare with yet
    return True


def _remark(sid: uuid.UUID, mark: str, **changes: Any) -> None:
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
            _remark(sid, user_marks.with_password(mark, user.password))
            carried += 1
    return carried


def _renew_session(request: HttpRequest, user: Any, sid: uuid.UUID) -> None:
    """A new key for the session making the current request, which keeps its sign-in."""
    request.session.cycle_key()
    _remark(sid, user_marks.mark_of(user), session_key=_trackable_session_key(request))


def _started(row: AuthSession, request: HttpRequest | None) -> None:
    logger.info("dualauth: %s sign-in %s started for user %s from %s", row.kind, row.pk, row.user_id, row.ip)
    get_store().changed(row.pk)
    limit = dualauth_settings.MAX_SESSIONS_PER_USER
    if limit:
        extra = AuthSession.objects.active().filter(user_id=row.user_id).exclude(pk=row.pk)
        for sid in extra.order_by("-created_at").values_list("pk", flat=True)[max(limit - 1, 0) :]:
            revoke(sid, Reason.LIMIT)
    signals.session_started.send(sender=AuthSession, auth_session=row, request=request)


# Tokens -------------------------------------------------------------------


def _absolute_end(created_at: datetime) -> datetime | None:
    """The latest moment a sign-in created at ``created_at`` may live (``SESSION_ABSOLUTE_TIMEOUT``)."""
    absolute = dualauth_settings.SESSION_ABSOLUTE_TIMEOUT
    return created_at + timedelta(seconds=absolute) if absolute else None


def _cap(expiry: datetime, created_at: datetime) -> datetime:
    end = _absolute_end(created_at)
    return min(expiry, end) if end else expiry


def _exp(token: Any) -> datetime:
    return datetime.fromtimestamp(token["exp"], tz=UTC)


def _new_refresh(user: Any, sid: uuid.UUID, not_after: datetime | None) -> RefreshToken:
    jwt = jwt_settings()
    token = RefreshToken()
    hook = dualauth_settings.TOKEN_CLAIMS_HOOK
    if hook:
        extra = import_string(hook)(user) or {}
        for claim, value in extra.items():
            if claim not in RESERVED_CLAIMS and claim != jwt.USER_ID_CLAIM:
                token[claim] = value
    token[jwt.USER_ID_CLAIM] = str(getattr(user, jwt.USER_ID_FIELD))
    token[SID_CLAIM] = str(sid)
    if not_after is not None and _exp(token) > not_after:
        token["exp"] = int(not_after.timestamp())
    return token


def _issue(refresh: RefreshToken) -> IssuedTokens:
    access = refresh.access_token
    if access["exp"] > refresh["exp"]:
        access["exp"] = refresh["exp"]
    return IssuedTokens(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=_exp(access),
        refresh_expires_at=_exp(refresh),
    )


def _blacklist_installed() -> bool:
    return apps.is_installed("rest_framework_simplejwt.token_blacklist")


OUTSTANDING_SID_MARK = "sid:"


def _outstand(refresh: RefreshToken, user: Any) -> None:
    """Record the token in simplejwt's outstanding list, without its raw text.

    simplejwt stores the whole token there; a database leak would then hand
    out live refresh tokens. The jti is all revocation needs; the ``token``
    column keeps ``sid:<id>`` instead, so the admin can show the sign-in of
    every token of a family, rotated ones included.
    """
    if not _blacklist_installed():
        return
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    OutstandingToken.objects.create(
        user=user,
        jti=refresh[jwt_settings().JTI_CLAIM],
        token=f"{OUTSTANDING_SID_MARK}{refresh[SID_CLAIM]}",
        created_at=timezone.now(),
        expires_at=_exp(refresh),
    )


def _blacklist(jti: str, user_id: Any, expires_at: datetime) -> bool:
    """Blacklist ``jti``; return whether this call did it (``False``: it already was)."""
    if not jti or not _blacklist_installed():
        return False
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    try:
        with transaction.atomic():
            outstanding, _ = OutstandingToken.objects.get_or_create(
                jti=jti,
                defaults={"user_id": user_id, "token": "", "expires_at": expires_at},
            )
            _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    except IntegrityError:  # a concurrent call inserted the same row first
        return False
    return created


def refresh(raw: Any, request: HttpRequest) -> SignIn:
    """Rotate a refresh token: a new pair, the old one blacklisted.

    The jti is compared with ``AuthSession.refresh_jti`` and swapped by a
    conditional update, so of two racing refreshes only one wins; the loser
    gets a 401 without harm to the sign-in (its next try with that token is
    re-use). A rotated token presented again is re-use and ends the whole
    sign-in.
    """
    try:
        token = decode(raw, RefreshToken)
    except TokenError:
        raise SignInRefused(INVALID_TOKEN, "token_not_valid") from None
    jwt = jwt_settings()
    jti = token.get(jwt.JTI_CLAIM)
    sid = parse_sid(token.get(SID_CLAIM))
    if sid is None:
        if token.get(SID_CLAIM) is None and dualauth_settings.ADOPT_LEGACY_TOKENS:
            return _adopt_legacy_refresh(token, request)
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")

    row = AuthSession.objects.select_related("user").filter(pk=sid, kind=Kind.JWT).first()
    if row is None or str(getattr(row.user, jwt.USER_ID_FIELD)) != str(token.get(jwt.USER_ID_CLAIM)):
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    now = timezone.now()
    if not SignInState.of(row).is_live(now, dualauth_settings.SESSION_IDLE_TIMEOUT):
        raise SignInRefused(ENDED, "session_ended")
    if not row.user.is_active:
        revoke(row.pk, Reason.DEACTIVATED)
        raise SignInRefused(ENDED, "session_ended")
    if not still_bound(SignInState.of(row), row.user):
        raise SignInRefused(ENDED, "session_ended")
    if row.refresh_jti == jti:
        new = _new_refresh(row.user, row.pk, _absolute_end(row.created_at))
        new_jti = new[jwt.JTI_CLAIM]
        with transaction.atomic():
            won = AuthSession.objects.filter(pk=row.pk, refresh_jti=jti, revoked_at__isnull=True).update(
                refresh_jti=new_jti,
                previous_refresh_jti=jti,
                rotated_at=now,
                expires_at=_exp(new),
                last_seen_at=now,
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
            if won:
                _blacklist(jti, row.user_id, _exp(token))
                _outstand(new, row.user)
        if won:
            get_store().changed(row.pk)
            row.refresh_jti, row.expires_at, row.last_seen_at = new_jti, _exp(new), now
            return SignIn(row, _issue(new))
        if AuthSession.objects.filter(pk=row.pk, revoked_at__isnull=True).exists():
            raise SignInRefused(_("This refresh token was just used by a concurrent request."), "refresh_conflict")
        raise SignInRefused(ENDED, "session_ended")
    if _within_reuse_grace(row, jti, now):
        logger.info("dualauth: a refresh token sign-in %s rotated within the grace was presented again", row.pk)
        raise SignInRefused(
            _("This refresh token was just replaced by a concurrent refresh; use the new one."), "refresh_conflict"
        )
    signals.refresh_reuse_detected.send(sender=AuthSession, auth_session=row, jti=jti, request=request)
    revoke(row.pk, Reason.REFRESH_REUSE)
    logger.warning("dualauth: refresh token re-used; sign-in %s revoked", row.pk)
    raise SignInRefused(ENDED, "refresh_reused")


def _within_reuse_grace(row: AuthSession, jti: Any, now: datetime) -> bool:
    """Whether ``jti``, a token of this live sign-in, was rotated no more than ``REFRESH_REUSE_GRACE`` ago.

    Tabs of one browser refresh with the same token at once, and the tab that
    won may rotate again before the others' requests are read: every one of
    them presents a token rotated a moment ago, which is not theft. When each
    token was rotated is when the rotation blacklisted it; without simplejwt's
    blacklist, only the token the last rotation replaced can be told.
    """
    grace = dualauth_settings.REFRESH_REUSE_GRACE
    if not grace or not jti:
        return False
    rotated_at = row.rotated_at if row.previous_refresh_jti == jti else None
    if rotated_at is None and _blacklist_installed():
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

        rotated_at = BlacklistedToken.objects.filter(token__jti=jti).values_list("blacklisted_at", flat=True).first()
    return rotated_at is not None and now - rotated_at <= timedelta(seconds=grace)


def _adopt_legacy_refresh(token: Any, request: HttpRequest) -> SignIn:
    """A valid simplejwt refresh token without ``sid`` becomes a tracked sign-in (``ADOPT_LEGACY_TOKENS``)."""
    jwt = jwt_settings()
    user = _user_by_claim(token.get(jwt.USER_ID_CLAIM))
    if user is None or not _blacklist(token.get(jwt.JTI_CLAIM), user.pk, _exp(token)):
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    return _start_jwt(request, user)


def _user_by_claim(value: Any, *, active_only: bool = True) -> Any:
    if value is None:
        return None
    user = users.get_user(jwt_settings().USER_ID_FIELD, value)
    if user is None:
        return None
    return user if user.is_active or not active_only else None


# Checking a sign-in (the hot path) ----------------------------------------


def check(sid: Any, kind: str) -> SignInState | None:
    """The state of a live sign-in of ``kind``, or ``None`` if it is revoked, expired or unknown."""
    parsed = parse_sid(sid)
    return None if parsed is None else _live(get_store().get(parsed), kind)


def check_while(sid: Any, kind: str, work: Callable[[], T]) -> tuple[SignInState | None, T]:
    """``check(sid, kind)`` and ``work()`` (the request's user read): the store may overlap the two."""
    parsed = parse_sid(sid)
    if parsed is None:
        return None, work()
    state, result = get_store().get_while(parsed, work)
    return _live(state, kind), result


def _live(state: SignInState | None, kind: str) -> SignInState | None:
    if state is None or state.kind != kind:
        return None
    if not state.is_live(timezone.now(), dualauth_settings.SESSION_IDLE_TIMEOUT):
        return None
    return state


@dataclass(frozen=True)
class CheckedToken:
    """An access token that passed: its user, its ``sid`` (``None`` for adopted
    legacy tokens) and the sign-in's state (``None`` when it was not checked:
    legacy tokens, or ``CHECK_REVOCATION`` off)."""

    user: Any
    sid: uuid.UUID | None
    state: SignInState | None


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
    load_user = partial(_user_by_claim, token.get(jwt_settings().USER_ID_CLAIM), active_only=False)
    state = None
    if sid is not None and dualauth_settings.CHECK_REVOCATION:
        state, user = check_while(sid, Kind.JWT, load_user)
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
    if not key or key == previous_key or settings.SESSION_ENGINE == SIGNED_COOKIES_ENGINE:
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
    session_key = _trackable_session_key(request) if state.kind == Kind.SESSION else ""
    moved = hash_session_key(session_key) != state.session_key_hash and request.session.exists(session_key)
    if now - state.last_seen_at < interval and not moved:
        return
    changes: dict[str, Any] = {"last_seen_at": now, "ip": client_ip(request), "user_agent": user_agent(request)}
    if state.kind == Kind.SESSION:
        if moved:
            changes["session_key"] = session_key
        changes["expires_at"] = _cap(request.session.get_expiry_date(), state.created_at)
    AuthSession.objects.filter(pk=state.sid, revoked_at__isnull=True).update(**changes)
    get_store().changed(state.sid)


def _trackable_session_key(request: HttpRequest) -> str:
    """The session key, or ``""`` for signed-cookie sessions whose key changes on every save."""
    if settings.SESSION_ENGINE == SIGNED_COOKIES_ENGINE:
        return ""
    return request.session.session_key or ""


# Revoking -----------------------------------------------------------------


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
            _delete_django_session(row.session_key)
    else:
        _blacklist(row.refresh_jti, row.user_id, row.expires_at)
    logger.info("dualauth: sign-in %s of user %s revoked (%s)", row.pk, row.user_id, reason)
    signals.session_revoked.send(sender=AuthSession, auth_session=row, reason=reason)
    return True


# The database cannot take the write now: unreachable, or a replica promoted read-only (InternalError).
_UNREACHABLE = (OperationalError, InterfaceError, InternalError)


def sign_ins_of_session(session_key: str) -> list[uuid.UUID]:
    """The live sign-ins of the Django session with this key.

    How a logout finds its sign-in when the session data cannot be read (its
    session store is down): the key is in the cookie, and in the row.
    ``NotRecorded`` if the database cannot answer either.
    """
    if not session_key or settings.SESSION_ENGINE == SIGNED_COOKIES_ENGINE:
        return []
    rows = AuthSession.objects.filter(kind=Kind.SESSION, session_key=session_key, revoked_at__isnull=True)
    try:
        return list(rows.values_list("pk", flat=True))
    except _UNREACHABLE as exc:
        raise NotRecorded from exc


def end_lost_session(session_key: str) -> int:
    """End the sign-ins of a Django session its store no longer gives back; return how many were live."""
    try:
        return sum(revoke(sid, Reason.SESSION_LOST) for sid in sign_ins_of_session(session_key))
    except _UNREACHABLE as exc:
        raise NotRecorded from exc


def log_out(sids: Iterable[uuid.UUID], session_key: str | None = None) -> int:
    """End the sign-ins a logout presented; return how many were live.

    Only the database can record that a sign-in ended: a session store can
    delete a session, but one restored from an older snapshot would bring it
    back. So when the database cannot be written, ``NotRecorded`` is raised
    (the client is told to try again), after the Django session, if any, has
    been deleted as far as its engine can.
    """
    try:
        return sum(revoke(sid, Reason.LOGOUT) for sid in sids)
    except _UNREACHABLE as exc:
        logger.warning("dualauth: a logout could not be recorded: the database is unreachable (%s)", exc)
        if session_key:
            _delete_django_session(session_key)
        raise NotRecorded from exc


def keep_session_cookie(request: HttpRequest, session_key: str | None) -> None:
    """Leave the client's session cookie alone in this response, so it can try again.

    A session whose data could not be read looks empty, and Django deletes
    the cookie of an empty session; an untouched store under the same key
    is neither empty nor modified.
    """
    if session_key:
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def end_request_session(request: HttpRequest) -> None:
    """Django's ``logout()`` for the request, after its sign-in was revoked.

    A session engine that cannot delete the session (its store is down, and
    raises) must not turn the logout into a 500: the sign-in has ended, and
    an empty session in its place makes Django delete the cookie.
    """
    try:
        auth.logout(request)
    except Exception as exc:  # noqa: BLE001 - any engine, any backend error
        logger.warning("dualauth: the session engine could not delete a logged-out session (%s)", type(exc).__name__)
        request.session = import_module(settings.SESSION_ENGINE).SessionStore()


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
        if session is not None and parse_sid(session.get(SESSION_SID_KEY)) == keep:
            _renew_session(request, user, keep)  # type: ignore[arg-type]
        else:
            _remark(keep, user_marks.mark_of(user))
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


def end_unloadable_session(request: HttpRequest, sid: Any, user_id: Any) -> None:
    """Revoke the sign-in of a session whose user Django no longer loads.

    ``get_user()`` turns such a session anonymous (user inactive, deleted, or
    its password hash changed); without this its sign-in would look active,
    and come back if the user were reactivated.
    """
    user_model = get_user_model()
    active = user_model._default_manager.filter(pk=user_id).values_list("is_active", flat=True).first()
    revoke(sid, Reason.DEACTIVATED if active is False else Reason.INVALIDATED, delete_session=False)


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


def revoke_user(user: Any, reason: str, *, keep: uuid.UUID | str | None = None, kind: str | None = None) -> int:
    """End every live sign-in of ``user`` but ``keep``; return how many ended."""
    rows = AuthSession.objects.filter(user=user, revoked_at__isnull=True)
    if keep is not None:
        rows = rows.exclude(pk=keep)
    if kind is not None:
        rows = rows.filter(kind=kind)
    if kind in (None, Kind.JWT):
        end_legacy_tokens(user)  # first: a token exchanged meanwhile becomes a row the next line ends
    return sum(revoke(sid, reason) for sid in list(rows.values_list("pk", flat=True)))


def end_legacy_tokens(user: Any = None) -> int:
    """Blacklist the refresh tokens simplejwt issued before dualauth, of ``user`` or of everyone.

    They belong to no sign-in, so ending sign-ins alone would leave them
    exchangeable under ``ADOPT_LEGACY_TOKENS``: whatever ends all of a user's
    sign-ins (a password change, "revoke all") must end them too. Only tokens
    simplejwt recorded as outstanding can be reached; docs/migration/simplejwt.md
    says what that leaves. Returns how many were blacklisted.
    """
    if not _blacklist_installed():
        return 0
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    legacy = (
        OutstandingToken.objects.filter(blacklistedtoken__isnull=True, expires_at__gt=timezone.now())
        .exclude(token__startswith=OUTSTANDING_SID_MARK)
        # dualauth 0.1.0 wrote its own rows with an empty token: a live sign-in's current token is not legacy
        .exclude(jti__in=AuthSession.objects.filter(revoked_at__isnull=True).values("refresh_jti"))
    )
    if user is not None:
        legacy = legacy.filter(user_id=user.pk)
    ended = 0
    batch: list[Any] = []
    for pk in legacy.values_list("pk", flat=True).iterator(chunk_size=LEGACY_BATCH):
        batch.append(BlacklistedToken(token_id=pk))
        if len(batch) == LEGACY_BATCH:
            ended += len(BlacklistedToken.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    return ended + len(BlacklistedToken.objects.bulk_create(batch, ignore_conflicts=True))


LEGACY_BATCH = 2000


def revoke_everyone(reason: str, *, kind: str | None = None) -> tuple[int, int]:
    """End every live sign-in (of ``kind``, when given); return (sign-ins ended, users they belonged to)."""
    rows = AuthSession.objects.filter(revoked_at__isnull=True)
    if kind is not None:
        rows = rows.filter(kind=kind)
    ended: set[Any] = set()
    count = 0
    if kind in (None, Kind.JWT):
        end_legacy_tokens()
    for sid, user_id in list(rows.values_list("pk", "user_id")):
        if revoke(sid, reason):
            count += 1
            ended.add(user_id)
    return count, len(ended)


CLEANUP_BATCH = 1000


@dataclass(frozen=True)
class Cleanup:
    sign_ins: int
    tokens: int
    resynced: int


def cleanup(now: datetime | None = None) -> Cleanup:
    """Delete what no longer needs keeping, and re-send live revocations to the store.

    Ended sign-ins stay for ``REVOKED_RETENTION`` (the audit trail of the admin
    screens), then go; expired refresh tokens leave simplejwt's tables, whose
    blacklist they no longer need. A caching store is handed every revocation
    that could still matter (the sign-in would otherwise be unexpired), so a
    write missed while it was unreachable, by a process since gone, is healed.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=dualauth_settings.REVOKED_RETENTION)
    ended = Q(revoked_at__lt=cutoff) | Q(revoked_at__isnull=True, expires_at__lt=cutoff)
    idle = dualauth_settings.SESSION_IDLE_TIMEOUT
    if idle:
        ended |= Q(revoked_at__isnull=True, last_seen_at__lt=cutoff - timedelta(seconds=idle))
    sign_ins = 0
    while True:  # in batches: each deleted row tells the store, and a year of rows must not sit in memory
        batch = list(AuthSession.objects.filter(ended).values_list("pk", flat=True)[:CLEANUP_BATCH])
        if not batch:
            break
        sign_ins += AuthSession.objects.filter(pk__in=batch).delete()[1].get(AuthSession._meta.label, 0)
    tokens = 0
    if _blacklist_installed():
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        tokens = OutstandingToken.objects.filter(expires_at__lt=now).delete()[1].get(OutstandingToken._meta.label, 0)
    live_revocations = AuthSession.objects.filter(revoked_at__isnull=False, expires_at__gt=now)
    resynced = get_store().resync(live_revocations.values_list("pk", flat=True).iterator())
    return Cleanup(sign_ins=sign_ins, tokens=tokens, resynced=resynced)


# Administration -----------------------------------------------------------


@dataclass(frozen=True)
class TokenReport:
    """What an administrator sees of a pasted token: only ever built for a token this site signed."""

    header: dict[str, Any]
    claims: dict[str, Any]
    token_type: str
    expired: bool
    user: Any
    auth_session: AuthSession | None

    @property
    def revocable(self) -> bool:
        """A sign-in to end, or a refresh token without one to blacklist; a legacy access token has neither."""
        return self.auth_session is not None or (self.token_type == "refresh" and self.user is not None)

    @property
    def outstanding(self) -> Any:
        """simplejwt's row for this refresh token, if it has one."""
        if self.token_type != "refresh" or not _blacklist_installed():
            return None
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        return OutstandingToken.objects.filter(jti=str(self.claims.get(jwt_settings().JTI_CLAIM, ""))).first()


def _claimed_time(claims: dict[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def inspect_token(raw: str) -> TokenReport:
    """Decode a token pasted into the admin (leaked in a log, say), or raise ``SignInRefused``.

    Everything but expiry is verified: a leaked token may have expired while
    the sign-in behind it lives on, and that sign-in is what needs revoking.
    """
    import jwt as pyjwt

    from .tokens import genuine_claims

    raw = raw.strip() if isinstance(raw, str) else raw
    claims = genuine_claims(raw)
    if claims is None:
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    jwt = jwt_settings()
    sid = parse_sid(claims.get(SID_CLAIM))
    return TokenReport(
        header=pyjwt.get_unverified_header(raw),
        claims=claims,
        token_type=str(claims.get(jwt.TOKEN_TYPE_CLAIM, "")),
        expired=(_claimed_time(claims, "exp") or timezone.now()) <= timezone.now(),
        user=_user_by_claim(claims.get(jwt.USER_ID_CLAIM), active_only=False),
        auth_session=None if sid is None else AuthSession.objects.select_related("user").filter(pk=sid).first(),
    )


def revoke_token(report: TokenReport, reason: str = Reason.ADMIN) -> bool:
    """End what a token can do: its sign-in, or for a legacy refresh token without ``sid``, the token itself."""
    if report.auth_session is not None:
        return revoke(report.auth_session.pk, reason)
    jwt = jwt_settings()
    if report.token_type == "refresh" and report.user is not None:
        expires = _claimed_time(report.claims, "exp") or timezone.now()
        return _blacklist(str(report.claims.get(jwt.JTI_CLAIM, "")), report.user.pk, expires)
    return False


def blacklist_refresh_token(token: Any, reason: str = Reason.ADMIN) -> bool:
    """Blacklist a simplejwt ``OutstandingToken``; the current token of a live sign-in ends the sign-in.

    Blacklisting only the refresh token would leave that sign-in's access
    token working until it expires; revoking the sign-in refuses it at once.
    Return whether anything changed.
    """
    row = AuthSession.objects.filter(kind=Kind.JWT, refresh_jti=token.jti, revoked_at__isnull=True).first()
    if row is not None:
        return revoke(row.pk, reason)
    return _blacklist(token.jti, token.user_id, token.expires_at)


def kill_session(row: AuthSession, reason: str = Reason.ADMIN) -> bool:
    """End a session-kind sign-in, or, if it already ended, delete what its session engine still holds."""
    if revoke(row.pk, reason):
        return True
    if row.kind != Kind.SESSION or not row.session_key:
        return False
    from .session_store import load_many

    if not load_many([row.session_key]):
        return False
    _delete_django_session(row.session_key)
    return True


def outstanding_sid(token: Any) -> uuid.UUID | None:
    """The sign-in a simplejwt ``OutstandingToken`` row belongs to, when dualauth issued it."""
    text = token.token or ""
    return parse_sid(text[len(OUTSTANDING_SID_MARK) :]) if text.startswith(OUTSTANDING_SID_MARK) else None


def deliver_pending() -> bool:
    """Whether the state store holds every change made so far (see ``BaseStore.flush``)."""
    return get_store().flush()


def forget(sid: uuid.UUID) -> None:
    """A row is gone (its user was deleted, or cleanup removed it): the store must stop answering for it."""
    get_store().changed(sid)


def _delete_django_session(session_key: str) -> None:
    """Best effort: the revocation is already in the database, and the ``sid`` check refuses the session
    whether or not its engine (a Redis that is down, say) could delete it."""
    if not session_key or settings.SESSION_ENGINE == SIGNED_COOKIES_ENGINE:
        return
    engine = import_module(settings.SESSION_ENGINE)
    try:
        engine.SessionStore().delete(session_key)
    except Exception as exc:  # noqa: BLE001  any engine, any backend error: none may undo a revocation
        logger.warning("dualauth: the session engine could not delete a revoked session (%s)", type(exc).__name__)
