"""Rotating a refresh token: a new pair, the old token blacklisted, re-use ending the sign-in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError

from .. import signals
from ..client_info import client_ip, user_agent
from ..conf import dualauth_settings
from ..exceptions import SignInRefused
from ..models import AuthSession, Kind, Reason
from ..stores import SignInState, get_store
from ..tokens import SID_CLAIM, RefreshToken, decode, jwt_settings, parse_sid
from . import simplejwt_tables
from .binding import still_bound
from .checking import user_by_claim
from .issuing import absolute_end, expiry_of, issue, new_refresh
from .revoking import revoke
from .shared import ENDED, INVALID_TOKEN, SignIn, logger
from .starting import start_jwt


def refresh(raw: Any, request: HttpRequest) -> SignIn:
    """Rotate a refresh token: a new pair, the old one blacklisted.

    The jti is compared with ``AuthSession.refresh_jti`` and swapped by a
    conditional update, so of two racing refreshes only one wins; the loser
    gets a 401 without harm to the sign-in (its next try with that token is
    re-use). A rotated token presented again is re-use and ends the whole
    sign-in.
    """
    try:
        token = decode(raw, RefreshToken)
    except TokenError:
        raise SignInRefused(INVALID_TOKEN, "token_not_valid") from None
    jwt = jwt_settings()
    jti = token.get(jwt.JTI_CLAIM)
    sid = parse_sid(token.get(SID_CLAIM))
    if sid is None:
        if token.get(SID_CLAIM) is None and dualauth_settings.ADOPT_LEGACY_TOKENS:
            return _adopt_legacy_refresh(token, request)
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")

    row = AuthSession.objects.select_related("user").filter(pk=sid, kind=Kind.JWT).first()
    if row is None or str(getattr(row.user, jwt.USER_ID_FIELD)) != str(token.get(jwt.USER_ID_CLAIM)):
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    now = timezone.now()
    if not SignInState.of(row).is_live(now):
        raise SignInRefused(ENDED, "session_ended")
    if not row.user.is_active:
        revoke(row.pk, Reason.DEACTIVATED)
        raise SignInRefused(ENDED, "session_ended")
    if not still_bound(SignInState.of(row), row.user):
        raise SignInRefused(ENDED, "session_ended")
    if row.refresh_jti == jti:
        new = new_refresh(row.user, row.pk, absolute_end(row.created_at))
        new_jti = new[jwt.JTI_CLAIM]
        with transaction.atomic():
            won = AuthSession.objects.filter(pk=row.pk, refresh_jti=jti, revoked_at__isnull=True).update(
                refresh_jti=new_jti,
                previous_refresh_jti=jti,
                rotated_at=now,
                expires_at=expiry_of(new),
                last_seen_at=now,
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
            if won:
                simplejwt_tables.blacklist(jti, row.user_id, expiry_of(token))
                simplejwt_tables.record_outstanding(new, row.user)
        if won:
            get_store().changed(row.pk)
            row.refresh_jti, row.expires_at, row.last_seen_at = new_jti, expiry_of(new), now
            return SignIn(row, issue(new))
        if AuthSession.objects.filter(pk=row.pk, revoked_at__isnull=True).exists():
            raise SignInRefused(_("This refresh token was just used by a concurrent request."), "refresh_conflict")
        raise SignInRefused(ENDED, "session_ended")
    if _within_reuse_grace(row, jti, now):
        logger.info("dualauth: a refresh token sign-in %s rotated within the grace was presented again", row.pk)
        raise SignInRefused(
            _("This refresh token was just replaced by a concurrent refresh; use the new one."), "refresh_conflict"
        )
    signals.refresh_reuse_detected.send(sender=AuthSession, auth_session=row, jti=jti, request=request)
    revoke(row.pk, Reason.REFRESH_REUSE)
    logger.warning("dualauth: refresh token re-used; sign-in %s revoked", row.pk)
    raise SignInRefused(ENDED, "refresh_reused")


def _within_reuse_grace(row: AuthSession, jti: Any, now: datetime) -> bool:
    """Whether ``jti``, a token of this live sign-in, was rotated no more than ``REFRESH_REUSE_GRACE`` ago.

    Tabs of one browser refresh with the same token at once, and the tab that
    won may rotate again before the others' requests are read: every one of
    them presents a token rotated a moment ago, which is not theft. When each
    token was rotated is when the rotation blacklisted it; without simplejwt's
    blacklist, only the token the last rotation replaced can be told.
    """
    grace = dualauth_settings.REFRESH_REUSE_GRACE
    if not grace or not jti:
        return False
    rotated_at = row.rotated_at if row.previous_refresh_jti == jti else None
    if rotated_at is None:
        rotated_at = simplejwt_tables.blacklisted_at(jti)
    return rotated_at is not None and now - rotated_at <= timedelta(seconds=grace)


def _adopt_legacy_refresh(token: Any, request: HttpRequest) -> SignIn:
    """A valid simplejwt refresh token without ``sid`` becomes a tracked sign-in (``ADOPT_LEGACY_TOKENS``)."""
    jwt = jwt_settings()
    user = user_by_claim(token.get(jwt.USER_ID_CLAIM))
    if user is None or not simplejwt_tables.blacklist(token.get(jwt.JTI_CLAIM), user.pk, expiry_of(token)):
        raise SignInRefused(INVALID_TOKEN, "token_not_valid")
    return start_jwt(request, user)
