"""``AuthSession``: one row per authenticated client, whatever carries it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import liveness


class Kind(models.TextChoices):
    SESSION = "session", _("Session")
    JWT = "jwt", _("JWT")


class Reason(models.TextChoices):
    LOGOUT = "logout", _("Logged out")
    ADMIN = "admin", _("Revoked by an administrator")
    USER = "user", _("Revoked by the user")
    PASSWORD_CHANGE = "password_change", _("Password changed")
    REFRESH_REUSE = "refresh_reuse", _("Refresh token re-used")
    DEACTIVATED = "deactivated", _("User deactivated")
    PRIVILEGE_CHANGE = "privilege_change", _("Privileges changed")
    INVALIDATED = "invalidated", _("Session no longer valid for its user")
    SUPERSEDED = "superseded", _("Replaced by a new sign-in")
    LIMIT = "limit", _("Too many sign-ins")
    SESSION_LOST = "session_lost", _("Its session was gone from the session store")


class AuthSessionQuerySet(models.QuerySet["AuthSession"]):
    def active(self) -> AuthSessionQuerySet:
        """Not revoked, not expired, not idle past ``SESSION_IDLE_TIMEOUT``."""
        return self.filter(liveness.live(timezone.now()))

    def revoked(self) -> AuthSessionQuerySet:
        return self.filter(revoked_at__isnull=False)

    def expired(self) -> AuthSessionQuerySet:
        """Not revoked, but past their expiry or idle past ``SESSION_IDLE_TIMEOUT``."""
        return self.filter(liveness.expired(timezone.now()))


class AuthSession(models.Model):
    """A sign-in. Written only by ``dualauth.services``; everything else reads."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="auth_sessions",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    session_key = models.CharField(_("session key"), max_length=64, blank=True, default="", db_index=True)
    refresh_jti = models.CharField(_("refresh token id"), max_length=255, blank=True, default="", db_index=True)
    # The token the last rotation replaced, and when: a client that lost a refresh race
    # presents it again within REFRESH_REUSE_GRACE, which is not re-use.
    previous_refresh_jti = models.CharField(_("previous refresh token id"), max_length=255, blank=True, default="")
    rotated_at = models.DateTimeField(_("rotated"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_reason = models.CharField(_("revocation reason"), max_length=32, blank=True, default="")
    # What the user's password and privileges were when the sign-in started (dualauth.user_marks):
    # a sign-in whose user no longer matches it is refused on its next request.
    # db_default too: during a rolling deploy, instances still running the previous release insert rows without it.
    user_mark = models.CharField(_("user mark"), max_length=255, blank=True, default="", db_default="", editable=False)

    objects = AuthSessionQuerySet.as_manager()

    class Meta:
        verbose_name = _("sign-in")
        verbose_name_plural = _("sign-ins")
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="dualauth_user_revoked_idx"),
            # The admin's order: its first page must not sort the whole table.
            models.Index(fields=["created_at"], name="dualauth_created_idx"),
        ]
        permissions = [("revoke_authsession", _("Can revoke sign-ins"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sign-in {self.id} of {self.user_id}"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if liveness.is_live(False, self.expires_at, self.last_seen_at, timezone.now()) else "expired"


class StoredSession(AuthSession):
    """Session-kind sign-ins seen from their Django session store: the admin's "Session store" screen."""

    class Meta:
        proxy = True
        verbose_name = _("stored session")
        verbose_name_plural = _("session store")
