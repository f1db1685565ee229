"""The migration guides hold: tokens and sessions issued before dualauth survive the switch, as docs/migration/ says.

``tests/test_tokens.py::test_legacy_tokens_are_adopted_only_when_enabled`` and
``tests/test_middleware.py::test_session_from_before_dualauth_is_adopted`` cover
the basics; this module follows a migrated client further (listing, revoking,
the API in each mode, cookies named as before) and runs the SQL the
django-user-sessions guide prints.
"""

from __future__ import annotations

import re
from datetime import timedelta
from importlib import import_module
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken as SimpleJWTRefreshToken

from dualauth import services
from dualauth.models import AuthSession
from dualauth.tokens import AccessToken

from .conftest import USER_AGENT, SignInClient

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parent.parent / "docs" / "migration"


@pytest.mark.parametrize("app", ["dualauth", "notes", "test_project"])
def test_each_apps_migrations_match_its_models(app: str) -> None:
    """The package's, the demo's and the suite's own: a model changed without its migration fails here."""
    call_command("makemigrations", app, "--check", "--dry-run", stdout=StringIO())


def legacy_pair(user: Any) -> SimpleJWTRefreshToken:
    """A pair minted by plain simplejwt, as a project issued them before dualauth: no ``sid``."""
    token = SimpleJWTRefreshToken.for_user(user)
    assert "sid" not in token.payload
    return token


def header_client(access: str, refresh: str) -> SignInClient:
    client = SignInClient("header")
    client.access, client.refresh = access, refresh
    return client


# From plain simplejwt ------------------------------------------------------


@pytest.mark.parametrize("mode", ["jwt", "hybrid"])
def test_with_adoption_a_legacy_pair_keeps_working_and_becomes_a_sign_in_the_user_can_end(
    alice: Any, use_mode: Any, mode: str
) -> None:
    use_mode(mode, ADOPT_LEGACY_TOKENS=True)
    legacy = legacy_pair(alice)
    old = header_client(str(legacy.access_token), str(legacy))

    me = old.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"
    assert me.json()["session_id"] is None  # accepted, but not a sign-in yet
    assert old.get("/api/notes/").status_code == 200
    assert b"Signed in as <strong>alice</strong>" in old.get("/").content  # plain Django views too
    assert not AuthSession.objects.exists()

    assert old.do_refresh().status_code == 200  # the legacy refresh token is exchanged for a dualauth pair
    new = header_client(old.access, old.refresh)  # type: ignore[arg-type]
    row = AuthSession.objects.get()
    assert (row.user, row.kind, row.status) == (alice, "jwt", "active")
    assert AccessToken(new.access)["sid"] == str(row.pk)  # type: ignore[arg-type]

    replayed = header_client(str(legacy.access_token), str(legacy)).do_refresh()
    assert replayed.json()["code"] == "token_not_valid"  # used up by the exchange...
    assert new.get("/api/auth/me/").status_code == 200  # ...without harm to the sign-in it became

    listed = new.get("/api/auth/sessions/").json()
    assert [(entry["id"], entry["current"]) for entry in listed] == [(str(row.pk), True)]
    assert new.delete(f"/api/auth/sessions/{row.pk}/").status_code == 204

    assert new.get("/api/auth/me/").json()["code"] == "session_ended"
    assert new.do_refresh().status_code == 401
    again = header_client(str(legacy.access_token), str(legacy))
    assert again.do_refresh().status_code == 401  # the legacy refresh token was used up by the exchange
    # The legacy access token has no sid: nothing can end it early. It lives until its exp (the guide says so).
    assert again.get("/api/auth/me/").status_code == 200


@pytest.mark.parametrize("mode", ["jwt", "hybrid"])
def test_without_adoption_legacy_tokens_are_a_json_401_never_a_500(alice: Any, use_mode: Any, mode: str) -> None:
    use_mode(mode)  # ADOPT_LEGACY_TOKENS defaults to False
    legacy = legacy_pair(alice)
    old = header_client(str(legacy.access_token), str(legacy))
    for response in (old.get("/api/auth/me/"), old.get("/api/notes/"), old.do_refresh()):
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert b"Not signed in" in old.get("/").content
    assert not AuthSession.objects.exists()


def _change_password(user: Any) -> None:
    user.set_password("a brand new password")
    user.save()


def _revoke_all_from_the_command_line(user: Any) -> None:
    call_command("dualauth_revoke", "--user", user.get_username(), "--noinput", stdout=StringIO())


def _revoke_everyone(user: Any) -> None:
    call_command("dualauth_revoke", "--all", "--noinput", stdout=StringIO())


def _deactivate(user: Any) -> None:
    user.is_active = False
    user.save()
    user.is_active = True  # back, so that only the blacklist can refuse the stolen token
    user.save()


def _admin_client() -> Client:
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "root"))
    return admin


def _admin_user_page_button(user: Any) -> None:
    url = f"/admin/auth/user/{user.pk}/revoke-sign-ins/"
    admin = _admin_client()
    listed = [str(pk) for pk, _line in admin.post(url).context["listed"]]
    assert admin.post(url, {"post": "yes", "dualauth_listed": listed}).status_code == 302


def _admin_revoke_users_action(user: Any) -> None:
    url = "/admin/dualauth/authsession/"
    data = {"action": "revoke_users", "_selected_action": [str(AuthSession.objects.get(user=user).pk)]}
    admin = _admin_client()
    listed = [str(pk) for pk, _line in admin.post(url, data).context["listed"]]
    admin.post(url, {**data, "post": "yes", "dualauth_listed": listed})


ENDINGS = [
    _change_password,
    _deactivate,
    _revoke_all_from_the_command_line,
    _revoke_everyone,
    _admin_user_page_button,
    _admin_revoke_users_action,
]


@pytest.mark.parametrize("end_everything", ENDINGS)
def test_ending_all_of_a_users_sign_ins_ends_their_legacy_refresh_tokens_too(
    alice: Any, bob: Any, use_mode: Any, end_everything: Any
) -> None:
    """A legacy refresh token belongs to no sign-in; a thief's copy must not outlive a password change."""
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    stolen, adopted, bobs = legacy_pair(alice), legacy_pair(alice), legacy_pair(bob)
    assert header_client(str(adopted.access_token), str(adopted)).do_refresh().status_code == 200

    end_everything(alice)

    response = header_client(str(stolen.access_token), str(stolen)).do_refresh()
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert AuthSession.objects.get(user=alice).revoked_at is not None  # the one adopted before the change ended too
    if end_everything is not _revoke_everyone:
        assert header_client(str(bobs.access_token), str(bobs)).do_refresh().status_code == 200  # not bob's


def test_revoking_the_others_keeps_the_current_sign_in_and_ends_legacy_tokens(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    stolen = legacy_pair(alice)
    current = SignInClient("header")
    current.login("alice")
    assert current.post("/api/auth/sessions/revoke-others/").json() == {"revoked": 0}
    assert header_client(str(stolen.access_token), str(stolen)).do_refresh().status_code == 401
    assert current.get("/api/auth/me/").status_code == 200
    assert current.do_refresh().status_code == 200  # its own refresh token was not taken for a legacy one


def test_a_legacy_refresh_token_simplejwt_had_blacklisted_is_not_adopted(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    legacy = legacy_pair(alice)
    legacy.blacklist()  # logged out under plain simplejwt (its TokenBlacklistView, or BLACKLIST_AFTER_ROTATION)
    response = header_client(str(legacy.access_token), str(legacy)).do_refresh()
    assert response.status_code == 401
    assert not AuthSession.objects.exists()


# From dj-rest-auth ---------------------------------------------------------

DJ_REST_AUTH_COOKIES = {"ACCESS_COOKIE": "my-app-auth", "REFRESH_COOKIE": "my-refresh-token"}


def cookie_client(**cookies: str) -> APIClient:
    client = APIClient(enforce_csrf_checks=True, HTTP_USER_AGENT=USER_AGENT)
    client.get("/api/auth/csrf/")
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


def test_dj_rest_auth_cookie_tokens_are_adopted_under_their_old_cookie_names(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid", ADOPT_LEGACY_TOKENS=True, **DJ_REST_AUTH_COOKIES)
    legacy = legacy_pair(alice)
    browser = cookie_client(**{"my-app-auth": str(legacy.access_token), "my-refresh-token": str(legacy)})
    assert browser.get("/api/auth/me/").status_code == 200

    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    refreshed = browser.post("/api/auth/token/refresh/", {}, format="json", **csrf)
    assert refreshed.status_code == 200
    assert set(refreshed.json()) == {"access_expires_at", "refresh_expires_at"}  # tokens only in the cookies
    assert refreshed.cookies["my-refresh-token"]["path"] == "/api/auth/"
    row = AuthSession.objects.get()
    assert browser.get("/api/auth/me/").json()["session_id"] == str(row.pk)


def test_without_adoption_dj_rest_auth_cookies_are_refused(alice: Any, use_mode: Any) -> None:
    use_mode("hybrid", **DJ_REST_AUTH_COOKIES)
    legacy = legacy_pair(alice)
    browser = cookie_client(**{"my-app-auth": str(legacy.access_token)})
    response = browser.get("/api/auth/me/")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_a_cookie_with_a_wider_path_shadows_dualauths_of_the_same_name(alice: Any, use_mode: Any) -> None:
    """Why the dj-rest-auth guide says to rename the refresh cookie when its old path was ``/``.

    A browser holding ``name`` at ``/`` (dj-rest-auth's default refresh cookie path) and at
    ``/api/auth/`` (dualauth's) sends both, the longer path first (RFC 6265, 5.4); Django keeps the
    last, so the old token is the one read, and dualauth's own is never seen.
    """
    use_mode("jwt", **DJ_REST_AUTH_COOKIES)
    legacy = legacy_pair(alice)
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    browser = APIClient(HTTP_USER_AGENT=USER_AGENT)
    alone = f"my-refresh-token={client.refresh}"
    both = f"{alone}; my-refresh-token={legacy}"
    assert browser.post("/api/auth/token/refresh/", {}, format="json", HTTP_COOKIE=both).status_code == 401
    assert browser.post("/api/auth/token/refresh/", {}, format="json", HTTP_COOKIE=alone).status_code == 200


# Sessions from before dualauth (dj-rest-auth, django-user-sessions, any login) -------------------------


def session_data(user: Any) -> dict[str, Any]:
    """What Django's login() writes into a session: dualauth's receiver never saw it, so no sid."""
    return {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }


def pre_dualauth_session(user: Any) -> str:
    """A session of the project's engine (db, cache, cached_db: each profile of the suite) from before dualauth."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.update(session_data(user))
    store.create()
    return str(store.session_key)


def browser_with_session(session_key: str) -> SignInClient:
    browser = SignInClient("session")
    browser.client.cookies["sessionid"] = session_key
    return browser


@pytest.mark.parametrize("mode", ["session", "hybrid"])
def test_a_session_from_before_dualauth_is_adopted_by_the_api_and_can_be_ended(
    alice: Any, use_mode: Any, mode: str
) -> None:
    use_mode(mode)
    session_key = pre_dualauth_session(alice)
    browser = browser_with_session(session_key)

    me = browser.get("/api/auth/me/")
    assert me.status_code == 200
    row = AuthSession.objects.get()
    assert me.json() == {**me.json(), "kind": "session", "session_id": str(row.pk)}
    assert (row.user, row.session_key) == (alice, session_key)
    assert browser.get("/api/auth/me/").json()["session_id"] == str(row.pk)  # adopted once, not on every request
    assert AuthSession.objects.count() == 1

    assert [entry["current"] for entry in browser.get("/api/auth/sessions/").json()] == [True]
    services.revoke(row, "admin")
    assert browser.get("/api/auth/me/").status_code == 401


def test_in_jwt_mode_a_session_from_before_is_adopted_for_plain_views_and_the_admin(
    make_user: Any, use_mode: Any
) -> None:
    use_mode("jwt")
    admin_user = make_user("admin", is_staff=True, is_superuser=True)
    browser = browser_with_session(pre_dualauth_session(admin_user))
    assert browser.get("/admin/").status_code == 200
    assert AuthSession.objects.get().kind == "session"
    assert browser.get("/api/auth/me/").status_code == 401  # API calls in jwt mode take tokens only


def documented_block(page: str, title: str) -> str:
    """The code block titled ``title`` in docs/migration/<page>: the test runs what the guide prints."""
    text = (DOCS / page).read_text()
    match = re.search(rf'^```\w+ title="{re.escape(title)}"\n(.*?)^```', text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"no code block titled {title!r} in docs/migration/{page}"
    return match.group(1)


USER_SESSIONS_TABLE = """
CREATE TABLE user_sessions_session (
    session_key varchar(40) NOT NULL PRIMARY KEY,
    session_data text NOT NULL,
    expire_date timestamp with time zone NOT NULL,
    user_id integer NULL,
    user_agent varchar(200) NOT NULL,
    last_activity timestamp with time zone NOT NULL,
    ip varchar(39) NOT NULL
)
"""


def test_django_user_sessions_rows_copied_by_the_guides_sql_are_adopted(
    alice: Any, bob: Any, use_mode: Any, settings: Any
) -> None:
    use_mode("session")
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"  # the guide's engine, in every profile
    now = timezone.now()
    encoded = SessionStore().encode
    rows = [  # as django-user-sessions stored them: Django's own session encoding, plus its columns
        ("livealicesession0000000000000000", encoded(session_data(alice)), now + timedelta(days=1), alice.pk),
        ("expiredbobsession000000000000000", encoded(session_data(bob)), now - timedelta(days=1), bob.pk),
    ]
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(USER_SESSIONS_TABLE)
        for key, data, expires, user_id in rows:
            cursor.execute(
                "INSERT INTO user_sessions_session VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [key, data, adapt(expires), user_id, USER_AGENT, adapt(now), "192.0.2.1"],
            )
        existing = SessionStore()
        existing.create()  # a session the new engine already holds is left alone
        cursor.execute(
            "INSERT INTO user_sessions_session VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [existing.session_key, rows[0][1], adapt(rows[0][2]), alice.pk, USER_AGENT, adapt(now), "192.0.2.1"],
        )
        cursor.execute(documented_block("django-user-sessions.md", "copy_user_sessions.sql"))
        cursor.execute("DROP TABLE user_sessions_session")

    assert not SessionStore().exists("expiredbobsession000000000000000")
    browser = browser_with_session("livealicesession0000000000000000")
    me = browser.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"
    assert AuthSession.objects.get().session_key == "livealicesession0000000000000000"
    assert Session.objects.get(pk=existing.session_key).get_decoded() == {}  # not overwritten by the copy
