"""Signal receivers: adapters from Django's auth signals to the service layer."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import services
from .middleware import INITIAL_SESSION_KEY_ATTR
from .models import Reason


@receiver(user_logged_in, dispatch_uid="dualauth.receivers.start_session")
def start_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every Django ``login()`` (admin, allauth, SSO) starts a tracked session sign-in."""
    if kwargs.get("dualauth_kind") == "jwt" or request is None or not hasattr(request, "session"):
        return
    services.record_session_login(request, user, getattr(request, INITIAL_SESSION_KEY_ATTR, None))


@receiver(user_logged_out, dispatch_uid="dualauth.receivers.end_session")
def end_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Django's ``logout()`` ends the session's sign-in; the session itself is flushed by Django."""
    if request is not None and hasattr(request, "session"):
        sid = request.session.get(services.SESSION_SID_KEY)
        if sid:
            services.revoke(sid, Reason.LOGOUT, delete_session=False)
