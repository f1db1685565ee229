"""simplejwt's outstanding and blacklist tables, when ``token_blacklist`` is installed.

dualauth's own revocation does not need them (the ``sid`` check refuses a
token of an ended sign-in); they keep simplejwt's own views and admin
truthful, and they are the only handle on refresh tokens issued before
dualauth (legacy tokens), which belong to no sign-in.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import AuthSession
from ..tokens import SID_CLAIM, RefreshToken, jwt_settings, parse_sid
from .issuing import expiry_of

#: How the outstanding row of a token dualauth issued names its sign-in, in place of the raw token.
OUTSTANDING_SID_MARK = "sid:"
LEGACY_BATCH = 2000


def installed() -> bool:
    return apps.is_installed("rest_framework_simplejwt.token_blacklist")


def record_outstanding(refresh: RefreshToken, user: Any) -> None:
    """Record the token in simplejwt's outstanding list, without its raw text.

    simplejwt stores the whole token there; a database leak would then hand
    out live refresh tokens. The jti is all revocation needs; the ``token``
    column keeps ``sid:<id>`` instead, so the admin can show the sign-in of
    every token of a family, rotated ones included.
    """
    if not installed():
        return
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    OutstandingToken.objects.create(
        user=user,
        jti=refresh[jwt_settings().JTI_CLAIM],
        token=f"{OUTSTANDING_SID_MARK}{refresh[SID_CLAIM]}",
        created_at=timezone.now(),
        expires_at=expiry_of(refresh),
    )


def blacklist(jti: str, user_id: Any, expires_at: datetime) -> bool:
    """Blacklist ``jti``; return whether this call did it (``False``: it already was)."""
    if not jti or not installed():
        return False
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    try:
        with transaction.atomic():
            outstanding, _ = OutstandingToken.objects.get_or_create(
                jti=jti,
                defaults={"user_id": user_id, "token": "", "expires_at": expires_at},
            )
            _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
    except IntegrityError:  # a concurrent call inserted the same row first
        return False
    return created


def blacklisted_at(jti: str) -> datetime | None:
    """When ``jti`` was blacklisted: for a token dualauth rotated, when it was rotated."""
    if not installed():
        return None
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    return BlacklistedToken.objects.filter(token__jti=jti).values_list("blacklisted_at", flat=True).first()


def outstanding_row(jti: str) -> Any:
    """simplejwt's row for the refresh token ``jti``, if it has one."""
    if not installed():
        return None
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    return OutstandingToken.objects.filter(jti=jti).first()


def outstanding_sid(token: Any) -> uuid.UUID | None:
    """The sign-in a simplejwt ``OutstandingToken`` row belongs to, when dualauth issued it."""
    text = token.token or ""
    return parse_sid(text[len(OUTSTANDING_SID_MARK) :]) if text.startswith(OUTSTANDING_SID_MARK) else None


def end_legacy_tokens(user: Any = None) -> int:
    """Blacklist the refresh tokens simplejwt issued before dualauth, of ``user`` or of everyone.

    They belong to no sign-in, so ending sign-ins alone would leave them
    exchangeable under ``ADOPT_LEGACY_TOKENS``: whatever ends all of a user's
    sign-ins (a password change, "revoke all") must end them too. Only tokens
    simplejwt recorded as outstanding can be reached; docs/migration/simplejwt.md
    says what that leaves. Returns how many were blacklisted.
    """
    if not installed():
        return 0
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    legacy = (
        OutstandingToken.objects.filter(blacklistedtoken__isnull=True, expires_at__gt=timezone.now())
        .exclude(token__startswith=OUTSTANDING_SID_MARK)
        # dualauth 0.1.0 wrote its own rows with an empty token: a live sign-in's current token is not legacy
        .exclude(jti__in=AuthSession.objects.filter(revoked_at__isnull=True).values("refresh_jti"))
    )
    if user is not None:
        legacy = legacy.filter(user_id=user.pk)
    ended = 0
    batch: list[Any] = []
    for pk in legacy.values_list("pk", flat=True).iterator(chunk_size=LEGACY_BATCH):
        batch.append(BlacklistedToken(token_id=pk))
        if len(batch) == LEGACY_BATCH:
            ended += len(BlacklistedToken.objects.bulk_create(batch, ignore_conflicts=True))
            batch = []
    return ended + len(BlacklistedToken.objects.bulk_create(batch, ignore_conflicts=True))


def delete_expired(now: datetime) -> int:
    """Expired refresh tokens leave simplejwt's tables, whose blacklist they no longer need; return how many."""
    if not installed():
        return 0
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    return OutstandingToken.objects.filter(expires_at__lt=now).delete()[1].get(OutstandingToken._meta.label, 0)
