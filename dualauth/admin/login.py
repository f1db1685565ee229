"""The admin's login form, saying when to try again once the login limiter refuses an attempt."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from .. import throttling


class LoginForm(AdminAuthenticationForm):
    """``AdminAuthenticationForm`` whose error, for a refused attempt, is the limiter's and not "wrong password".

    Installed on ``admin.site`` unless the project set a ``login_form`` of its
    own; a custom ``AdminSite`` names it (``login_form = LoginForm``).
    """

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            wait = throttling.refused(self.request)
            if wait is None:
                raise
            raise ValidationError(
                ngettext(
                    "Too many sign-in attempts. Try again in %(wait)d second.",
                    "Too many sign-in attempts. Try again in %(wait)d seconds.",
                    wait,
                ),
                code="throttled",
                params={"wait": wait},
            ) from None
