"""A revocation made through one instance holds on the other at once, for session and jwt sign-ins.

Two real server processes (gunicorn, then uvicorn) share one PostgreSQL
database and one Redis, as `make serve` deploys them. Each way an operator
or a user can revoke is made through instance A (or a management command, a
third process); the very next request with that credential to instance B is
refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from .instances import Browser, Instance, manage

pytestmark = pytest.mark.system

FLAVOURS = [("session", None), ("jwt", "header"), ("jwt", "cookie")]
IDS = ["session", "jwt-header", "jwt-cookie"]


def _signed_in(a: Instance, b: Instance, kind: str, transport: str | None) -> tuple[Browser, str]:
    browser = Browser()
    response = browser.login(a, "alice", kind, transport)
    assert response.status == 200, response.body
    assert browser.get(b, "/api/auth/me/").status == 200  # one sign-in, good on both instances
    return browser, response.json()["session_id"]


@pytest.mark.parametrize(("kind", "transport"), FLAVOURS, ids=IDS)
def test_revoked_through_the_api_of_one_instance_is_refused_by_the_other(
    pair: tuple[Instance, Instance], kind: str, transport: str | None
) -> None:
    a, b = pair
    victim, sid = _signed_in(a, b, kind, transport)
    owner, _ = _signed_in(a, b, "jwt", "header")
    assert owner.request(a, "DELETE", f"/api/auth/sessions/{sid}/").status == 204
    assert victim.get(b, "/api/auth/me/").status == 401


@pytest.mark.parametrize(("kind", "transport"), FLAVOURS, ids=IDS)
def test_logout_on_one_instance_is_refused_by_the_other(
    pair: tuple[Instance, Instance], kind: str, transport: str | None
) -> None:
    a, b = pair
    victim, _sid = _signed_in(a, b, kind, transport)
    copy = Browser(cookies=dict(victim.cookies), bearer=victim.bearer)  # what a thief kept
    assert victim.post(a, "/api/auth/logout/").status == 204
    assert copy.get(b, "/api/auth/me/").status == 401


@pytest.mark.parametrize(("kind", "transport"), FLAVOURS, ids=IDS)
def test_revoked_by_an_admin_action_on_one_instance_is_refused_by_the_other(
    pair: tuple[Instance, Instance], kind: str, transport: str | None
) -> None:
    a, b = pair
    victim, sid = _signed_in(a, b, kind, transport)
    admin = Browser()
    assert admin.login(a, "admin", "session").status == 200
    changelist = "/admin/dualauth/authsession/"
    chosen: dict[str, Any] = {"action": "revoke_selected", "_selected_action": [sid]}
    assert admin.post(a, changelist, chosen, form=True).status == 200  # the confirmation page
    done = admin.post(a, changelist, {**chosen, "post": "yes", "dualauth_listed": [sid]}, form=True)
    assert done.status == 302
    assert victim.get(b, "/api/auth/me/").status == 401


@pytest.mark.parametrize(("kind", "transport"), FLAVOURS, ids=IDS)
def test_revoked_by_a_management_command_is_refused_by_both(
    pair: tuple[Instance, Instance], kind: str, transport: str | None
) -> None:
    a, b = pair
    victim, _sid = _signed_in(a, b, kind, transport)
    manage("dualauth_revoke", "--user", "alice", "--noinput")
    assert victim.get(b, "/api/auth/me/").status == 401
    assert victim.get(a, "/api/auth/me/").status == 401
