"""Keep credentials out of Django's error reports (the 500 page with DEBUG on, the e-mails of AdminEmailHandler).

Django already hides the session cookie, ``HTTP_COOKIE``, ``HTTP_AUTHORIZATION``
and anything whose name says KEY, TOKEN or PASS. dualauth's own cookies carry
live tokens under names that say none of that; every request through
``DualAuthMiddleware`` gets a filter that hides them too, built on whatever
filter the project configured. Views that handle a password or a token also
mark their POST data and their locals (and every frame below them) as sensitive.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter
from django.views.decorators.debug import sensitive_variables

from .conf import dualauth_settings

# One class per base filter: keyed by the base, so a changed DEFAULT_EXCEPTION_REPORTER_FILTER meets a new entry.
_classes: dict[type, type] = {}


def _filter_class(base: type[SafeExceptionReporterFilter]) -> type[SafeExceptionReporterFilter]:
    if base not in _classes:

        class CredentialsFilter(base):  # type: ignore[valid-type,misc]
            """The project's filter, and dualauth's token cookies hidden as its session cookie is."""

            def cleanse_setting(self, key: Any, value: Any) -> Any:
                if key in _secret_names():
                    return self.cleansed_substitute
                return super().cleanse_setting(key, value)

        _classes[base] = CredentialsFilter
    return _classes[base]


def _secret_names() -> set[str]:
    """Cookie and META names that carry a credential under a name Django's filter may let through: dualauth's
    token cookies, the CSRF cookie and the secret Django copies into META, and simplejwt's header."""
    from .tokens import jwt_settings

    return {
        dualauth_settings.ACCESS_COOKIE,
        dualauth_settings.REFRESH_COOKIE,
        settings.CSRF_COOKIE_NAME,
        "CSRF_COOKIE",
        jwt_settings().AUTH_HEADER_NAME,
    }


def protect(request: HttpRequest) -> None:
    """Install the filter on ``request``, unless the project gave it one of its own."""
    if "exception_reporter_filter" not in request.__dict__:
        base = type(get_default_exception_reporter_filter())
        request.exception_reporter_filter = _filter_class(base)()


def protect_post(request: HttpRequest) -> None:
    """A view that takes a password or a token: none of its POST data in a report."""
    request.sensitive_post_parameters = "__ALL__"  # type: ignore[attr-defined]
    protect(request)


class CredentialsViewMixin:
    """For a class-based view that takes a password or a token (dualauth's own, a project's password change):
    Django's error report shows none of it, in its POST data or in the locals of any frame below ``dispatch``."""

    @method_decorator(sensitive_variables())
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        protect_post(request)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
