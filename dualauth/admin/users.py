"""The user change page lists the user's live sign-ins, with a button that ends them all.

The default ``User`` admin gets it by itself. A project with its own user
admin mixes it in: ``class MyUserAdmin(SignInsUserAdminMixin, UserAdmin)``;
the mixin sets ``change_form_template``, so a project with its own template
extends ``admin/dualauth/user_change_form.html`` instead.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from .. import services
from ..client_info import device_label
from ..models import AuthSession, Reason
from .base import can_revoke, can_view, confirmation_page, confirmed, require_revoke
from .sign_ins import describe


class SignInsUserAdminMixin:
    """Adds the user's active sign-ins and a "Revoke all sign-ins" button to a user admin's change page."""

    change_form_template = "admin/dualauth/user_change_form.html"

    def _revoke_url_name(self) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return f"{opts.app_label}_{opts.model_name}_revoke_sign_ins"

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("<path:object_id>/revoke-sign-ins/", wrap(self.revoke_sign_ins_view), name=self._revoke_url_name()),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        user = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if user is not None and can_view(request):
            context["dualauth_sign_ins"] = [
                (row, device_label(row.user_agent)) for row in services.active_sign_ins(user)
            ]
            context["dualauth_can_revoke"] = can_revoke(request)
            context["dualauth_revoke_url"] = reverse(f"admin:{self._revoke_url_name()}", args=[user.pk])
        return super().change_view(request, object_id, form_url, context)  # type: ignore[misc,no-any-return]

    def revoke_sign_ins_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: a page listing the user's live sign-ins; POST with ``post=yes``: end the ones it listed."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        require_revoke(request)
        user = self.get_object(request, unquote(object_id))  # type: ignore[attr-defined]
        if user is None:
            raise Http404
        if not self.has_view_permission(request, user):  # type: ignore[attr-defined]
            raise PermissionDenied
        live = list(AuthSession.objects.active().filter(user_id=user.pk))
        if request.POST.get("post") != "yes":
            return confirmation_page(
                self,
                request,
                title=_("Revoke all sign-ins of %(user)s") % {"user": user},
                question=_("Every live sign-in of this user will end, of both kinds:"),
                listed=[(row.pk, describe(row)) for row in live],
                selected=[],
            )
        count = len(services.end_sign_ins([user], confirmed(request, live), Reason.ADMIN))
        if count:
            self.log_change(request, user, f"Revoked {count} sign-in(s) (admin)")  # type: ignore[attr-defined]
        self.message_user(request, _("Revoked {count} sign-in(s).").format(count=count), messages.SUCCESS)  # type: ignore[attr-defined]
        opts = self.model._meta  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk]))


def install_on_default_user_admin(site: admin.AdminSite = admin.site) -> None:
    """Give Django's own ``UserAdmin`` the sign-ins section; leave a project's own user admin alone."""
    from django.contrib.auth import admin as auth_admin  # registers UserAdmin now, whatever INSTALLED_APPS' order

    user_model = get_user_model()
    current = site._registry.get(user_model)
    if current is None or type(current) is not auth_admin.UserAdmin:
        return
    site.unregister(user_model)
    site.register(
        user_model, type("UserAdmin", (SignInsUserAdminMixin, auth_admin.UserAdmin), {"__module__": __name__})
    )
