"""``manage.py dualauth_cleanup``: run it daily (cron, a scheduler) to keep dualauth's tables small."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dualauth import services
from dualauth.conf import dualauth_settings


class Command(BaseCommand):
    help = (
        "Delete sign-ins that ended more than REVOKED_RETENTION seconds ago and refresh tokens that have "
        "expired, and write every revocation that still matters to the state store again (healing a write "
        "missed while Redis was unreachable). Safe to run at any time, as often as you like."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = services.cleanup()
        retention = dualauth_settings.REVOKED_RETENTION
        summary = (
            f"Deleted {done.sign_ins} ended sign-in(s) older than {retention} s and {done.tokens} expired "
            f"refresh token(s); re-sent {done.resynced} revocation(s) to the state store."
        )
        if not services.deliver_pending():
            raise CommandError(f"{summary} The state store is unreachable: run this again once it is back.")
        self.stdout.write(summary)
