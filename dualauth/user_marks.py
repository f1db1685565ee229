"""The mark a sign-in keeps of its user: a digest of the password hash and of the privilege fields.

A sign-in is bound to the credentials and privileges its user had when it
started. Every request reads the user row anyway (that is what refuses a
deactivated user at once); comparing that row's mark with the sign-in's
catches any change to them, whatever made it — a save, ``QuerySet.update()``,
raw SQL, or a password change that lands while a login sits between
``authenticate()`` and the start of its sign-in.

A mark is digests joined by dots: the password hash, Django's flags, then one
per field of ``EXTRA_PRIVILEGE_FIELDS``, so the service layer can tell a new
password (``REVOKE_ON_PASSWORD_CHANGE`` may keep sign-ins across it) from new
privileges (which always end them). The digests are not secret: they only
need to change when what they digest changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .conf import dualauth_settings

#: Watched whatever the settings say; ``EXTRA_PRIVILEGE_FIELDS`` adds a project's own.
PRIVILEGE_FIELDS = ("is_active", "is_staff", "is_superuser")
PASSWORD_FIELD = "password"


def privilege_fields() -> tuple[str, ...]:
    """The user fields whose change is a privilege change: Django's three flags, then the project's."""
    return (*PRIVILEGE_FIELDS, *dualauth_settings.EXTRA_PRIVILEGE_FIELDS)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8, person=b"dualauth.mark").hexdigest()


def attname(user: Any, name: str) -> str:
    """Where a field's value sits on the instance: a foreign key by its id, so no related row is loaded.

    Every watched name is a concrete field (``dualauth.E018`` refuses anything else).
    """
    return str(user._meta.get_field(name).attname)


#: What ``snapshot()`` holds for a field the instance never loaded (``only()``, ``defer()``).
UNKNOWN = "\x00unknown"


def canonical(user: Any, name: str) -> str:
    """A field's value as the database would give it back, written one way only.

    A sign-in can start from a user object that was never read back (created,
    then logged in): its values may be an enum member, a string where the
    column holds a number, a ``Decimal`` of another scale, a dict in another
    key order, an aware datetime in another zone. Each must give the mark the
    row will give.
    """
    field: Any = user._meta.get_field(name)
    return _canonical(field, getattr(user, field.attname, None))


def snapshot(user: Any) -> dict[str, str]:
    """The watched fields as loaded, without querying: a deferred one is ``UNKNOWN``. The password stays raw."""
    values = user.__dict__
    taken = {PASSWORD_FIELD: values.get(attname(user, PASSWORD_FIELD), UNKNOWN)}
    for name in privilege_fields():
        field: Any = user._meta.get_field(name)
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
    if isinstance(value, datetime) and value.tzinfo is not None:
        return f"t:{value.astimezone(UTC).isoformat()}"
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, dict | list):
        return "j:" + json.dumps(value, sort_keys=True, default=str)
    return f"{type(value).__name__}:{value}"


def password_part(password_hash: str | None) -> str:
    return _digest(password_hash or "")


#: Fields ``EXTRA_PRIVILEGE_FIELDS`` may name at most: each takes 17 characters of the 255 a mark has.
MAX_EXTRA_FIELDS = 12


def mark_of(user: Any) -> str:
    """The mark of ``user`` as it is now: ``<password>.<Django's flags>`` and ``.<name><value>`` per extra field.

    Each extra field has its own part, named by a digest of its name, so a
    change to ``EXTRA_PRIVILEGE_FIELDS`` re-binds the fields it adds while
    every field both lists name, and Django's flags, are still compared.
    """
    flags = "\x1f".join(f"{name}={canonical(user, name)}" for name in PRIVILEGE_FIELDS)
    parts = [password_part(getattr(user, PASSWORD_FIELD, None)), _digest(flags)]
    parts.extend(_digest(name)[:4] + _digest(canonical(user, name))[:12] for name in _extra_fields())
    return ".".join(parts)


def _extra_fields() -> tuple[str, ...]:
    return tuple(dualauth_settings.EXTRA_PRIVILEGE_FIELDS)


@dataclass(frozen=True)
class Change:
    """How a user differs from the mark a sign-in holds."""

    password: bool
    privileges: bool
    #: Something could not be compared: the sign-in holds no mark (started before marks existed), or
    #: ``EXTRA_PRIVILEGE_FIELDS`` names a field its mark does not. What could be compared still counts.
    rebind: bool = False


def _split(mark: str) -> tuple[str, str, dict[str, str]]:
    parts = mark.split(".")
    flags = parts[1] if len(parts) > 1 else ""
    return parts[0], flags, {part[:4]: part[4:] for part in parts[2:] if len(part) == 16}


def compare(mark: str, user: Any) -> Change | None:
    """``None`` when ``user`` still matches ``mark``; otherwise what changed."""
    current = mark_of(user)
    if current == mark:
        return None
    if not mark:
        return Change(password=False, privileges=False, rebind=True)
    held_password, held_flags, held_extras = _split(mark)
    password, flags, extras = _split(current)
    shared = held_extras.keys() & extras.keys()
    return Change(
        password=held_password != password,
        privileges=held_flags != flags or any(held_extras[name] != extras[name] for name in shared),
        rebind=not extras.keys() <= held_extras.keys(),
    )


def with_password(mark: str, password_hash: str | None) -> str:
    """``mark`` with its password part replaced: a hash upgrade on login is not a new password."""
    return ".".join([password_part(password_hash), *mark.split(".")[1:]])
