"""The requesting user, read from the database on every request, without the ORM's per-query build cost.

Reading the user on every request is what refuses a deactivated user at once,
whatever deactivated them (``QuerySet.update()`` included); ``dualauth.rows``
makes that read cheap.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare

from .rows import fetch_one


def get_user(field_name: str, value: Any) -> Any:
    """The user whose ``field_name`` (``"pk"`` or a unique field) is ``value``, or ``None``."""
    return fetch_one(get_user_model(), field_name, value)


def user_pk(value: Any) -> Any:
    """``value`` as the user model's primary key, or ``None`` if it cannot be one."""
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


#: A backend a project replaces with dualauth's version of it: sessions signed in through the old one stay valid.
SUCCESSORS = {"django.contrib.auth.backends.ModelBackend": "dualauth.backends.ThrottledModelBackend"}


def session_user(request: Any) -> Any:
    """``django.contrib.auth.get_user(request)``, faster where it can be and Django's own everywhere else.

    The fast path covers the common case only: a backend whose ``get_user`` is
    ``ModelBackend``'s, a user who may authenticate, and a session hash that
    matches the current secret. Anything else (another backend, an unknown or
    inactive user, a hash from a fallback secret, a stale hash) is left to
    Django, which flushes, cycles or refuses exactly as it always does.
    """
    session = request.session
    backend_path = session.get(auth.BACKEND_SESSION_KEY)
    successor = SUCCESSORS.get(backend_path)
    if successor in settings.AUTHENTICATION_BACKENDS and backend_path not in settings.AUTHENTICATION_BACKENDS:
        session[auth.BACKEND_SESSION_KEY] = backend_path = successor  # the same sign-in, now behind the limiter
    user_id = session.get(auth.SESSION_KEY)
    pk = None if user_id is None else user_pk(user_id)
    if user_id is not None and pk is None:
        # Django's get_user() raises on it (a 500 on every request): an id of another pk type, say, left by a
        # migration to UUIDs. It names no one; like a stale hash, the session goes.
        session.flush()
        return AnonymousUser()
    if backend_path in settings.AUTHENTICATION_BACKENDS and user_id is not None:
        backend: Any = auth.load_backend(backend_path)
        if type(backend).get_user is ModelBackend.get_user:
            user = get_user("pk", pk)
            session_hash = session.get(auth.HASH_SESSION_KEY)
            if (
                user is not None
                and backend.user_can_authenticate(user)
                and hasattr(user, "get_session_auth_hash")
                and session_hash
                and constant_time_compare(session_hash, user.get_session_auth_hash())
            ):
                return user
    return auth.get_user(request)
