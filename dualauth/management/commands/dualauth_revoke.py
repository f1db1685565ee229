"""``manage.py dualauth_revoke``: end sign-ins from the command line (an incident, a leaked key)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dualauth import services
from dualauth.models import Kind, Reason


class Command(BaseCommand):
    help = (
        "Revoke live sign-ins: every one of one user (--user NAME) or of everyone (--all), optionally only "
        "of one kind (--kind session|jwt). Sessions are deleted from their session store, token families "
        "are blacklisted, and each revoked client is refused on its next request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", metavar="NAME", help="the user's username (USERNAME_FIELD)")
        who.add_argument("--all", action="store_true", help="every user")
        parser.add_argument("--kind", choices=[Kind.SESSION.value, Kind.JWT.value], help="only sign-ins of this kind")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="with --all, do not ask for confirmation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        what = f"{kind} sign-ins" if kind else "sign-ins"
        if options["all"]:
            if options["interactive"]:
                try:
                    answer = input(f"This ends all live {what} of every user. Type 'yes' to continue: ")
                except EOFError:
                    answer = ""
                if answer != "yes":
                    raise CommandError("Cancelled; nothing was revoked. (--noinput skips this question.)")
            count, users = services.revoke_everyone(Reason.ADMIN, kind=kind)
            self._done(f"Revoked {count} {what} of {users} user(s).")
            return
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(options["user"])
        except user_model.DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        count = services.revoke_user(user, Reason.ADMIN, kind=kind)
        self._done(f"Revoked {count} {what} of {options['user']}.")

    def _done(self, summary: str) -> None:
        if not services.deliver_pending():
            raise CommandError(
                f"{summary} The revocations are in the database, but the state store could not be told: "
                "until it can, a process reading it may accept them for up to a few minutes. "
                "Run manage.py dualauth_cleanup once it is reachable."
            )
        self.stdout.write(summary)
