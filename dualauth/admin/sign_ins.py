"""The Sign-ins screen (``AuthSession``): every sign-in of every kind, and the way to end them."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .. import services
from ..client_info import device_label
from ..exceptions import SignInRefused
from ..models import AuthSession, Reason
from ..tokens import parse_sid
from .base import DualAuthAdmin, can_revoke, can_view, require_revoke, screen_context
from .dates import DateBucketQuerySet


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("revoked", _("Revoked")), ("expired", _("Expired"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if value == "active":
            return queryset.active()
        if value == "revoked":
            return queryset.revoked()
        if value == "expired":
            return queryset.expired()
        return queryset


def _user_search_fields() -> tuple[str, ...]:
    user_model = get_user_model()
    fields = [f"user__{user_model.USERNAME_FIELD}"]
    email = user_model.get_email_field_name()
    if email != user_model.USERNAME_FIELD and any(f.name == email for f in user_model._meta.get_fields()):
        fields.append(f"user__{email}")
    return (*fields, "ip")


def describe(row: AuthSession) -> str:
    """One line per sign-in on the confirmation pages."""
    device = device_label(row.user_agent) or _("unknown device")
    return f"{row.user} · {row.get_kind_display()} · {row.ip or '-'} · {device} · {row.created_at:%Y-%m-%d %H:%M}"


class AuthSessionAdmin(DualAuthAdmin):
    list_display = ("user", "kind", "status_label", "ip", "device", "created_at", "last_seen_at", "expires_at")
    list_filter = ("kind", StatusFilter, "created_at")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    # "N results (M total)" counts the whole table again on every filtered page.
    show_full_result_count = False
    ordering = ("-created_at",)
    actions = ("revoke_selected", "revoke_users")
    revoke_actions = actions
    change_form_template = "admin/dualauth/authsession/change_form.html"
    change_list_template = "admin/dualauth/authsession/change_list.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)
        return DateBucketQuerySet(model=queryset.model, query=queryset.query, using=queryset.db)

    # The session key is a credential, and the token ids are for the token screens: neither is shown here.
    fields = (
        "id",
        "user",
        "kind",
        "status_label",
        "ip",
        "device",
        "user_agent",
        "created_at",
        "last_seen_at",
        "expires_at",
        "revoked_at",
        "revoked_reason",
    )
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return _user_search_fields()

    @admin.display(description=_("status"))
    def status_label(self, obj: AuthSession) -> str:
        return str(obj.status)

    @admin.display(description=_("device"))
    def device(self, obj: AuthSession) -> str:
        return device_label(obj.user_agent)

    @admin.action(permissions=["revoke"], description=_("Revoke selected sign-ins"))
    def revoke_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        return self.confirm(
            request,
            queryset,
            title=_("Revoke sign-ins"),
            question=_("These sign-ins will end; each client is refused on its next request:"),
            rows=list(queryset.filter(revoked_at__isnull=True).select_related("user")),
            describe=describe,
            act=lambda rows: self.revoke_rows(request, rows),
            done=_("Revoked {count} sign-in(s)."),
        )

    @admin.action(permissions=["revoke"], description=_("Revoke all sign-ins of these users"))
    def revoke_users(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        user_ids = set(queryset.values_list("user_id", flat=True))
        return self.confirm(
            request,
            queryset,
            title=_("Revoke all sign-ins of these users"),
            question=_("Every live sign-in of these users will end, of both kinds:"),
            rows=list(AuthSession.objects.filter(user_id__in=user_ids, revoked_at__isnull=True).select_related("user")),
            describe=describe,
            act=lambda rows: self.revoke_users_rows(request, rows, user_ids),
            done=_("Revoked {count} sign-in(s)."),
        )

    def revoke_users_rows(self, request: HttpRequest, rows: list[Any], user_ids: set[Any]) -> int:
        """The confirmed sign-ins, and the users' refresh tokens from before dualauth, which belong to none."""
        users = get_user_model()._default_manager.filter(pk__in=user_ids)
        log = partial(self.log_done, request, done="Revoked (admin)")
        return len(services.end_sign_ins(users, rows, Reason.ADMIN, ended=log))

    # The detail page's Revoke button, and "Revoke a token" --------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("revoke-token/", wrap(self.revoke_token_view), name="dualauth_authsession_revoke_token"),
            path("<path:object_id>/revoke/", wrap(self.revoke_view), name="dualauth_authsession_revoke"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "can_revoke": can_revoke(request)}
        )

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        require_revoke(request)
        row = get_object_or_404(AuthSession, pk=parse_sid(object_id))
        if self.revoke_rows(request, [row]):
            self.message_user(request, _("Sign-in revoked."), messages.SUCCESS)
        else:
            self.message_user(request, _("That sign-in had already ended."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:dualauth_authsession_change", args=[row.pk]))

    @method_decorator(sensitive_post_parameters("token"))
    @method_decorator(sensitive_variables())  # the pasted token, here and in every frame below
    def revoke_token_view(self, request: HttpRequest) -> HttpResponse:
        if not can_view(request):
            raise PermissionDenied
        form = RevokeTokenForm(request.POST or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = form.report
            if "_revoke" in request.POST:
                require_revoke(request)
                if not report.revocable:
                    self.message_user(request, NOT_REVOCABLE, messages.WARNING)
                    return HttpResponseRedirect(request.path)
                if services.revoke_token(report):
                    # the sign-in, or the outstanding row blacklist() made sure of for a legacy token
                    logged = report.auth_session if report.auth_session is not None else report.outstanding
                    self.log_change(request, logged, "Revoked by pasted token (admin)")
                    self.message_user(request, _("Revoked: the token is refused from its next use."), messages.SUCCESS)
                else:
                    self.message_user(request, _("Nothing to revoke: it had already ended."), messages.WARNING)
                return HttpResponseRedirect(request.path)
        return TemplateResponse(
            request,
            "admin/dualauth/revoke_token.html",
            {**screen_context(self, request), "title": _("Revoke a token"), "form": form, "report": report},
        )


NOT_REVOCABLE = _(
    "This access token carries no sign-in id (an adopted legacy token): nothing can end it early; "
    "it stops working when it expires."
)


class RevokeTokenForm(forms.Form):
    token = forms.CharField(
        label=_("Token"),
        max_length=8192,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("An access or refresh token, as it leaked: its signature is checked, its expiry is not."),
    )

    report: services.TokenReport

    def clean_token(self) -> str:
        raw: str = self.cleaned_data["token"].strip()
        if raw.lower().startswith("bearer "):
            raw = raw[7:].strip()
        try:
            self.report = services.inspect_token(raw)
        except SignInRefused:
            raise forms.ValidationError(
                _("This is not a token signed by this site (or it is damaged)."), code="invalid"
            ) from None
        return raw
