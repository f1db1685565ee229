"""``DualAuthMiddleware``: the right ``request.user`` for plain Django views, in every mode."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import Token
from functools import partial
from importlib import import_module
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from .credentials import current_request, request_credential

INITIAL_SESSION_KEY_ATTR = "_dualauth_initial_session_key"
# What any session engine's cookie is made of (Django's keys, signed-cookie values): printable ASCII.
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


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
        token = self._prepare(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = self._prepare(request)
        try:
            return await self.get_response(request)  # type: ignore[no-any-return]
        finally:
            current_request.reset(token)

    def _prepare(self, request: HttpRequest) -> Token[HttpRequest | None]:
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
        request.user = SimpleLazyObject(partial(get_user, request))  # type: ignore[assignment]
        request.auser = partial(aget_user, request)
        return current_request.set(request)
