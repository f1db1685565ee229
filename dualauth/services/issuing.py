"""New refresh and access tokens for a jwt-kind sign-in, within the sign-in's absolute lifetime."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils.module_loading import import_string

from ..conf import dualauth_settings
from ..moments import as_aware, from_timestamp
from ..tokens import SID_CLAIM, RefreshToken, jwt_settings
from .shared import IssuedTokens

#: Claims ``TOKEN_CLAIMS_HOOK`` may not set: they are what the token means to simplejwt and to dualauth.
RESERVED_CLAIMS = frozenset({"sid", "exp", "iat", "nbf", "jti", "token_type", "user_id", "aud", "iss"})


def absolute_end(created_at: datetime) -> datetime | None:
    """The latest moment a sign-in created at ``created_at`` may live (``SESSION_ABSOLUTE_TIMEOUT``)."""
    absolute = dualauth_settings.SESSION_ABSOLUTE_TIMEOUT
    return created_at + timedelta(seconds=absolute) if absolute else None


def capped(expiry: datetime, created_at: datetime) -> datetime:
    """``expiry``, or the sign-in's absolute end if that comes first."""
    end = absolute_end(created_at)
    return min(expiry, end) if end else expiry


def expiry_of(token: Any) -> datetime:
    return from_timestamp(token["exp"])


def new_refresh(user: Any, sid: uuid.UUID, not_after: datetime | None) -> RefreshToken:
    jwt = jwt_settings()
    token = RefreshToken()
    hook = dualauth_settings.TOKEN_CLAIMS_HOOK
    if hook:
        extra = import_string(hook)(user) or {}
        for claim, value in extra.items():
            if claim not in RESERVED_CLAIMS and claim != jwt.USER_ID_CLAIM:
                token[claim] = value
    token[jwt.USER_ID_CLAIM] = str(getattr(user, jwt.USER_ID_FIELD))
    token[SID_CLAIM] = str(sid)
    if not_after is not None and expiry_of(token) > not_after:
        token["exp"] = int(as_aware(not_after).timestamp())
    return token


def issue(refresh: RefreshToken) -> IssuedTokens:
    """The pair a client gets: the access token never outlives its refresh token."""
    access = refresh.access_token
    if access["exp"] > refresh["exp"]:
        access["exp"] = refresh["exp"]
    return IssuedTokens(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=expiry_of(access),
        refresh_expires_at=expiry_of(refresh),
    )
