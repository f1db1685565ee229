"""The login limiter in front of every ``authenticate()`` call (django-axes' pattern).

Most projects replace Django's ``ModelBackend`` with ``ThrottledModelBackend``,
which is that backend with the limiter in front::

    AUTHENTICATION_BACKENDS = ["dualauth.backends.ThrottledModelBackend"]

A project with other password backends (LDAP, say) puts ``LoginThrottleBackend``
first instead, in front of all of them (it then has several backends: a
``login(request, user)`` of its own must name the backend)::

    AUTHENTICATION_BACKENDS = [
        "dualauth.backends.LoginThrottleBackend",
        "django.contrib.auth.backends.ModelBackend",
        ...
    ]

Either counts each call that carries a password against the client's address
and the account and, when a bucket is full, raises ``PermissionDenied``:
``authenticate()`` then stops and answers ``None`` before any password is
checked. Calls without a password (``RemoteUserBackend``, SSO) are not
counted. The admin's login form (``dualauth.admin.LoginForm``) and the API say
when to try again.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from . import throttling


def _refuse_if_throttled(request: Any, credentials: dict[str, Any]) -> None:
    if credentials.get("password") is None:
        return  # not a password check: RemoteUserBackend, SSO, a one-time code, ModelBackend asked without one
    if throttling.admit(request, credentials).refused:
        raise PermissionDenied("Too many sign-in attempts.")


class LoginThrottleBackend:
    """A backend that only refuses (too many attempts from this address, or failures on this account); first in
    the list. It has no ``get_user()``: it never signs anyone in, so Django never picks it for a session."""

    @method_decorator(sensitive_variables())
    def authenticate(self, request: Any, **credentials: Any) -> None:
        _refuse_if_throttled(request, credentials)

    async def aauthenticate(self, request: Any, **credentials: Any) -> None:
        await sync_to_async(_refuse_if_throttled)(request, credentials)


class ThrottledModelBackend(ModelBackend):
    """Django's ``ModelBackend`` with the login limiter in front: the one backend most projects need."""

    @method_decorator(sensitive_variables())  # Django's own marks only "credentials"; this frame holds the password
    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs: Any) -> Any:
        _refuse_if_throttled(request, {**kwargs, "username": username, "password": password})
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            throttling.succeeded()
        return user

    async def aauthenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs: Any) -> Any:
        # ModelBackend's aauthenticate() does not go through authenticate(): the limiter must come first here too.
        return await sync_to_async(self.authenticate)(request, username=username, password=password, **kwargs)


def in_front() -> bool:
    """Whether ``authenticate()`` asks dualauth's limiter first (else the API's login asks it itself)."""
    return _in_front(tuple(getattr(settings, "AUTHENTICATION_BACKENDS", ()) or ()))


@lru_cache(maxsize=8)
def _in_front(backends: tuple[str, ...]) -> bool:
    try:
        first = import_string(backends[0]) if backends else None
    except ImportError:
        return False
    return isinstance(first, type) and issubclass(first, LoginThrottleBackend | ThrottledModelBackend)


@receiver(setting_changed, dispatch_uid="dualauth.backends.reset")
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "AUTHENTICATION_BACKENDS":
        _in_front.cache_clear()
