"""Refresh tokens: simplejwt's outstanding and blacklisted lists, with the sign-in of each and a way to act.

simplejwt's own screens are replaced: they are read-only lists that can
blacklist nothing, and show the raw token column (dualauth writes ``sid:<id>``
there instead of the token, and shows it as the link to the sign-in).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import services
from .base import DualAuthAdmin


def _sign_in_link(token: Any) -> str:
    sid = services.outstanding_sid(token)
    if sid is None:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse("admin:dualauth_authsession_change", args=[sid]), sid)


def _token_status(token: Any) -> str:
    if getattr(token, "blacklistedtoken", None) is not None:
        return str(_("blacklisted"))
    if token.expires_at <= timezone.now():
        return str(_("expired"))
    return str(_("outstanding"))


class BlacklistFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("outstanding", _("Outstanding")), ("blacklisted", _("Blacklisted")), ("expired", _("Expired"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value, now = self.value(), timezone.now()
        if value == "outstanding":
            return queryset.filter(blacklistedtoken__isnull=True, expires_at__gt=now)
        if value == "blacklisted":
            return queryset.filter(blacklistedtoken__isnull=False)
        if value == "expired":
            return queryset.filter(blacklistedtoken__isnull=True, expires_at__lte=now)
        return queryset


class OutstandingTokenAdmin(DualAuthAdmin):
    list_display = ("jti", "user", "sign_in", "status", "created_at", "expires_at")
    list_filter = (BlacklistFilter,)
    list_select_related = ("user", "blacklistedtoken")
    search_fields = ("jti",)
    ordering = ("-created_at",)
    fields = ("jti", "user", "sign_in", "status", "created_at", "expires_at")
    readonly_fields = fields
    actions = ("blacklist_selected",)
    revoke_actions = actions

    @admin.display(description=_("sign-in"))
    def sign_in(self, obj: Any) -> str:
        return _sign_in_link(obj)

    @admin.display(description=_("status"))
    def status(self, obj: Any) -> str:
        return _token_status(obj)

    @admin.action(permissions=["revoke"], description=_("Blacklist selected refresh tokens"))
    def blacklist_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self.confirm(
            request,
            queryset,
            title=_("Blacklist refresh tokens"),
            question=_(
                "These refresh tokens will be blacklisted; the current token of a live sign-in ends that sign-in, "
                "access tokens included:"
            ),
            rows=list(queryset.filter(blacklistedtoken__isnull=True).select_related("user")),
            describe=lambda token: f"{token.user} · {token.jti} · {_token_status(token)}",
            act=lambda tokens: self.act_on(request, tokens, services.blacklist_refresh_token, "Blacklisted (admin)"),
            done=_("Blacklisted {count} token(s)."),
        )


class BlacklistedTokenAdmin(DualAuthAdmin):
    list_display = ("jti", "user", "sign_in", "blacklisted_at")
    list_select_related = ("token", "token__user")
    search_fields = ("token__jti",)
    ordering = ("-blacklisted_at",)
    fields = ("jti", "user", "sign_in", "blacklisted_at")
    readonly_fields = fields

    @admin.display(description=_("jti"))
    def jti(self, obj: Any) -> str:
        return str(obj.token.jti)

    @admin.display(description=_("user"))
    def user(self, obj: Any) -> Any:
        return obj.token.user

    @admin.display(description=_("sign-in"))
    def sign_in(self, obj: Any) -> str:
        return _sign_in_link(obj.token)
