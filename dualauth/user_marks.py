"""The mark a sign-in keeps of its user: a digest of the password hash and of the privilege fields.

A sign-in is bound to the credentials and privileges its user had when it
started. Every request reads the user row anyway (that is what refuses a
deactivated user at once); comparing that row's mark with the sign-in's
catches any change to them, whatever made it — a save, ``QuerySet.update()``,
raw SQL, or a password change that lands while a login sits between
``authenticate()`` and the start of its sign-in.

A mark is three digests, ``<password>.<privileges>.<field list>``, so the
service layer can tell a new password (``REVOKE_ON_PASSWORD_CHANGE`` may keep
sign-ins across it) from new privileges (which always end them). The digests
are not secret: they only need to change when what they digest changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
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


#: What ``snapshot()`` holds for a field the instance never loaded (``only()``, ``defer()``).
UNKNOWN = "\x00unknown"


def canonical(user: Any, name: str) -> str:
    """A field's value as the database would give it back, written one way only.

    A sign-in can start from a user object that was never read back (created,
    then logged in): its values may be an enum member, a string where the
    column holds a number, a ``Decimal`` of another scale, a dict in another
    key order. Each must give the mark the row will give.
    """
    try:
        field: Any = user._meta.get_field(name)
    except FieldDoesNotExist:
        return repr(getattr(user, name, None))
    return _canonical(field, getattr(user, field.attname, None))


def snapshot(user: Any) -> dict[str, str]:
    """The watched fields as loaded, without querying: a deferred one is ``UNKNOWN``. The password stays raw."""
    values = user.__dict__
    taken = {PASSWORD_FIELD: values.get(attname(user, PASSWORD_FIELD), UNKNOWN)}
    for name in privilege_fields():
        try:
            field: Any = user._meta.get_field(name)
        except FieldDoesNotExist:
            taken[name] = canonical(user, name)  # a property: nothing deferred about it
            continue
        taken[name] = _canonical(field, values[field.attname]) if field.attname in values else UNKNOWN
    return taken


def _canonical(field: Any, value: Any) -> str:
    if value is not None:
        with contextlib.suppress(Exception):  # a value the field rejects is compared as it stands
            value = field.to_python(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "s:" + str.__str__(value)  # an enum member's own value, not its name
    if isinstance(value, int):
        return f"i:{int(value)}"
    if isinstance(value, Decimal):
        places = getattr(field, "decimal_places", None)
        return f"d:{value.quantize(Decimal(1).scaleb(-places)) if places is not None else value.normalize()}"
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, dict | list):
        return "j:" + json.dumps(value, sort_keys=True, default=str)
    return f"{type(value).__name__}:{value}"


def password_part(password_hash: str | None) -> str:
    return _digest(password_hash or "")


def mark_of(user: Any) -> str:
    """The mark of ``user`` as it is now: ``<password>.<privileges>.<which privilege fields>``.

    The last part names the field list, so adding a field to
    ``EXTRA_PRIVILEGE_FIELDS`` re-binds existing sign-ins instead of reading
    as a privilege change for every user.
    """
    names = privilege_fields()
    privileges = "\x1f".join(f"{name}={canonical(user, name)}" for name in names)
    return f"{password_part(getattr(user, PASSWORD_FIELD, None))}.{_digest(privileges)}.{_digest(repr(names))}"


@dataclass(frozen=True)
class Change:
    """How a user differs from the mark a sign-in holds."""

    password: bool
    privileges: bool
    #: Nothing to judge privileges by: the sign-in holds no mark (started before marks existed), or one made
    #: under another ``EXTRA_PRIVILEGE_FIELDS``. Its password part, if any, still counts.
    rebind: bool = False


def compare(mark: str, user: Any) -> Change | None:
    """``None`` when ``user`` still matches ``mark``; otherwise what changed."""
    current = mark_of(user)
    if current == mark:
        return None
    if not mark:
        return Change(password=False, privileges=False, rebind=True)
    held_password, held_privileges, held_fields = [*mark.split("."), "", ""][:3]
    password, privileges, fields = current.split(".")
    if held_fields != fields:
        return Change(password=held_password != password, privileges=False, rebind=True)
    return Change(password=held_password != password, privileges=held_privileges != privileges)


def with_password(mark: str, password_hash: str | None) -> str:
    """``mark`` with its password part replaced: a hash upgrade on login is not a new password."""
    return ".".join([password_part(password_hash), *mark.split(".")[1:]])
