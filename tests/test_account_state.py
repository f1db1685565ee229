"""Account state (ASVS 5.0 V7.4.2, V7.4.3; CVE-2024-22513): inactive, deleted, new password — at once, both kinds."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dualauth import user_marks
from dualauth.models import AuthSession, Reason
from dualauth.stores import get_store

from .conftest import SignInClient

pytestmark = pytest.mark.django_db

PASSWORD = "/api/account/password/"


class ProxyUser(User):
    class Meta:
        proxy = True
        app_label = "auth"


def _everywhere(use_mode: Any) -> list[SignInClient]:
    """alice signed in three ways at once (hybrid mode)."""
    use_mode("hybrid")
    clients = [SignInClient(flavour) for flavour in ("session", "header", "cookie")]
    for client in clients:
        assert client.login("alice").status_code == 200
    return clients


def _refused(client: SignInClient) -> bool:
    refused = client.get("/api/auth/me/").status_code == 401
    if client.kind == "jwt":
        refused = refused and client.do_refresh().status_code == 401
    return refused


@pytest.mark.requirement("ASVS-V7.4.2", "CVE-2024-22513")
def test_a_deactivated_user_is_refused_at_once_everywhere(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.2; simplejwt CVE-2024-22513: an inactive user's tokens and sessions stop working, refresh too."""
    clients = _everywhere(use_mode)
    alice.is_active = False
    alice.save()
    assert all(_refused(c) for c in clients)
    assert set(AuthSession.objects.values_list("revoked_reason", flat=True)) == {"deactivated"}


@pytest.mark.requirement("ASVS-V7.4.2")
def test_deactivation_by_queryset_update_is_refused_too(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.2: no signal fires for QuerySet.update(), yet every credential re-reads is_active."""
    clients = _everywhere(use_mode)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    assert all(_refused(c) for c in clients)


@pytest.mark.requirement("ASVS-V7.4.2")
def test_a_deleted_user_is_refused_at_once_everywhere(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.2: deleting the account ends every sign-in."""
    clients = _everywhere(use_mode)
    alice.delete()
    assert all(_refused(c) for c in clients)
    assert not AuthSession.objects.exists()


@pytest.mark.requirement("ASVS-V7.4.3")
def test_a_password_set_in_code_ends_every_sign_in(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.3: set_password() + save() anywhere (a shell, a task) ends the user's sign-ins."""
    clients = _everywhere(use_mode)
    alice.set_password("a-brand-new-password")
    alice.save()
    assert all(_refused(c) for c in clients)
    assert set(AuthSession.objects.values_list("revoked_reason", flat=True)) == {"password_change"}


@pytest.mark.requirement("ASVS-V7.4.3")
@pytest.mark.parametrize("changer", [0, 1, 2], ids=["session", "header", "cookie"])
def test_a_password_changed_by_the_user_keeps_only_that_sign_in(alice: Any, use_mode: Any, changer: int) -> None:
    """ASVS 5.0 V7.4.3: the user's own change (the API) ends the others; the one that made it survives."""
    clients = _everywhere(use_mode)
    response = clients[changer].post(PASSWORD, {"old_password": "alice", "new_password": "a-brand-new-password"})
    assert response.status_code == 204
    for index, client in enumerate(clients):
        if index == changer:
            assert client.get("/api/auth/me/").status_code == 200
        else:
            assert _refused(client)


def _assign_hash(user: Any) -> None:
    user.password = make_password("assigned-directly")
    user.save()


def _unusable(user: Any) -> None:
    user.set_unusable_password()
    user.save()


def _through_a_proxy(user: Any) -> None:
    proxied = ProxyUser.objects.get(pk=user.pk)
    proxied.set_password("through-a-proxy-model")
    proxied.save()


def _loaded_with_only(user: Any) -> None:
    partial = type(user).objects.only("username").get(pk=user.pk)
    partial.set_password("loaded-partially")
    partial.save()


@pytest.mark.requirement("ASVS-V7.4.3")
@pytest.mark.parametrize("change", [_assign_hash, _unusable, _through_a_proxy, _loaded_with_only])
def test_a_password_set_by_any_model_path_ends_every_sign_in(alice: Any, use_mode: Any, change: Any) -> None:
    """ASVS 5.0 V7.4.3: the hash assigned directly, made unusable, or saved through a proxy model."""
    clients = _everywhere(use_mode)
    change(alice)
    assert all(_refused(c) for c in clients)


def test_set_password_not_saved_ends_nothing(alice: Any, use_mode: Any) -> None:
    """A save that does not write the password (update_fields without it) changed no password."""
    clients = _everywhere(use_mode)
    alice.set_password("never-written")
    alice.save(update_fields=["first_name"])
    assert [c.get("/api/auth/me/").status_code for c in clients] == [200, 200, 200]


@pytest.mark.requirement("ASVS-V7.4.2")
@pytest.mark.parametrize("how", ["only", "queryset_update"])
def test_a_deactivation_stays_revoked_after_reactivation(alice: Any, use_mode: Any, how: str) -> None:
    """ASVS 5.0 V7.4.2: deactivation terminates the sign-ins; reactivating the user does not revive them."""
    clients = _everywhere(use_mode)
    user_model = type(alice)
    if how == "only":
        partial = user_model.objects.only("username").get(pk=alice.pk)
        partial.is_active = False
        partial.save()
    else:
        user_model.objects.filter(pk=alice.pk).update(is_active=False)
        # Noticed on each credential's next request (no refresh needed) and ended for good.
        assert [c.get("/api/auth/me/").status_code for c in clients] == [401, 401, 401]
    user_model.objects.filter(pk=alice.pk).update(is_active=True)
    assert all(_refused(c) for c in clients)


# The admin's password form: "usable_password" on Django 5.2, "set_usable_password" from 6.0.
NEW_PASSWORD_FORM = {
    "password1": "Another-Strong-Pass-123",
    "password2": "Another-Strong-Pass-123",
    "usable_password": "true",
    "set_usable_password": "true",
}
DISABLE_PASSWORD_FORM = {"usable_password": "false", "set_usable_password": "false", "unset-password": "1"}


@pytest.mark.requirement("ASVS-V7.4.3", "ASVS-V7.4.5")
@pytest.mark.parametrize("form", [NEW_PASSWORD_FORM, DISABLE_PASSWORD_FORM], ids=["new-password", "disable-password"])
def test_a_password_changed_by_an_admin_ends_every_sign_in(
    alice: Any, make_user: Any, use_mode: Any, form: dict
) -> None:
    """ASVS 5.0 V7.4.3/V7.4.5: an administrator setting or disabling alice's password ends her sign-ins."""
    clients = _everywhere(use_mode)
    make_user("admin", is_staff=True, is_superuser=True)
    admin = Client()
    admin.post("/admin/login/", {"username": "admin", "password": "admin"})
    assert admin.post(f"/admin/auth/user/{alice.pk}/password/", form).status_code == 302
    assert all(_refused(c) for c in clients)
    assert admin.get("/admin/").status_code == 200  # the admin's own sign-in is untouched


def test_password_change_revocation_can_be_switched_off(alice: Any, use_mode: Any, settings: Any) -> None:
    """REVOKE_ON_PASSWORD_CHANGE = False keeps token sign-ins (Django still ends other sessions by hash)."""
    clients = _everywhere(use_mode)
    settings.DUALAUTH = {**settings.DUALAUTH, "REVOKE_ON_PASSWORD_CHANGE": False}
    alice.set_password("a-brand-new-password")
    alice.save()
    assert [c.get("/api/auth/me/").status_code for c in clients] == [401, 200, 200]


def test_a_login_that_upgrades_the_password_hash_is_not_a_password_change(
    alice: Any, use_mode: Any, settings: Any
) -> None:
    """Django re-hashes on login when the hasher changes; that must not log the user out elsewhere."""
    clients = _everywhere(use_mode)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    before = type(alice).objects.get(pk=alice.pk).password
    assert SignInClient("header").login("alice", kind="jwt").status_code == 200
    assert type(alice).objects.get(pk=alice.pk).password != before  # it was upgraded
    assert not AuthSession.objects.filter(revoked_at__isnull=False).exists()
    # Token sign-ins survive. The session one does not, by Django's own rule: its session
    # auth hash is derived from the stored password hash, which the upgrade changed.
    assert [c.get("/api/auth/me/").status_code for c in clients] == [401, 200, 200]


@pytest.mark.requirement("ASVS-V7.4.2", "ASVS-V7.4.3", "CVE-2024-22513")
@pytest.mark.parametrize(
    ("change", "reason"),
    [({"is_active": False}, "deactivated"), ({"password": make_password("set-by-update")}, "password_change")],
    ids=["deactivated", "password"],
)
def test_a_change_no_signal_saw_is_caught_by_a_refresh_first(
    alice: Any, use_mode: Any, change: dict[str, Any], reason: str
) -> None:
    """QuerySet.update() sends no signal; a refresh that comes before any other request refuses, and ends the
    sign-in for good with the reason, so a later reactivation or password restore does not bring it back."""
    use_mode("jwt")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    type(alice).objects.filter(pk=alice.pk).update(**change)
    response = client.do_refresh()
    assert (response.status_code, response.json()["code"]) == (401, "session_ended")
    assert AuthSession.objects.get().revoked_reason == reason


# A caching state store may hold a mark older than the row ----------------------------------------------------


def _stale_redis_sign_in(alice: Any, redis_store: Any, redis_url: str) -> SignInClient:
    """alice signed in with a bearer token on the Redis store, its state cached there by one request."""
    redis_store(redis_url, mode="jwt")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    assert client.get("/api/auth/me/").status_code == 200
    return client


def test_a_rebind_the_cache_missed_is_found_in_the_row_not_taken_for_a_password_change(
    alice: Any, redis_store: Any, redis_url: str
) -> None:
    """A rehash rebinds the row; if the store never heard (an outage), its cached mark is older than the row.
    The row is the truth: the sign-in goes on, and the store is told to drop its copy."""
    client = _stale_redis_sign_in(alice, redis_store, redis_url)
    sid = AuthSession.objects.get().pk
    alice.password = make_password("password", salt="rehashed", hasher="md5")
    type(alice).objects.filter(pk=alice.pk).update(password=alice.password)
    AuthSession.objects.filter(pk=sid).update(user_mark=user_marks.mark_of(alice))
    assert client.get("/api/auth/me/").status_code == 200
    assert AuthSession.objects.get().revoked_at is None
    state = get_store().get(sid)
    assert state is not None
    assert state.user_mark == user_marks.mark_of(alice), "the stale copy was dropped"


def test_a_changed_password_ends_a_sign_in_whose_row_ended_behind_a_stale_cache(
    alice: Any, redis_store: Any, redis_url: str
) -> None:
    """The store still holds the sign-in as live, the row has ended and the password changed: refused."""
    client = _stale_redis_sign_in(alice, redis_store, redis_url)
    AuthSession.objects.update(revoked_at=timezone.now(), revoked_reason=Reason.ADMIN)
    type(alice).objects.filter(pk=alice.pk).update(password=make_password("another-password"))
    assert client.get("/api/auth/me/").status_code == 401
    assert AuthSession.objects.get().revoked_reason == Reason.ADMIN


@pytest.mark.requirement("ASVS-V7.4.3")
@pytest.mark.parametrize("how", ["set_password", "hash-written"])
def test_a_user_without_a_password_who_gets_one_ends_their_sign_ins(make_user: Any, use_mode: Any, how: str) -> None:
    """A user provisioned by SSO has no password (''); one given later is a change, never taken for Django's
    rehash on login, even when written as a hash with update_fields=["password"] as that rehash is."""
    from django.test import RequestFactory

    from dualauth import services

    use_mode("jwt")
    created = make_user("carol")
    type(created).objects.filter(pk=created.pk).update(password="")
    carol = type(created).objects.get(pk=created.pk)
    started = services.sign_in(RequestFactory().post("/"), carol, "jwt").auth_session.pk
    if how == "set_password":
        carol.set_password("chosen-later")
        carol.save()
    else:
        carol.password = make_password("written-by-an-import-script")
        carol.save(update_fields=["password"])
    assert AuthSession.objects.get(pk=started).revoked_reason == "password_change"


def test_a_privilege_change_behind_a_stale_cache_still_ends_the_sign_in(
    alice: Any, redis_store: Any, redis_url: str
) -> None:
    """The cached mark is older than the row (a rebind the store missed), and the user's privileges changed
    since the row's mark too: the row decides, and it is a privilege change."""
    client = _stale_redis_sign_in(alice, redis_store, redis_url)
    sid = AuthSession.objects.get().pk
    alice.password = make_password("password", salt="rehashed", hasher="md5")
    type(alice).objects.filter(pk=alice.pk).update(password=alice.password)
    AuthSession.objects.filter(pk=sid).update(user_mark=user_marks.mark_of(alice))
    type(alice).objects.filter(pk=alice.pk).update(is_staff=True)
    assert client.get("/api/auth/me/").status_code == 401
    assert AuthSession.objects.get().revoked_reason == Reason.PRIVILEGE_CHANGE
