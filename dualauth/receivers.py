"""Signal receivers: adapters from Django's auth signals to the service layer."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import class_prepared, post_delete, post_init, post_save
from django.dispatch import receiver

from . import current_request, services, throttling, user_marks
from .credentials import cookie_session_key, session_keys_of, sid_of
from .models import AuthSession
from .tokens import parse_sid


@receiver(user_logged_in, dispatch_uid="dualauth.receivers.start_session")
def start_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every Django ``login()`` (admin, allauth, SSO) starts a tracked session sign-in."""
    if kwargs.get("dualauth_kind") == "jwt" or request is None or not hasattr(request, "session"):
        return
    services.record_session_login(request, user, session_keys_of(request))


@receiver(post_delete, sender=AuthSession, dispatch_uid="dualauth.receivers.forget_deleted")
def forget_deleted(sender: Any, instance: AuthSession, **kwargs: Any) -> None:
    """A deleted sign-in (with its user, or by cleanup) leaves no cached state behind."""
    services.sign_in_deleted(instance.pk)


def _note_loaded_fields(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Note the fields a save is compared against. Nothing is queried: a deferred field stays unknown."""
    instance._dualauth_loaded = user_marks.snapshot(instance)


def _react_to_user_save(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A new password, a deactivation or a privilege change, saved by any path, ends sign-ins.

    A password counts as set when ``set_password()`` left the raw value in
    ``_password`` (Django clears it after any save), or when the stored hash
    changed, unless that is Django's hash upgrade on login: only ``password``
    saved, ``_password`` already cleared, an outdated hash replaced by one of
    the preferred hasher. An upgrade carries the sign-ins bound to the old
    hash over to the new one. An unknown (deferred) ``is_active`` counts as
    active: revoking twice is harmless, missing once is not. What this
    instance saw only suggests a new password or new privileges; the marks of
    the user's sign-ins decide, so a stale instance ends nothing.
    """
    unknown = user_marks.UNKNOWN
    before = getattr(instance, "_dualauth_loaded", {})
    now = user_marks.snapshot(instance)

    def saved(field: str) -> bool:
        written = update_fields is None or bool({field, user_marks.attname(instance, field)} & set(update_fields))
        return written and now.get(field, unknown) is not unknown

    # What the row holds now: the fields this save wrote, and for the others what was known before it
    # (a field assigned but left out of update_fields is not in the row).
    after = {**before, **{field: value for field, value in now.items() if saved(field)}}
    instance._dualauth_loaded = after
    if created:
        return

    old_hash, new_hash = before.get("password", unknown), after.get("password", unknown)
    raw_password_set = getattr(instance, "_password", None) is not None
    hash_changed = old_hash is not unknown and new_hash != old_hash
    rehash = (
        update_fields is not None
        and set(update_fields) == {"password"}
        and not raw_password_set
        and _upgrades_hash(old_hash, new_hash)
    )
    # None: suspected from what the instance loaded, and the sign-ins' marks decide (an instance refreshed
    # with refresh_from_db() still holds here the values it was created with).
    password_set: bool | None = False
    if saved("password"):
        if raw_password_set:
            password_set = True
        elif old_hash is unknown or (hash_changed and not rehash):
            password_set = None
    deactivated = saved("is_active") and before.get("is_active") != "false" and after["is_active"] == "false"
    changed: list[bool | None] = [
        None if before.get(field, unknown) is unknown else after[field] != before[field]
        for field in user_marks.privilege_fields()
        # is_active's change is a deactivation, or a reactivation that revives nothing
        if field != "is_active" and saved(field)
    ]
    privileges_changed = None if True in changed or None in changed else False
    if rehash and hash_changed:
        services.password_rehashed(instance, old_hash)
    if password_set is not False or deactivated or privileges_changed is not False:
        request = current_request.get()
        services.user_changed(
            instance,
            password_set=password_set,
            deactivated=deactivated,
            privileges_changed=privileges_changed,
            keep=sid_of(request, instance),
            request=request,
        )


def _upgrades_hash(old: Any, new: Any) -> bool:
    """Whether ``old`` -> ``new`` is what Django's login does to an outdated hash: the new one by the
    preferred hasher, the old one due for an update. Any other replacement is a new password."""
    try:
        old_hasher = identify_hasher(old)
        new_hasher = identify_hasher(new)
    except (ValueError, TypeError):  # no password before ("", None), or none now
        return False
    preferred = get_hasher("default")
    outdated = old_hasher.algorithm != preferred.algorithm or preferred.must_update(old)
    return outdated and new_hasher.algorithm == preferred.algorithm and not preferred.must_update(new)


def _watch(model: Any) -> None:
    label = model._meta.label_lower
    post_init.connect(_note_loaded_fields, sender=model, dispatch_uid=f"dualauth.receivers.remember.{label}")
    post_save.connect(_react_to_user_save, sender=model, dispatch_uid=f"dualauth.receivers.react.{label}")


def _watch_if_user_model(sender: Any, **kwargs: Any) -> None:
    if issubclass(sender, get_user_model()):
        _watch(sender)


def connect_user_model() -> None:
    """Watch ``AUTH_USER_MODEL`` and its proxies and subclasses, including ones defined later.

    Connected per model rather than for every model, so saving anything else costs nothing.
    Called from ``AppConfig.ready()``.
    """
    user_model = get_user_model()
    for model in apps.get_models():
        if issubclass(model, user_model):
            _watch(model)
    class_prepared.connect(_watch_if_user_model, dispatch_uid="dualauth.receivers.watch_new_user_models")


@receiver(user_login_failed, dispatch_uid="dualauth.receivers.count_failure")
def count_failure(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    """Every failed password check, at any door, counts against the account (the login limiter)."""
    if "password" in credentials:
        throttling.failed(credentials)


@receiver(user_logged_in, dispatch_uid="dualauth.receivers.settle_attempt")
def settle_attempt(sender: Any, **kwargs: Any) -> None:
    """A sign-in: the attempt's place among the account's checks in flight is given back."""
    throttling.succeeded()


@receiver(user_logged_out, dispatch_uid="dualauth.receivers.end_session")
def end_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Django's ``logout()`` ends the session's sign-in, found by its key when the session data cannot be
    read (its store is down); the session itself is flushed by Django. ``NotRecorded`` when the database
    cannot record it: ``DualAuthMiddleware`` answers 503 and keeps the cookie."""
    if request is None or not hasattr(request, "session"):
        return
    key = cookie_session_key(request)
    sid = parse_sid(request.session.get(services.SESSION_SID_KEY))
    services.log_out([sid] if sid else services.sign_ins_of_session(key) if key else [], key)
