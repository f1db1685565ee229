"""Signal receivers: adapters from Django's auth signals to the service layer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from . import services
from .credentials import current_sid_of
from .middleware import INITIAL_SESSION_KEY_ATTR
from .models import Reason


@receiver(user_logged_in, dispatch_uid="dualauth.receivers.start_session")
def start_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every Django ``login()`` (admin, allauth, SSO) starts a tracked session sign-in."""
    if kwargs.get("dualauth_kind") == "jwt" or request is None or not hasattr(request, "session"):
        return
    services.record_session_login(request, user, getattr(request, INITIAL_SESSION_KEY_ATTR, None))


def _remember_is_active(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._dualauth_was_active = instance.__dict__.get("is_active")


def _react_to_user_save(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A password set (``set_password`` + ``save``, any path) or a deactivation ends sign-ins.

    Django keeps the raw password in ``_password`` from ``set_password()``
    until the save completes; a hash upgrade on login does not set it.
    """
    was_active = getattr(instance, "_dualauth_was_active", None)
    is_active = instance.__dict__.get("is_active")
    instance._dualauth_was_active = is_active
    if created:
        return
    password_set = getattr(instance, "_password", None) is not None
    deactivated = was_active is True and is_active is False
    if password_set or deactivated:
        services.user_changed(
            instance, password_set=password_set, deactivated=deactivated, keep=current_sid_of(instance)
        )


def connect_user_model() -> None:
    """Watch saves of ``AUTH_USER_MODEL``; called from ``AppConfig.ready()``."""
    user_model = get_user_model()
    post_init.connect(_remember_is_active, sender=user_model, dispatch_uid="dualauth.receivers.remember_is_active")
    post_save.connect(_react_to_user_save, sender=user_model, dispatch_uid="dualauth.receivers.react_to_user_save")


@receiver(user_logged_out, dispatch_uid="dualauth.receivers.end_session")
def end_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Django's ``logout()`` ends the session's sign-in; the session itself is flushed by Django."""
    if request is not None and hasattr(request, "session"):
        sid = request.session.get(services.SESSION_SID_KEY)
        if sid:
            services.revoke(sid, Reason.LOGOUT, delete_session=False)
