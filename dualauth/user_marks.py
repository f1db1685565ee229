"""The mark a sign-in keeps of its user: a digest of the password hash and of the privilege fields.

A sign-in is bound to the credentials and privileges its user had when it
started. Every request reads the user row anyway (that is what refuses a
deactivated user at once); comparing that row's mark with the sign-in's
catches any change to them, whatever made it — a save, ``QuerySet.update()``,
raw SQL, or a password change that lands while a login sits between
``authenticate()`` and the start of its sign-in.

A mark is two digests, ``<password>.<privileges>``, so the service layer can
tell a new password (``REVOKE_ON_PASSWORD_CHANGE`` may keep sign-ins across
it) from new privileges (which always end them). The digests are not secret:
they only need to change when what they digest changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist

from .conf import dualauth_settings

#: Watched whatever the settings say; ``EXTRA_PRIVILEGE_FIELDS`` adds a project's own.
PRIVILEGE_FIELDS = ("is_active", "is_staff", "is_superuser")
PASSWORD_FIELD = "password"


def privilege_fields() -> tuple[str, ...]:
    """The user fields whose change is a privilege change: Django's three flags, then the project's."""
    return (*PRIVILEGE_FIELDS, *dualauth_settings.EXTRA_PRIVILEGE_FIELDS)


def watched_fields() -> tuple[str, ...]:
    """Every field a mark depends on."""
    return (PASSWORD_FIELD, *privilege_fields())


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8, person=b"dualauth.mark").hexdigest()


def attname(user: Any, name: str) -> str:
    """Where a field's value sits on the instance: a foreign key by its id, so no related row is loaded."""
    try:
        return str(user._meta.get_field(name).attname)
    except FieldDoesNotExist:  # a property of a custom user class is read as it is
        return name


def _value(user: Any, name: str) -> Any:
    return getattr(user, attname(user, name), None)


def password_part(password_hash: str | None) -> str:
    return _digest(password_hash or "")


def mark_of(user: Any) -> str:
    """The mark of ``user`` as it is now."""
    privileges = "\x1f".join(f"{name}={_value(user, name)!r}" for name in privilege_fields())
    return f"{password_part(getattr(user, PASSWORD_FIELD, None))}.{_digest(privileges)}"


@dataclass(frozen=True)
class Change:
    """How a user differs from the mark a sign-in holds."""

    password: bool
    privileges: bool
    #: The sign-in holds no mark (started before marks existed): nothing to compare.
    unmarked: bool = False


def compare(mark: str, user: Any) -> Change | None:
    """``None`` when ``user`` still matches ``mark``; otherwise what changed."""
    if not mark:
        return Change(password=False, privileges=False, unmarked=True)
    current = mark_of(user)
    if current == mark:
        return None
    held_password, _, held_privileges = mark.partition(".")
    password, _, privileges = current.partition(".")
    return Change(password=held_password != password, privileges=held_privileges != privileges)


def with_password(mark: str, password_hash: str | None) -> str:
    """``mark`` with its password part replaced: a hash upgrade on login is not a new password."""
    return f"{password_part(password_hash)}.{mark.partition('.')[2]}"
