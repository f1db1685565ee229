"""The login limiter in front of every ``authenticate()`` call (django-axes' pattern).

Most projects replace Django's ``ModelBackend`` with ``ThrottledModelBackend``,
which is that backend with the limiter in front::

    AUTHENTICATION_BACKENDS = ["dualauth.backends.ThrottledModelBackend"]

A project with other backends (LDAP, SSO) puts ``LoginThrottleBackend`` first
instead, in front of all of them::

    AUTHENTICATION_BACKENDS = [
        "dualauth.backends.LoginThrottleBackend",
        "django.contrib.auth.backends.ModelBackend",
        ...
    ]

Either counts the attempt against the client's IP and, when a bucket is full,
raises ``PermissionDenied``: ``authenticate()`` then stops and answers ``None``
before any password is checked. The admin's login form
(``dualauth.admin.LoginForm``) and the API say when to try again.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables

from . import throttling


def _refuse_if_throttled(request: Any, username: Any, credentials: dict[str, Any]) -> None:
    if username is None:
        username = credentials.get(get_user_model().USERNAME_FIELD)
    if throttling.admit(request, username).refused:
        raise PermissionDenied("Too many sign-in attempts.")


class LoginThrottleBackend:
    """A backend that only refuses (too many attempts from this IP, or failures on this account); first in the list.

    It has no ``get_user()``: it never signs anyone in, so Django never picks
    it for a session.
    """

    @method_decorator(sensitive_variables())
    def authenticate(self, request: Any, username: Any = None, **credentials: Any) -> None:
        _refuse_if_throttled(request, username, credentials)


class ThrottledModelBackend(ModelBackend):
    """Django's ``ModelBackend`` with the login limiter in front: the one backend most projects need."""

    @method_decorator(sensitive_variables())  # Django's own marks only "credentials"; this frame holds the password
    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs: Any) -> Any:
        _refuse_if_throttled(request, username, kwargs)
        return super().authenticate(request, username=username, password=password, **kwargs)
