"""A sign-in is bound to the password and privileges its user had when it started (ASVS 5.0 V7.4.3;
privileges: OWASP Session Management Cheat Sheet, "Renew the Session ID After Any Privilege Level Change").

Whatever changes them — a save, ``QuerySet.update()``, raw SQL, a password
change that lands while a login is between ``authenticate()`` and the start of
its sign-in — the sign-in is refused on its next request and on refresh, in
both kinds, and ends with the reason that says why.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import auth
from django.contrib.auth.hashers import make_password
from django.db import connection, models
from django.test import Client
from django.utils import timezone

from dualauth.models import AuthSession
from dualauth.user_marks import canonical

from .conftest import SignInClient, session_exists

pytestmark = pytest.mark.django_db

FLAVOURS = ["session", "header", "cookie"]


def _refused(client: SignInClient) -> bool:
    refused = client.get("/api/auth/me/").status_code == 401
    if client.kind == "jwt":
        refused = refused and client.do_refresh().status_code == 401
    return refused


def _everywhere(use_mode: Any, **extra: Any) -> list[SignInClient]:
    use_mode("hybrid", **extra)
    clients = [SignInClient(flavour) for flavour in FLAVOURS]
    for client in clients:
        assert client.login("alice").status_code == 200
    return clients


def _reasons(user: Any) -> set[str]:
    return set(AuthSession.objects.filter(user=user).values_list("revoked_reason", flat=True))


# A login racing a password change -------------------------------------------------------------------


def _set_password_by_save(user: Any) -> None:
    other = type(user).objects.get(pk=user.pk)  # another request's copy of the user
    other.set_password("changed-meanwhile")
    other.save()


def _set_password_by_update(user: Any) -> None:
    type(user).objects.filter(pk=user.pk).update(password=make_password("changed-meanwhile"))


@pytest.mark.requirement("ASVS-V7.4.3")
@pytest.mark.parametrize("change", [_set_password_by_save, _set_password_by_update], ids=["save", "update"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_login_that_authenticated_before_a_password_change_is_refused(
    alice: Any, use_mode: Any, monkeypatch: Any, flavour: str, change: Any
) -> None:
    """The login checked the old password; the change (and its revocation of alice's sign-ins) lands
    before the login starts its sign-in. That sign-in must not outlive the change."""
    use_mode("hybrid")
    authenticate = auth.authenticate

    def authenticate_then_change(*args: Any, **kwargs: Any) -> Any:
        user = authenticate(*args, **kwargs)
        if user is not None:
            change(user)  # between authenticate() and the sign-in's creation, deterministically
        return user

    monkeypatch.setattr(auth, "authenticate", authenticate_then_change)
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    monkeypatch.setattr(auth, "authenticate", authenticate)
    assert _refused(client)
    assert AuthSession.objects.get(pk=client.session_id).revoked_at is not None
    fresh = SignInClient(flavour)
    assert fresh.login("alice", "changed-meanwhile").status_code == 200
    assert fresh.get("/api/auth/me/").status_code == 200


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_login_that_authenticated_before_a_promotion_is_refused(
    alice: Any, use_mode: Any, monkeypatch: Any, flavour: str
) -> None:
    """The sign-in starts with what the login read: a promotion landing meanwhile ends it on its next request."""
    use_mode("hybrid")
    authenticate = auth.authenticate

    def authenticate_then_promote(*args: Any, **kwargs: Any) -> Any:
        user = authenticate(*args, **kwargs)
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        return user

    monkeypatch.setattr(auth, "authenticate", authenticate_then_promote)
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    assert _refused(client)
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "privilege_change"


# Changes no signal sees -----------------------------------------------------------------------------


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_promotion_by_queryset_update_ends_every_kind_before_it_grants_anything(
    alice: Any, use_mode: Any, flavour: str
) -> None:
    """A credential copied before ``update(is_staff=True, is_superuser=True)`` never reaches a staff-only view."""
    use_mode("hybrid")
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    assert client.get("/staff-only/").status_code == 403
    thief = client.copy()
    type(alice).objects.filter(pk=alice.pk).update(is_staff=True, is_superuser=True)
    assert b"Not signed in" in thief.get("/").content  # a copy presented first gains nothing either
    assert client.get("/staff-only/").status_code == 401
    assert _refused(client)
    assert _reasons(alice) == {"privilege_change"}


@pytest.mark.requirement("ASVS-V7.4.3")
def test_a_password_changed_by_queryset_update_ends_token_sign_ins(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    type(alice).objects.filter(pk=alice.pk).update(password=make_password("set-behind-the-model"))
    assert all(_refused(c) for c in clients)
    assert _reasons(alice) <= {"password_change", "invalidated"}


@pytest.mark.requirement("ASVS-V7.4.3")
def test_a_password_changed_by_raw_sql_ends_token_sign_ins(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    table = type(alice)._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET password = %s WHERE id = %s", [make_password("raw"), alice.pk])
    assert all(_refused(c) for c in clients)


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_a_demotion_by_queryset_update_ends_sign_ins_too(make_user: Any, use_mode: Any) -> None:
    admin = make_user("alice", is_staff=True, is_superuser=True)
    clients = _everywhere(use_mode)
    type(admin).objects.filter(pk=admin.pk).update(is_superuser=False)
    assert all(_refused(c) for c in clients)


def test_a_change_to_another_field_ends_nothing(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    type(alice).objects.filter(pk=alice.pk).update(first_name="Alice", last_login=None)
    assert [c.get("/api/auth/me/").status_code for c in clients] == [200, 200, 200]
    assert all(c.do_refresh().status_code == 200 for c in clients if c.kind == "jwt")


def test_saving_a_user_without_changes_ends_nothing(alice: Any, use_mode: Any) -> None:
    use_mode("session")
    browser = SignInClient("session")
    browser.login("alice")
    alice.first_name = "Alice"
    alice.save()
    type(alice).objects.get(pk=alice.pk).save()
    assert browser.get("/api/auth/me/").status_code == 200


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_a_privilege_change_makes_a_copied_session_id_worthless(alice: Any, use_mode: Any) -> None:
    """OWASP Session Management Cheat Sheet, "Renew the Session ID After Any Privilege Level Change".

    The id is dead when the change is saved, not when the cookie is next seen:
    a thief who presents a copied id first must not inherit the new rights.
    """
    use_mode("session")
    browser = SignInClient("session")
    browser.login("alice")
    thief = Client()
    thief.cookies["sessionid"] = browser.client.cookies["sessionid"].value
    alice.is_staff = True
    alice.save()
    assert b"Not signed in" in thief.get("/").content
    assert browser.get("/api/auth/me/").status_code == 401  # the user signs in again, with a new id
    assert AuthSession.objects.get(pk=browser.session_id).revoked_reason == "privilege_change"


# Fields a project adds ------------------------------------------------------------------------------


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
@pytest.mark.parametrize("how", ["save", "update"])
def test_a_field_named_in_extra_privilege_fields_is_watched_like_is_staff(alice: Any, use_mode: Any, how: str) -> None:
    """``EXTRA_PRIVILEGE_FIELDS``: a project's own role field ends sign-ins when it changes, by any path."""
    clients = _everywhere(use_mode, EXTRA_PRIVILEGE_FIELDS=["last_name"])
    if how == "save":
        alice.last_name = "Administrator"
        alice.save()
    else:
        type(alice).objects.filter(pk=alice.pk).update(last_name="Administrator")
    assert all(_refused(c) for c in clients)
    assert _reasons(alice) == {"privilege_change"}


def test_without_extra_privilege_fields_that_field_is_not_watched(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    type(alice).objects.filter(pk=alice.pk).update(last_name="Administrator")
    assert [c.get("/api/auth/me/").status_code for c in clients] == [200, 200, 200]


# What survives ---------------------------------------------------------------------------------------


@pytest.mark.requirement("ASVS-V7.4.3")
def test_with_revoke_on_password_change_off_an_update_of_the_password_keeps_token_sign_ins(
    alice: Any, use_mode: Any
) -> None:
    """The project chose to keep sign-ins across a password change; only Django's session hash ends sessions."""
    clients = _everywhere(use_mode, REVOKE_ON_PASSWORD_CHANGE=False)
    type(alice).objects.filter(pk=alice.pk).update(password=make_password("kept"))
    assert [c.get("/api/auth/me/").status_code for c in clients] == [401, 200, 200]
    assert all(c.do_refresh().status_code == 200 for c in clients if c.kind == "jwt")
    # ...but a privilege change still ends them
    type(alice).objects.filter(pk=alice.pk).update(is_staff=True)
    assert all(_refused(c) for c in clients if c.kind == "jwt")


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_sign_in_that_promoted_its_own_user_keeps_working(alice: Any, use_mode: Any, flavour: str) -> None:
    """The user's own change through the model (a sudo flow) keeps that sign-in, now with the new rights; a
    session gets a new id (OWASP: renew the id on the privilege change), so a copy of the old one is worthless."""
    use_mode("hybrid")
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    other = SignInClient(flavour)
    assert other.login("alice").status_code == 200
    thief = client.copy()
    assert client.post("/become-staff/").status_code == 204
    assert client.get("/staff-only/").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    if client.kind == "session":
        before, after = thief.client.cookies["sessionid"].value, client.client.cookies["sessionid"].value
        assert after != before
        assert not session_exists(before)
        assert AuthSession.objects.get(pk=client.session_id).session_key == after
        assert b"Not signed in" in thief.get("/").content
    if client.kind == "jwt":
        assert client.do_refresh().status_code == 200
        assert client.get("/staff-only/").status_code == 200
    assert _refused(other)


def test_rows_from_before_marks_are_adopted_not_ended(alice: Any, use_mode: Any) -> None:
    """Sign-ins started by a dualauth without marks keep working; they are marked on their next request."""
    clients = _everywhere(use_mode)
    AuthSession.objects.update(user_mark="")
    from dualauth.stores import get_store

    for sid in AuthSession.objects.values_list("pk", flat=True):
        get_store().changed(sid)
    assert [c.get("/api/auth/me/").status_code for c in clients] == [200, 200, 200]
    assert not AuthSession.objects.filter(user_mark="").exists()
    type(alice).objects.filter(pk=alice.pk).update(is_staff=True)
    assert all(_refused(c) for c in clients)


@pytest.mark.requirement("ASVS-V7.4.3")
def test_a_hash_assigned_and_saved_alone_is_a_new_password_not_an_upgrade(alice: Any, use_mode: Any) -> None:
    """Saving only ``password`` looks like Django's upgrade on login; a hash by the same, current hasher is not one."""
    clients = _everywhere(use_mode)
    alice.password = make_password("assigned")
    alice.save(update_fields=["password"])
    assert all(_refused(c) for c in clients)
    assert _reasons(alice) == {"password_change"}


@pytest.mark.requirement("ASVS-V7.4.3")
def test_a_hash_upgrade_on_login_carries_only_the_sign_ins_of_that_password(
    alice: Any, use_mode: Any, settings: Any
) -> None:
    """The upgrade re-binds sign-ins of the hash it replaced; one bound to an older password stays refused."""
    use_mode("hybrid")
    stale = SignInClient("header")
    assert stale.login("alice").status_code == 200
    type(alice).objects.filter(pk=alice.pk).update(password=make_password("second"))
    current = SignInClient("header")
    assert current.login("alice", "second").status_code == 200
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    assert SignInClient("header").login("alice", "second").status_code == 200  # upgrades the MD5 hash
    assert type(alice).objects.get(pk=alice.pk).password.startswith("pbkdf2_")
    assert current.get("/api/auth/me/").status_code == 200
    assert _refused(stale)


# Marks compare what the database holds ---------------------------------------------------------------


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"


class _Row:
    """An object with model fields, holding values as code (not the database) left them."""

    def __init__(self, **values: Any) -> None:
        fields = {
            "amount": models.DecimalField(max_digits=8, decimal_places=2),
            "level": models.IntegerField(),
            "role": models.CharField(max_length=10),
            "settings": models.JSONField(),
            "blob": models.BinaryField(),
            "day": models.DateField(),
            "ratio": models.FloatField(),
        }
        for name, field in fields.items():
            field.set_attributes_from_name(name)
        self._meta = type("Meta", (), {"get_field": staticmethod(fields.__getitem__)})()
        self.__dict__.update(values)


@pytest.mark.parametrize(
    ("name", "in_code", "from_database"),
    [
        ("amount", Decimal("1.5"), Decimal("1.50")),
        ("level", "5", 5),
        ("role", Role.ADMIN, "admin"),
        ("settings", {"b": 1, "a": [1, 2]}, {"a": [1, 2], "b": 1}),
        ("blob", b"\x00\x01", memoryview(b"\x00\x01")),
        ("day", "2026-12-02", date(2026, 12, 2)),
        ("ratio", "1.5", 1.5),
    ],
)
def test_a_value_as_code_left_it_marks_like_the_one_the_database_returns(
    name: str, in_code: Any, from_database: Any
) -> None:
    assert canonical(_Row(**{name: in_code}), name) == canonical(_Row(**{name: from_database}), name)


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
@pytest.mark.parametrize(
    ("name", "one", "other"),
    [("amount", Decimal("1.5"), Decimal("1.51")), ("role", "", None), ("day", date(2026, 12, 2), date(2026, 12, 3))],
)
def test_different_values_mark_differently(name: str, one: Any, other: Any) -> None:
    assert canonical(_Row(**{name: one}), name) != canonical(_Row(**{name: other}), name)


def test_a_user_created_then_signed_in_with_an_enum_value_keeps_working(make_user: Any, use_mode: Any) -> None:
    """The common sign-up flow: create the user in code, then start its sign-in from that same object."""
    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["last_name"])
    user = make_user("carol", last_name=Role.MEMBER)
    from django.test import RequestFactory

    from dualauth import services

    request = RequestFactory().post("/")
    signin = services.sign_in(request, user, "jwt")
    client = SignInClient("header")
    client.access = signin.tokens.access  # type: ignore[union-attr]
    assert client.get("/api/auth/me/").status_code == 200


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_adding_a_privilege_field_re_binds_sign_ins_instead_of_ending_them(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["last_name"])
    assert [c.get("/api/auth/me/").status_code for c in clients] == [200, 200, 200]
    type(alice).objects.filter(pk=alice.pk).update(last_name="Administrator")  # now it is watched
    assert all(_refused(c) for c in clients)


@pytest.mark.requirement("ASVS-V7.4.3")
def test_a_password_change_is_still_caught_across_a_change_of_the_field_list(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["last_name"])
    type(alice).objects.filter(pk=alice.pk).update(password=make_password("changed"))
    assert all(_refused(c) for c in clients)


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_nullable_privilege_field_set_for_the_first_time_by_save_ends_the_others_at_once(
    alice: Any, use_mode: Any, flavour: str
) -> None:
    """NULL (or empty) before is a value, not an unknown: setting it is a privilege change seen at the save."""
    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["last_login"])
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    type(alice).objects.filter(pk=alice.pk).update(last_login=None)
    client.get("/api/auth/me/")  # the mark now holds last_login = NULL
    user = type(alice).objects.get(pk=alice.pk)
    user.last_login = timezone.now()
    user.save()
    assert AuthSession.objects.get(pk=client.session_id).revoked_reason == "privilege_change"  # at once


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_a_promotion_saved_from_a_partly_loaded_user_is_seen_at_the_save(alice: Any, use_mode: Any) -> None:
    """``only()`` leaves ``is_staff`` unknown before the save: the sign-ins' marks tell whether it changed."""
    clients = _everywhere(use_mode)
    partial = type(alice).objects.only("username").get(pk=alice.pk)
    partial.is_staff = True
    partial.save()
    assert set(AuthSession.objects.values_list("revoked_reason", flat=True)) == {"privilege_change"}
    assert all(c.get("/staff-only/").status_code == 401 for c in clients)


@pytest.mark.parametrize("flavour", ["header", "cookie"])
def test_a_request_of_the_changing_sign_in_while_the_others_end_is_still_its_own(
    alice: Any, use_mode: Any, monkeypatch: Any, flavour: str
) -> None:
    """Another tab of the sign-in that promoted its user lands while the other sign-ins are being ended: it
    must find its sign-in already bound to the new row, not end it."""
    from dualauth import services

    use_mode("hybrid")
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    SignInClient(flavour).login("alice")  # another sign-in, to be ended
    tab = client.copy()
    seen: list[int] = []
    revoke_user = services.revoke_user

    def revoke_user_while_a_tab_calls(*args: Any, **kwargs: Any) -> int:
        seen.append(tab.get("/staff-only/").status_code)
        return revoke_user(*args, **kwargs)

    monkeypatch.setattr(services.binding, "revoke_user", revoke_user_while_a_tab_calls)
    assert client.post("/become-staff/").status_code == 204
    assert seen == [200]
    assert client.get("/staff-only/").status_code == 200


def test_the_previous_release_can_still_insert_sign_ins_during_a_rolling_deploy(alice: Any, use_mode: Any) -> None:
    """Instances of the previous release write rows without ``user_mark`` once the migration has run: the column
    has a database default, and such a sign-in is bound to its user on its first request here."""
    use_mode("hybrid")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    row = AuthSession.objects.get(pk=client.session_id)
    fields = [f for f in AuthSession._meta.concrete_fields if f.name != "user_mark"]
    values = [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields]
    AuthSession.objects.filter(pk=row.pk).delete()
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {AuthSession._meta.db_table} ({columns}) VALUES ({marks})", values)
    assert AuthSession.objects.get(pk=row.pk).user_mark == ""
    assert client.get("/api/auth/me/").status_code == 200
    assert AuthSession.objects.get(pk=row.pk).user_mark != ""


# Second review: what a stale or partial instance, or a change of settings, must not hide or invent ----------


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_a_promotion_after_the_field_list_changed_is_still_caught(alice: Any, use_mode: Any) -> None:
    """A new EXTRA_PRIVILEGE_FIELDS re-binds only the field it adds: Django's flags are compared throughout."""
    clients = _everywhere(use_mode)
    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["last_name"])
    type(alice).objects.filter(pk=alice.pk).update(is_staff=True)
    assert all(_refused(c) for c in clients)
    assert _reasons(alice) == {"privilege_change"}


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_a_field_in_both_lists_is_still_compared_when_another_is_added(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode, EXTRA_PRIVILEGE_FIELDS=["last_name"])
    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["last_name", "email"])
    type(alice).objects.filter(pk=alice.pk).update(last_name="Administrator")
    assert all(_refused(c) for c in clients)


def test_an_instance_refreshed_from_the_database_ends_nothing_that_did_not_change(alice: Any, use_mode: Any) -> None:
    """``refresh_from_db()`` loads new values without ``post_init``: saving it must not read as a promotion."""
    use_mode("hybrid")
    stale = type(alice).objects.get(pk=alice.pk)
    promoted = type(alice).objects.get(pk=alice.pk)
    promoted.is_staff = True
    promoted.save()
    client = SignInClient("header")
    assert client.login("alice").status_code == 200  # a sign-in of the promoted user
    stale.refresh_from_db()
    stale.first_name = "Alice"
    stale.save()
    assert client.get("/api/auth/me/").status_code == 200


@pytest.mark.requirement("DA-PRIVILEGE-CHANGE")
def test_a_field_assigned_then_saved_in_a_later_save_is_caught_at_that_save(alice: Any, use_mode: Any) -> None:
    clients = _everywhere(use_mode)
    alice.is_staff = True
    alice.save(update_fields=["first_name"])  # not written: nothing changed in the row
    assert [c.get("/api/auth/me/").status_code for c in clients] == [200, 200, 200]
    alice.save(update_fields=["is_staff"])
    assert set(AuthSession.objects.values_list("revoked_reason", flat=True)) == {"privilege_change"}  # at once


def test_an_aware_datetime_in_another_zone_marks_like_the_row_in_utc(make_user: Any, use_mode: Any) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.test import RequestFactory

    from dualauth import services

    use_mode("hybrid", EXTRA_PRIVILEGE_FIELDS=["date_joined"])
    user = make_user("dora", date_joined=datetime(2026, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("Europe/Paris")))
    signin = services.sign_in(RequestFactory().post("/"), user, "jwt")
    client = SignInClient("header")
    client.access = signin.tokens.access  # type: ignore[union-attr]
    assert client.get("/api/auth/me/").status_code == 200
