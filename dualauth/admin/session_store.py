"""The Session store screen: the Django sessions behind session-kind sign-ins, on any engine.

Listing a cache engine's sessions is not possible, and would not be wanted;
the sessions known to dualauth are the ones its sign-ins record, and a page
of them is read in one round trip (``dualauth.services.load_many``).
Killing one revokes its sign-in, which deletes it from whatever engine holds it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import SESSION_KEY, get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Kind
from ..services import load_many
from .base import DualAuthAdmin
from .sign_ins import StatusFilter, _user_search_fields, describe


class SessionStoreChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        found = load_many(row.session_key for row in rows)
        user_model = get_user_model()
        wanted = {user_model._meta.pk.to_python(data.get(SESSION_KEY)) for data in found.values()} - {None}
        users = user_model._default_manager.in_bulk(list(wanted)) if wanted else {}
        for row in rows:
            data = found.get(row.session_key)
            row.session_data = data
            row.session_user = None if data is None else users.get(user_model._meta.pk.to_python(data.get(SESSION_KEY)))


class SessionStoreAdmin(DualAuthAdmin):
    list_display = (
        "fingerprint",
        "session_user_label",
        "in_store",
        "status_label",
        "last_seen_at",
        "expires_at",
        "sign_in",
    )
    list_filter = (StatusFilter,)
    list_select_related = ("user",)
    ordering = ("-last_seen_at",)
    actions = ("kill_selected",)
    revoke_actions = actions
    list_display_links = None
    fields = ("id", "user", "kind", "status_label", "last_seen_at", "expires_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(kind=Kind.SESSION).exclude(session_key="")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return _user_search_fields()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return SessionStoreChangeList

    @admin.display(description=_("session"))
    def fingerprint(self, obj: Any) -> str:
        return services.hash_session_key(obj.session_key)[:12]  # the key itself is a credential

    @admin.display(description=_("user in the session"))
    def session_user_label(self, obj: Any) -> str:
        user = getattr(obj, "session_user", None)
        return str(user) if user is not None else "-"

    @admin.display(description=_("in the store"), boolean=True)
    def in_store(self, obj: Any) -> bool:
        return getattr(obj, "session_data", None) is not None

    @admin.display(description=_("status"))
    def status_label(self, obj: Any) -> str:
        return str(obj.status)

    @admin.display(description=_("sign-in"))
    def sign_in(self, obj: Any) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:dualauth_authsession_change", args=[obj.pk]), obj.pk)

    @admin.action(permissions=["revoke"], description=_("Kill selected sessions"))
    def kill_selected(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        rows = list(queryset.select_related("user"))
        held = load_many(row.session_key for row in rows if row.revoked_at is not None)
        return self.confirm(
            request,
            queryset,
            title=_("Kill sessions"),
            question=_("These sessions will be deleted from the session store and their sign-ins revoked:"),
            rows=[row for row in rows if row.revoked_at is None or row.session_key in held],
            describe=describe,
            act=lambda rows: self.act_on(request, rows, services.kill_session, "Session killed (admin)"),
            done=_("Killed {count} session(s)."),
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A stored session's page is its sign-in's page, which shows no session key."""
        return HttpResponseRedirect(reverse("admin:dualauth_authsession_change", args=[unquote(object_id)]))
