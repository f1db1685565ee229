"""Django sessions seen from their sign-ins: the engine in use, its keys, deleting and reading them.

The session engine is the project's (``SESSION_ENGINE``); dualauth never
stores a sign-in in it, only the sign-in's id under ``SESSION_SID_KEY``.
Signed-cookie sessions have no key a server could delete or track: their
sign-ins are ended by the ``sid`` check alone.

Reading many sessions at once (``load_many``: the admin's session-store
screen) takes one round trip per page, not one per row: ``get_many`` on the
cache engines, one query on the database ones; engines with neither (files)
are read one by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.core.cache import caches
from django.http import HttpRequest
from django.utils import timezone

from .shared import SIGNED_COOKIES_ENGINE, logger


def keys_are_tracked() -> bool:
    """Whether session keys mean anything to a server: not with signed cookies, whose key changes on every save."""
    return settings.SESSION_ENGINE != SIGNED_COOKIES_ENGINE


def trackable_session_key(request: HttpRequest) -> str:
    """The session key, or ``""`` for signed-cookie sessions whose key changes on every save."""
    if not keys_are_tracked():
        return ""
    return request.session.session_key or ""


def session_store_class() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def delete_session(session_key: str) -> None:
    """Best effort: the revocation is already in the database, and the ``sid`` check refuses the session
    whether or not its engine (a Redis that is down, say) could delete it."""
    if not session_key or not keys_are_tracked():
        return
    store = session_store_class()()
    try:
        store.delete(session_key)
    except Exception as exc:  # noqa: BLE001  any engine, any backend error: none may undo a revocation
        logger.warning("dualauth: the session engine could not delete a revoked session (%s)", type(exc).__name__)


def keep_session_cookie(request: HttpRequest, session_key: str | None) -> None:
    """Leave the client's session cookie alone in this response, so it can try again.

    A session whose data could not be read looks empty, and Django deletes
    the cookie of an empty session; an untouched store under the same key
    is neither empty nor modified.
    """
    if session_key:
        request.session = session_store_class()(session_key)


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
        request.session = session_store_class()()


def load_many(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The data of each session in ``keys`` that its engine still holds, by key."""
    wanted = [key for key in dict.fromkeys(keys) if key]
    if not wanted:
        return {}
    store_class = session_store_class()
    found: dict[str, dict[str, Any]] = {}
    prefix = getattr(store_class, "cache_key_prefix", None)
    if prefix is not None:
        try:
            hits = caches[settings.SESSION_CACHE_ALIAS].get_many([prefix + key for key in wanted])
        except Exception:  # noqa: BLE001 - an unreachable cache is no session data, and cached_db has the database
            hits = {}
        found = {key: hits[prefix + key] for key in wanted if prefix + key in hits}
    missing = [key for key in wanted if key not in found]
    if not missing:
        return found
    if hasattr(store_class, "get_model_class"):
        decoder = store_class()
        rows = store_class.get_model_class()._default_manager.filter(
            session_key__in=missing, expire_date__gt=timezone.now()
        )
        for row in rows:
            found[row.session_key] = decoder.decode(row.session_data)
    elif prefix is None:
        for key in missing:
            store = store_class(key)
            if store.exists(key):
                found[key] = dict(store.items())
    return found
