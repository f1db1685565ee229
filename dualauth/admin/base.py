"""What every dualauth admin screen shares: who may see and revoke, and the confirmation step."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import django
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.functional import Promise

from .. import services
from ..models import Reason

logger = logging.getLogger("dualauth")

StrOrPromise = str | Promise

VIEW_PERMISSION = "dualauth.view_authsession"
REVOKE_PERMISSION = "dualauth.revoke_authsession"


def can_view(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)


def can_revoke(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(REVOKE_PERMISSION)


def require_revoke(request: HttpRequest) -> None:
    """A POST that revokes, from a staff user without the permission, is refused whatever the form said."""
    if not can_revoke(request):
        raise PermissionDenied


class DualAuthAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only screens: viewing needs ``view_authsession``, revoking ``revoke_authsession``.

    Nothing is added, edited or deleted here: history stays as it happened,
    and ending a sign-in goes through ``dualauth.services``.
    """

    revoke_actions: tuple[str, ...] = ()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_view(request)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return can_revoke(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        # Django drops an action the user may not run with a notice and a redirect; a forged revoke is a 403.
        if request.method == "POST" and request.POST.get("action") in self.revoke_actions:
            require_revoke(request)
        return super().changelist_view(request, {**(extra_context or {}), "can_revoke": can_revoke(request)})

    def act_on(self, request: HttpRequest, rows: Iterable[Any], do: Callable[[Any], bool], done: str) -> int:
        """Apply a service call to each row; each one it changed gets a ``LogEntry`` naming the administrator."""
        count = 0
        for row in rows:
            if do(row):
                count += 1
                self.log_done(request, row, done)
        return count

    def log_done(self, request: HttpRequest, row: Any, done: str) -> None:
        """A ``LogEntry`` naming the administrator, written as soon as the row changed."""
        self.log_change(request, row, done)
        logger.info("dualauth: admin %s: %s %s", request.user.pk, done, row.pk)

    def revoke_rows(self, request: HttpRequest, rows: Iterable[Any]) -> int:
        """Revoke sign-ins for an administrator, with the reason ``admin``."""
        return self.act_on(request, rows, lambda row: services.revoke(row.pk, Reason.ADMIN), "Revoked (admin)")

    def confirm(
        self,
        request: HttpRequest,
        queryset: Any,
        *,
        title: StrOrPromise,
        question: StrOrPromise,
        rows: list[Any],
        describe: Callable[[Any], str],
        act: Callable[[list[Any]], int],
        done: StrOrPromise,
    ) -> HttpResponse | None:
        """The step between choosing an action and running it: a page listing what it will end.

        The confirming POST carries the ids that page listed, and only those
        are acted on: a sign-in that appeared in between is not ended unseen.
        """
        require_revoke(request)
        if request.POST.get("post") == "yes":
            count = act(confirmed(request, rows))
            self.message_user(request, str(done).format(count=count), messages.SUCCESS)
            return None
        return confirmation_page(
            self,
            request,
            title=title,
            question=question,
            listed=[(row.pk, describe(row)) for row in rows],
            selected=[obj.pk for obj in queryset],
        )


LISTED = "dualauth_listed"


def confirmed(request: HttpRequest, rows: Iterable[Any]) -> list[Any]:
    """The rows among ``rows`` that the confirmation page listed (their ids came back with the POST)."""
    listed = set(request.POST.getlist(LISTED))
    return [row for row in rows if str(row.pk) in listed]


def confirmation_page(
    model_admin: Any,
    request: HttpRequest,
    *,
    title: StrOrPromise,
    question: StrOrPromise,
    listed: list[tuple[Any, str]],
    selected: list[Any],
) -> TemplateResponse:
    """The page listing what a revocation will end; its form posts back the listed ids and ``post=yes``."""
    return TemplateResponse(
        request,
        "admin/dualauth/confirm_revoke.html",
        {
            **screen_context(model_admin, request),
            "title": title,
            "question": question,
            "listed": listed,
            "listed_name": LISTED,
            "selected": selected,
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": model_admin.media,
        },
    )


def screen_context(model_admin: Any, request: HttpRequest) -> dict[str, Any]:
    """What dualauth's own admin pages render with: the site's context and the breadcrumb markup of this Django."""
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "can_revoke": can_revoke(request),
        # Django 6.0 moved the admin's breadcrumbs from a div to an ordered list.
        "dualauth_list_breadcrumbs": django.VERSION >= (6, 0),
    }
