"""``DualAuthMiddleware``: the right ``request.user`` for plain Django views, in every mode."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from importlib import import_module
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from . import current_request, reports, services, throttling
from .authentication import csrf_failure
from .credentials import (
    CYCLED_KEYS_ATTR,
    INITIAL_SESSION_KEY_ATTR,
    cookie_session_key,
    request_credential,
)
from .exceptions import UNRECORDED, NotRecorded

# What any session engine's cookie is made of (Django's keys, signed-cookie values): printable ASCII.
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _key_changed(request: HttpRequest) -> bool:
    key = getattr(getattr(request, "session", None), "session_key", None)
    return bool(key) and key != getattr(request, INITIAL_SESSION_KEY_ATTR, None)


def _follow_cycles(request: HttpRequest) -> None:
    """Make the request's session tell its sign-in of a new key the moment it gets one.

    ``cycle_key()`` (Django's ``login()`` and ``update_session_auth_hash()``, a
    project's step-up) deletes the old key at once; until the sign-in's row
    has the new one, a request still carrying the old cookie would find the
    sign-in under a key whose session is gone, and end it as lost. So the
    row follows inside ``cycle_key()`` itself; after the response,
    ``follow_session_key`` catches any other way the key changed.
    """
    session = request.session
    for name in ("cycle_key", "acycle_key"):  # SessionBase has both, since Django 5.0
        setattr(session, name, _following(request, name, getattr(session, name)))


def _following(request: HttpRequest, name: str, cycle: Any) -> Any:
    if name == "acycle_key":

        async def acycle_key() -> None:
            previous = _note(request)
            await cycle()
            _note(request)
            await sync_to_async(services.follow_session_key)(request, previous)

        return acycle_key

    def cycle_key() -> None:
        previous = _note(request)
        cycle()
        _note(request)
        services.follow_session_key(request, previous)

    return cycle_key


def _note(request: HttpRequest) -> str | None:
    """Remember the session's key now: ``login()`` may flush the session after a cycle, and the sign-in it
    replaces is then found by one of them."""
    key: str | None = request.session.session_key
    if key:
        getattr(request, CYCLED_KEYS_ATTR).append(key)
    return key


def get_user(request: HttpRequest) -> Any:
    credential = request_credential(request)
    if credential is None or credential.user is None:
        return AnonymousUser()
    return credential.user


async def aget_user(request: HttpRequest) -> Any:
    return await sync_to_async(get_user)(request)


class DualAuthMiddleware:
    """Replace ``request.user`` with a lazy one that honours revocation, timeouts and JWTs.

    Put it after ``SessionMiddleware`` and ``AuthenticationMiddleware``. An
    invalid, expired or revoked credential leaves the user anonymous (a
    revoked session is flushed); the view decides what that means.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        # Under ASGI, Django hands an async get_response to middleware that can take one: no thread hop here.
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        self._prepare(request)
        with current_request.serving(request), throttling.request_attempts():
            response = self.get_response(request)
        if _key_changed(request):
            services.follow_session_key(request, getattr(request, INITIAL_SESSION_KEY_ATTR, None))
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self._prepare(request)
        with current_request.serving(request), throttling.request_attempts():
            response: HttpResponse = await self.get_response(request)
        if _key_changed(request):
            await sync_to_async(services.follow_session_key)(request, getattr(request, INITIAL_SESSION_KEY_ATTR, None))
        return response

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any) -> Any:
        """The admin's logout ends the sign-in of a session whose data cannot be read (its store is down).

        The admin answers an anonymous user's logout with a redirect and never
        calls ``logout()``; without this, a copy of the cookie would work again
        once a session store that persists came back. Found by its key, as the
        API's logout does.
        """
        if request.method != "POST" or getattr(view_func, "admin_site", None) is None:  # set by AdminSite on its views
            return None
        match = request.resolver_match
        if match is None or match.url_name != "logout" or request.user.is_authenticated:
            return None  # an authenticated logout goes through logout() and the user_logged_out receiver
        key = cookie_session_key(request)
        if key is None or csrf_failure(request) is not None:
            return None
        try:
            services.log_out(services.sign_ins_of_session(key), key)
        except NotRecorded as exc:
            return self.process_exception(request, exc)
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A logout the database could not record (Django's ``logout()`` in any view, the admin's): a 503 that
        keeps the session cookie, so the client can try again, rather than a 500 after which Django drops it."""
        if not isinstance(exception, NotRecorded):
            return None
        services.keep_session_cookie(request, cookie_session_key(request))
        return HttpResponse(
            str(UNRECORDED), status=503, content_type="text/plain; charset=utf-8", headers={"Retry-After": "5"}
        )

    def _prepare(self, request: HttpRequest) -> None:
        """Install the lazy user; nothing here touches a database, a cache or a socket."""
        if not hasattr(request, "session") or not hasattr(request, "user"):
            raise ImproperlyConfigured(
                "DualAuthMiddleware needs SessionMiddleware and AuthenticationMiddleware before it in MIDDLEWARE."
            )
        key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if key is not None and not _PRINTABLE_ASCII.fullmatch(key):
            # No engine issues such a key, and some databases fail on it (PostgreSQL
            # refuses NUL): a garbage cookie is no session, not a 500.
            request.session = import_module(settings.SESSION_ENGINE).SessionStore()
            key = None
        # The key the client came with: a login() that flushes the session to
        # switch users erases the old sid, and this still finds its sign-in.
        setattr(request, INITIAL_SESSION_KEY_ATTR, key)
        reports.protect(request)
        setattr(request, CYCLED_KEYS_ATTR, [])
        _follow_cycles(request)
        request.user = SimpleLazyObject(partial(get_user, request))  # type: ignore[assignment]
        request.auser = partial(aget_user, request)
