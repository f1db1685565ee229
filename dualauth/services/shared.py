"""What adapters share with the service layer without reaching into it.

The key under which a Django session carries its sign-in's id, the messages
a refused credential gets, the result types, and the kind a login starts.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import InterfaceError, InternalError, OperationalError
from django.utils.translation import gettext_lazy as _

from ..conf import dualauth_settings
from ..models import AuthSession, Kind
from ..stores import SignInState

logger = logging.getLogger("dualauth")

#: Where a Django session keeps the id of its sign-in.
SESSION_SID_KEY = "_dualauth_sid"
#: The engine whose key changes on every save, and which no server can delete.
SIGNED_COOKIES_ENGINE = "django.contrib.sessions.backends.signed_cookies"

INVALID_TOKEN = _("Token is invalid or expired.")
ENDED = _("This sign-in has ended.")

#: The database cannot take the write now: unreachable, or a replica promoted read-only (InternalError).
UNREACHABLE = (OperationalError, InterfaceError, InternalError)


@dataclass(frozen=True)
class IssuedTokens:
    """A token pair as the client receives it, with when each expires."""

    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True)
class SignIn:
    """A sign-in just started or refreshed: its row and, for the jwt kind, its new tokens."""

    auth_session: AuthSession
    tokens: IssuedTokens | None = None


@dataclass(frozen=True)
class CheckedToken:
    """An access token that passed: its user, its ``sid`` (``None`` for adopted
    legacy tokens) and the sign-in's state (``None`` when it was not checked:
    legacy tokens, or ``CHECK_REVOCATION`` off)."""

    user: Any
    sid: uuid.UUID | None
    state: SignInState | None


def default_kind() -> str:
    """The kind of sign-in a login starts when the client does not ask for one."""
    mode = dualauth_settings.MODE
    return mode if mode in (Kind.SESSION, Kind.JWT) else dualauth_settings.HYBRID_DEFAULT_KIND
