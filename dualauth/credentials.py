"""Read the credential a request carries and ask the service layer about it.

Shared by the middleware (plain Django views) and the DRF classes, and
memoised on the request, so a request is checked once however many of them
ask. Precedence: the ``Authorization`` header, then the access cookie, then
the Django session; the first credential presented decides.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from . import services, users
from .conf import dualauth_settings
from .exceptions import NotRecorded, SignInRefused
from .models import Kind
from .tokens import jwt_settings, parse_sid, token_sid

HEADER = "header"
COOKIE = "cookie"
SESSION = "session"

logger = logging.getLogger("dualauth")

_UNSET = object()
# Set by DualAuthMiddleware: the session key the client came with, before login() or cycle_key() replace it.
INITIAL_SESSION_KEY_ATTR = "_dualauth_initial_session_key"
# Set by DualAuthMiddleware: the keys the session had around each cycle_key() of this request.
CYCLED_KEYS_ATTR = "_dualauth_cycled_keys"


@dataclass(frozen=True)
class Credential:
    """What a request presented. In DRF views it is ``request.auth``.

    ``error`` is set when a credential was presented but refused: plain views
    see an anonymous user, DRF views answer 401.
    """

    kind: str
    source: str
    user: Any = None
    sid: uuid.UUID | None = None
    error: SignInRefused | None = None


def raw_bearer(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``""`` when the header is ours but malformed."""
    header = request.META.get(jwt_settings().AUTH_HEADER_NAME)
    if not header or not isinstance(header, str):
        return None
    parts = header.split()
    if not parts or parts[0] not in jwt_settings().AUTH_HEADER_TYPES:
        return None
    return parts[1] if len(parts) == 2 else ""


@sensitive_variables()  # the raw token, here and in every frame below (its checks)
def jwt_credential(request: HttpRequest) -> Credential | None:
    """The JWT credential of the request (header before cookie), checked; ``None`` if there is none."""
    cached = getattr(request, "_dualauth_jwt", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    credential = None
    transports = dualauth_settings.JWT_TRANSPORTS
    raw = raw_bearer(request) if HEADER in transports else None
    source = HEADER
    if raw is None and COOKIE in transports:
        raw = request.COOKIES.get(dualauth_settings.ACCESS_COOKIE) or None
        source = COOKIE
    if raw is not None:
        try:
            checked = services.check_access_token(raw)
        except SignInRefused as refused:
            credential = Credential(Kind.JWT, source, error=refused)
        else:
            if checked.state is not None:
                services.touch(checked.state, request)
            credential = Credential(Kind.JWT, source, checked.user, checked.sid)
    request._dualauth_jwt = credential  # type: ignore[attr-defined]
    return credential


@sensitive_variables()  # the session key, in the session engine's frames below (a failing database, say)
def session_credential(request: HttpRequest) -> Credential | None:
    """The Django session's sign-in, checked; a revoked one is flushed on the spot."""
    cached = getattr(request, "_dualauth_session", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    credential = None
    if hasattr(request, "session"):
        sid, user_id = request.session.get(services.SESSION_SID_KEY), request.session.get(auth.SESSION_KEY)
        # The store's lookup overlaps the user's read, which flushes a session whose user no longer matches.
        checked, user = services.check_overlapping(sid, Kind.SESSION, partial(users.session_user, request))
        if user.is_authenticated:
            credential = _checked_session(request, user, checked)
        elif sid is not None and user_id is not None:
            services.end_unloadable_session(request, sid, user_id)
            credential = Credential(Kind.SESSION, SESSION, error=SignInRefused(services.ENDED, "session_ended"))
        elif user_id is None and request.session.is_empty():
            _end_lost_session(request)
    request._dualauth_session = credential  # type: ignore[attr-defined]
    return credential


def _end_lost_session(request: HttpRequest) -> None:
    """A session cookie whose session its store cannot give back (down, evicted, expired) ends its sign-in.

    Django deletes such a cookie in this very response, so the client is
    signed out either way; ending the sign-in too means a copy of the cookie
    stays worthless when a store that persists brings the session back.
    """
    key = cookie_session_key(request)
    if key is None:
        return
    with contextlib.suppress(NotRecorded):  # the database is down too: nothing can be recorded, and nothing served
        services.end_lost_session(key)


def _checked_session(request: HttpRequest, user: Any, checked: services.SignInState | None) -> Credential:
    if request.session.get(services.SESSION_SID_KEY) is None:
        state = services.adopt_session(request, user)
    else:
        if checked is None or checked.user_id != user.pk:
            request.session.flush()
            return Credential(Kind.SESSION, SESSION, error=SignInRefused(services.ENDED, "session_ended"))
        if not services.still_bound(checked, user):
            request.session.flush()
            return Credential(Kind.SESSION, SESSION, error=SignInRefused(services.ENDED, "session_ended"))
        state = checked
        services.touch(state, request)
    return Credential(Kind.SESSION, SESSION, user, state.sid)


def request_credential(request: HttpRequest) -> Credential | None:
    """The credential that decides ``request.user`` for plain Django views in the current mode.

    Sessions count in every mode: the Django admin keeps its staff sessions.
    """
    if dualauth_settings.jwt_enabled:
        credential = jwt_credential(request)
        if credential is not None:
            return credential
    return session_credential(request)


@dataclass(frozen=True)
class Presented:
    """What logout found: the sign-ins of every credential, valid or not, and how they came.

    ``session_key`` is the key of the Django session whose sign-in is among
    ``sids``, or ``None`` when the request carries no signed-in session.
    """

    sids: frozenset[uuid.UUID]
    from_cookie: bool
    session_key: str | None


def presented(request: HttpRequest, body_refresh: str | None) -> Presented:
    """Every credential the request carries, in the modes that use it, mapped to its sign-in.

    Signatures are checked but expiry is not, so a client can still end a
    sign-in whose access token just ran out. A session cookie whose data
    cannot be read (its session store is down) is mapped by its key, so a
    logout during an outage still ends that sign-in; ``NotRecorded`` when the
    database cannot say which it is.
    """
    sids = set()
    from_cookie = False
    if dualauth_settings.jwt_enabled:
        for raw, token_type, is_cookie in (
            (raw_bearer(request), "access", False),
            (request.COOKIES.get(dualauth_settings.ACCESS_COOKIE), "access", True),
            (request.COOKIES.get(dualauth_settings.REFRESH_COOKIE), "refresh", True),
            (body_refresh, "refresh", False),
        ):
            if raw:
                from_cookie = from_cookie or is_cookie
                sids.add(token_sid(raw, token_type))
    session_key = None
    if dualauth_settings.session_enabled:
        session_sids, signed_in = _session_sign_ins(request)
        if signed_in:
            from_cookie = True
            session_key = cookie_session_key(request) or ""
            sids.update(session_sids)
    return Presented(frozenset(sids - {None}), from_cookie, session_key)  # type: ignore[arg-type]


def session_keys_of(request: HttpRequest) -> list[str]:
    """Every key the request's session has had: the one it came with, and those around each ``cycle_key()``."""
    keys = [cookie_session_key(request), *getattr(request, CYCLED_KEYS_ATTR, ())]
    return [key for key in dict.fromkeys(keys) if key]


def cookie_session_key(request: HttpRequest) -> str | None:
    """The session key the request came with (``DualAuthMiddleware`` keeps it, cleaned, before anything cycles it)."""
    key = getattr(request, INITIAL_SESSION_KEY_ATTR, _UNSET)
    if key is _UNSET:
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    return key if isinstance(key, str) and key else None


def _session_sign_ins(request: HttpRequest) -> tuple[set[uuid.UUID | None], bool]:
    """The sign-in of the request's Django session, by the sid in its data or else by its key; and whether
    the session is signed in at all (one from before dualauth has a user and no sid)."""
    try:
        data = request.session
        if auth.SESSION_KEY in data:
            return {parse_sid(data.get(services.SESSION_SID_KEY))}, True
    except Exception as exc:  # noqa: BLE001 - any engine, any error: unreadable data is no reason to keep a sign-in
        logger.warning("dualauth: a session's data could not be read (%s); its sign-in is found by key", exc)
    key = cookie_session_key(request)
    found: set[uuid.UUID | None] = set(services.sign_ins_of_session(key)) if key else set()
    return found, bool(found)


def sid_of(request: HttpRequest | None, user: Any) -> uuid.UUID | None:
    """The sign-in through which ``user`` is making ``request``, if they are.

    Reads only what this request already checked; it never checks anything anew.
    """
    if request is None:
        return None
    for name in ("_dualauth_jwt", "_dualauth_session"):
        credential = getattr(request, name, None)
        if credential is not None and credential.user is not None and credential.user.pk == user.pk:
            return credential.sid  # type: ignore[no-any-return]
    return None


def drop_memoised(request: HttpRequest) -> None:
    """Drop what was memoised, after the request's credential changed (login, logout)."""
    for name in ("_dualauth_jwt", "_dualauth_session"):
        if hasattr(request, name):
            delattr(request, name)
