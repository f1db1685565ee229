"""The user change page lists the user's live sign-ins, with a button that ends them all.

The default ``User`` admin gets it by itself. A project with its own user
admin mixes it in: ``class MyUserAdmin(SignInsUserAdminMixin, UserAdmin)``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import services
from ..client_info import device_label
from ..models import Reason
from .base import can_revoke, can_view, require_revoke


class SignInsUserAdminMixin:
    """Adds the user's active sign-ins and a "Revoke all sign-ins" button to a user admin's change page."""

    change_form_template = "admin/dualauth/user_change_form.html"

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        opts = self.model._meta  # type: ignore[attr-defined]
        return [
            path(
                "<path:object_id>/revoke-sign-ins/",
                wrap(require_POST(self.revoke_sign_ins_view)),
                name=f"{opts.app_label}_{opts.model_name}_revoke_sign_ins",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        user = self.get_object(request, object_id)  # type: ignore[attr-defined]
        if user is not None and can_view(request):
            opts = self.model._meta  # type: ignore[attr-defined]
            context["dualauth_sign_ins"] = [
                (row, device_label(row.user_agent)) for row in services.active_sign_ins(user)
            ]
            context["dualauth_can_revoke"] = can_revoke(request)
            context["dualauth_revoke_url"] = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_revoke_sign_ins", args=[user.pk]
            )
        return super().change_view(request, object_id, form_url, context)  # type: ignore[misc,no-any-return]

    def revoke_sign_ins_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        require_revoke(request)
        user = get_object_or_404(self.model, pk=object_id)  # type: ignore[attr-defined]
        count = services.revoke_user(user, Reason.ADMIN)
        self.log_change(request, user, f"Revoked all {count} sign-in(s) (admin)")  # type: ignore[attr-defined]
        self.message_user(request, _("Revoked {count} sign-in(s).").format(count=count), messages.SUCCESS)  # type: ignore[attr-defined]
        opts = self.model._meta  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk]))


def install_on_default_user_admin(site: admin.AdminSite = admin.site) -> None:
    """Give Django's own ``UserAdmin`` the sign-ins section; leave a project's own user admin alone."""
    from django.contrib.auth.admin import UserAdmin

    user_model = get_user_model()
    current = site._registry.get(user_model)
    if current is None or type(current) is not UserAdmin:
        return
    site.unregister(user_model)
    site.register(user_model, type("UserAdmin", (SignInsUserAdminMixin, UserAdmin), {"__module__": __name__}))
