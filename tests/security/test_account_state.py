"""Account state (ASVS 5.0 V7.4.2, V7.4.3; CVE-2024-22513): inactive, deleted, new password — at once, both kinds."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dualauth.models import AuthSession

from ..conftest import SignInClient

pytestmark = pytest.mark.django_db

PASSWORD = "/api/account/password/"


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


def test_a_deactivated_user_is_refused_at_once_everywhere(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.2; simplejwt CVE-2024-22513: an inactive user's tokens and sessions stop working, refresh too."""
    clients = _everywhere(use_mode)
    alice.is_active = False
    alice.save()
    assert all(_refused(c) for c in clients)
    assert set(AuthSession.objects.values_list("revoked_reason", flat=True)) == {"deactivated"}


def test_deactivation_by_queryset_update_is_refused_too(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.2: no signal fires for QuerySet.update(), yet every credential re-reads is_active."""
    clients = _everywhere(use_mode)
    type(alice).objects.filter(pk=alice.pk).update(is_active=False)
    assert all(_refused(c) for c in clients)


def test_a_deleted_user_is_refused_at_once_everywhere(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.2: deleting the account ends every sign-in."""
    clients = _everywhere(use_mode)
    alice.delete()
    assert all(_refused(c) for c in clients)
    assert not AuthSession.objects.exists()


def test_a_password_set_in_code_ends_every_sign_in(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.3: set_password() + save() anywhere (a shell, a task) ends the user's sign-ins."""
    clients = _everywhere(use_mode)
    alice.set_password("a-brand-new-password")
    alice.save()
    assert all(_refused(c) for c in clients)
    assert set(AuthSession.objects.values_list("revoked_reason", flat=True)) == {"password_change"}


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


def test_a_password_changed_by_an_admin_ends_every_sign_in(alice: Any, make_user: Any, use_mode: Any) -> None:
    """ASVS 5.0 V7.4.3/V7.4.5: an administrator resetting alice's password ends all of alice's sign-ins."""
    clients = _everywhere(use_mode)
    make_user("admin", is_staff=True, is_superuser=True)
    admin = Client()
    admin.post("/admin/login/", {"username": "admin", "password": "admin"})
    response = admin.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": "Another-Strong-Pass-123", "password2": "Another-Strong-Pass-123", "usable_password": "true"},
    )
    assert response.status_code == 302
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
