"""dualauth's admin screens: Sign-ins, refresh tokens, the session store, and sign-ins on the user page."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin

from ..models import AuthSession, StoredSession
from .login import LoginForm
from .session_store import SessionStoreAdmin
from .sign_ins import AuthSessionAdmin
from .users import SignInsUserAdminMixin, install_on_default_user_admin

__all__ = ["AuthSessionAdmin", "LoginForm", "SessionStoreAdmin", "SignInsUserAdminMixin", "install"]


def install(site: admin.AdminSite = admin.site) -> None:
    """Register dualauth's screens on ``site`` (the default site, at import): Sign-ins, the session store,
    simplejwt's token tables under dualauth's admins, the throttled login form and the user page's section."""
    if site.login_form is None:  # a project's own form wins; it can subclass LoginForm
        site.login_form = LoginForm
    site.register(AuthSession, AuthSessionAdmin)
    site.register(StoredSession, SessionStoreAdmin)
    if apps.is_installed("rest_framework_simplejwt.token_blacklist"):
        # Import simplejwt's registrations first, whatever the order of INSTALLED_APPS, then replace them.
        import rest_framework_simplejwt.token_blacklist.admin  # noqa: F401
        from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

        from .tokens import BlacklistedTokenAdmin, OutstandingTokenAdmin

        for model, model_admin in (
            (OutstandingToken, OutstandingTokenAdmin),
            (BlacklistedToken, BlacklistedTokenAdmin),
        ):
            if site.is_registered(model):
                site.unregister(model)
            site.register(model, model_admin)
    install_on_default_user_admin(site)


install()
