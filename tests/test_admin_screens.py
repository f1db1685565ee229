"""The admin screens: Sign-ins, tokens, the session store and the user page, each action end to end."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt as pyjwt
import pytest
from django.contrib.admin.models import LogEntry
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from dualauth.models import AuthSession

from .conftest import USER_AGENT, SignInClient, rewrite_sign_in, session_exists

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/dualauth/authsession/"


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def admin(admin_user: Any) -> Client:
    browser = Client(HTTP_USER_AGENT=USER_AGENT)
    browser.force_login(admin_user)
    return browser


@pytest.fixture
def alices(alice: Any, use_mode: Any) -> dict[str, SignInClient]:
    """alice signed in twice: a browser session and an app holding tokens."""
    use_mode("hybrid")
    clients = {"browser": SignInClient("session"), "app": SignInClient("header")}
    for client in clients.values():
        assert client.login("alice").status_code == 200
    return clients


def _ids(response: Any) -> set[str]:
    return {str(row.pk) for row in response.context["cl"].result_list}


def _act(admin: Client, url: str, action: str, pks: list[Any], confirm: bool) -> Any:
    """Choose an action; with ``confirm``, also confirm what its page listed, as an administrator would."""
    data: dict[str, Any] = {"action": action, "_selected_action": [str(pk) for pk in pks]}
    page = admin.post(url, data)
    if not confirm:
        return page
    listed = [str(pk) for pk, _line in page.context["listed"]]
    return admin.post(url, {**data, "post": "yes", "dualauth_listed": listed})


def test_the_changelist_shows_every_sign_in_with_status_and_device(admin: Client, alices: Any) -> None:
    response = admin.get(CHANGELIST)
    assert response.status_code == 200
    assert _ids(response) >= {alices["browser"].session_id, alices["app"].session_id}
    body = response.content.decode()
    assert "Chrome 120 on Linux" in body
    assert "active" in body


@pytest.mark.parametrize(
    ("query", "found"), [("alice", True), ("alice@example.com", True), ("127.0.0", True), ("bob", False)]
)
def test_search_by_username_email_and_ip(admin: Client, alices: Any, query: str, found: bool) -> None:
    ids = _ids(admin.get(CHANGELIST, {"q": query}))
    assert (alices["app"].session_id in ids) is found


def test_filters_by_kind_and_status(admin: Client, alices: Any) -> None:
    rewrite_sign_in(alices["app"].session_id, expires_at=timezone.now() - timedelta(seconds=1))
    assert _ids(admin.get(CHANGELIST, {"kind": "jwt"})) == {alices["app"].session_id}
    assert alices["app"].session_id in _ids(admin.get(CHANGELIST, {"status": "expired"}))
    active = _ids(admin.get(CHANGELIST, {"status": "active"}))
    assert alices["browser"].session_id in active
    assert alices["app"].session_id not in active
    by_year = admin.get(CHANGELIST, {"created_at__year": timezone.now().year})  # the date hierarchy
    assert by_year.status_code == 200
    assert alices["app"].session_id in _ids(by_year)
    assert not _ids(admin.get(CHANGELIST, {"created_at__year": timezone.now().year - 1}))


def test_revoke_selected_asks_first_then_revokes_and_logs_who(admin: Client, admin_user: Any, alices: Any) -> None:
    target = alices["app"].session_id
    page = _act(admin, CHANGELIST, "revoke_selected", [target], confirm=False)
    assert page.status_code == 200
    assert "alice" in page.content.decode()
    assert AuthSession.objects.get(pk=target).status == "active"
    assert _act(admin, CHANGELIST, "revoke_selected", [target], confirm=True).status_code == 302
    row = AuthSession.objects.get(pk=target)
    assert (row.status, row.revoked_reason) == ("revoked", "admin")
    entry = LogEntry.objects.get(object_id=str(target))
    assert entry.user_id == admin_user.pk
    assert alices["app"].get("/api/auth/me/").status_code == 401
    assert alices["browser"].get("/api/auth/me/").status_code == 200


def test_revoke_all_sign_ins_of_these_users(admin: Client, alices: Any, bob: Any) -> None:
    bobs = SignInClient("header")
    bobs.login("bob")
    _act(admin, CHANGELIST, "revoke_users", [alices["app"].session_id], confirm=True)
    assert [c.get("/api/auth/me/").status_code for c in (*alices.values(), bobs)] == [401, 401, 200]


def test_a_confirmation_ends_only_what_it_listed(admin: Client, alices: Any) -> None:
    data = {"action": "revoke_users", "_selected_action": [alices["app"].session_id]}
    page = admin.post(CHANGELIST, data)
    listed = [str(pk) for pk, _line in page.context["listed"]]
    assert len(listed) == 2
    newcomer = SignInClient("header")
    newcomer.login("alice")  # signs in while the administrator reads the page
    admin.post(CHANGELIST, {**data, "post": "yes", "dualauth_listed": listed})
    assert [c.get("/api/auth/me/").status_code for c in (*alices.values(), newcomer)] == [401, 401, 200]


def test_the_detail_page_revokes_and_then_shows_why(admin: Client, alices: Any) -> None:
    sid = alices["browser"].session_id
    page = admin.get(f"{CHANGELIST}{sid}/change/")
    assert 'id="dualauth-revoke"' in page.content.decode()
    assert alices["browser"].client.cookies["sessionid"].value not in page.content.decode()
    assert admin.get(f"{CHANGELIST}{sid}/revoke/").status_code == 405
    assert admin.post(f"{CHANGELIST}{sid}/revoke/").status_code == 302
    assert alices["browser"].get("/api/auth/me/").status_code == 401
    page = admin.get(f"{CHANGELIST}{sid}/change/").content.decode()
    assert 'id="dualauth-revoked"' in page
    assert "(reason: admin)" in page
    assert 'id="dualauth-revoke"' not in page
    entries = LogEntry.objects.filter(object_id=str(sid)).count()
    admin.post(f"{CHANGELIST}{sid}/revoke/")  # already ended: nothing happens, nothing is logged
    assert LogEntry.objects.filter(object_id=str(sid)).count() == entries


def test_the_screens_add_edit_and_delete_nothing(admin: Client, alices: Any) -> None:
    assert admin.get(f"{CHANGELIST}add/").status_code == 403
    sid = alices["app"].session_id
    assert admin.post(f"{CHANGELIST}{sid}/change/", {"ip": "10.0.0.1"}).status_code == 403
    assert admin.post(f"{CHANGELIST}{sid}/delete/", {"post": "yes"}).status_code == 403
    assert AuthSession.objects.get(pk=sid).ip == "127.0.0.1"


REVOKE_TOKEN = f"{CHANGELIST}revoke-token/"


@pytest.mark.parametrize("which", ["access", "refresh"])
def test_a_pasted_token_is_decoded_and_its_sign_in_revoked(admin: Client, alices: Any, which: str) -> None:
    app = alices["app"]
    raw = app.access if which == "access" else app.refresh
    page = admin.post(REVOKE_TOKEN, {"token": f"Bearer {raw}", "_inspect": "1"})
    body = page.content.decode()
    assert page.status_code == 200
    assert app.session_id in body
    assert f"<td>{which}</td>" in body or f"<td>{which} " in body
    assert "HS256" in body
    assert admin.post(REVOKE_TOKEN, {"token": raw, "_revoke": "1"}).status_code == 302
    assert AuthSession.objects.get(pk=app.session_id).revoked_reason == "admin"
    assert LogEntry.objects.filter(object_id=str(app.session_id), change_message__contains="pasted").exists()
    assert app.get("/api/auth/me/").status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "",
        "x" * 20_000,
        pyjwt.encode({"sid": "x", "user_id": "1", "token_type": "access", "exp": 2**33}, "k" * 64, algorithm="HS256"),
    ],
)
def test_a_bad_or_foreign_token_is_a_form_error_not_a_500(admin: Client, alices: Any, token: str) -> None:
    page = admin.post(REVOKE_TOKEN, {"token": token, "_revoke": "1"})
    assert page.status_code == 200
    assert page.context["form"].errors
    assert AuthSession.objects.filter(revoked_at__isnull=False).count() == 0


def _signed_with_our_key(claims: dict[str, Any], algorithm: str = "HS256") -> str:
    from dualauth.tokens import jwt_settings

    return pyjwt.encode(claims, jwt_settings().SIGNING_KEY, algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ["HS512", "none"])
def test_our_key_with_another_algorithm_is_a_form_error(admin: Client, alices: Any, algorithm: str) -> None:
    claims = {"sid": alices["app"].session_id, "user_id": "1", "token_type": "access", "exp": 2**33, "jti": "x"}
    token = _signed_with_our_key(claims, algorithm) if algorithm != "none" else pyjwt.encode(claims, None, "none")
    page = admin.post(REVOKE_TOKEN, {"token": token, "_revoke": "1"})
    assert page.context["form"].errors
    assert alices["app"].get("/api/auth/me/").status_code == 200


def test_a_token_with_a_nonsense_expiry_is_shown_not_a_500(admin: Client, alices: Any, alice: Any) -> None:
    claims = {"sid": alices["app"].session_id, "user_id": str(alice.pk), "token_type": "access", "exp": "soon"}
    page = admin.post(REVOKE_TOKEN, {"token": _signed_with_our_key(claims), "_inspect": "1"})
    assert page.status_code == 200


def test_a_legacy_access_token_cannot_be_revoked_and_the_page_says_so(admin: Client, alices: Any, alice: Any) -> None:
    claims = {"user_id": str(alice.pk), "token_type": "access", "exp": 2**33, "jti": "legacy"}
    token = _signed_with_our_key(claims)
    page = admin.post(REVOKE_TOKEN, {"token": token, "_inspect": "1"}).content.decode()
    assert "cannot be ended before it expires" in page
    assert 'id="dualauth-revoke-token-submit"' not in page
    followed = admin.post(REVOKE_TOKEN, {"token": token, "_revoke": "1"}, follow=True)
    assert "nothing can end it early" in followed.content.decode()


def test_an_expired_token_still_leads_to_its_live_sign_in(admin: Client, alices: Any, settings: Any) -> None:
    from dualauth.tokens import AccessToken

    app = alices["app"]
    old = AccessToken(app.access)
    old.set_exp(lifetime=timedelta(seconds=-10))
    assert admin.post(REVOKE_TOKEN, {"token": str(old), "_revoke": "1"}).status_code == 302
    assert app.get("/api/auth/me/").status_code == 401


TOKENS = "/admin/token_blacklist/outstandingtoken/"


def test_outstanding_tokens_show_their_sign_in_and_status(admin: Client, alices: Any) -> None:
    app = alices["app"]
    assert app.do_refresh().status_code == 200
    body = admin.get(TOKENS).content.decode()
    assert body.count(app.session_id) >= 2  # both tokens of the family link to it
    assert "blacklisted" in body
    assert "outstanding" in body
    assert "sid:" not in body
    assert admin.get("/admin/token_blacklist/blacklistedtoken/").status_code == 200


def test_blacklisting_the_current_token_ends_the_sign_in_access_token_included(admin: Client, alices: Any) -> None:
    app = alices["app"]
    from dualauth.tokens import RefreshToken

    current = OutstandingToken.objects.get(jti=RefreshToken(app.refresh)["jti"])
    assert _act(admin, TOKENS, "blacklist_selected", [current.pk], confirm=False).status_code == 200
    _act(admin, TOKENS, "blacklist_selected", [current.pk], confirm=True)
    assert BlacklistedToken.objects.filter(token=current).exists()
    assert app.get("/api/auth/me/").status_code == 401
    assert LogEntry.objects.filter(object_id=str(current.pk)).exists()


def test_tokens_filter_by_status(admin: Client, alices: Any) -> None:
    app = alices["app"]
    first = OutstandingToken.objects.get(user__username="alice")
    assert app.do_refresh().status_code == 200
    OutstandingToken.objects.create(jti="old", token="", expires_at=timezone.now() - timedelta(days=1))

    def jtis(status: str) -> set[str]:
        return {t.jti for t in admin.get(TOKENS, {"status": status}).context["cl"].result_list}

    assert jtis("blacklisted") == {first.jti}
    assert jtis("expired") == {"old"}
    assert first.jti not in jtis("outstanding")
    assert "old" not in jtis("outstanding")
    body = admin.get(TOKENS, {"status": "expired"}).content.decode()
    assert "expired" in body


def test_blacklisting_a_token_of_no_live_sign_in_blacklists_just_it(admin: Client, alices: Any) -> None:
    stray = OutstandingToken.objects.create(jti="stray", token="", expires_at=timezone.now() + timedelta(days=1))
    _act(admin, TOKENS, "blacklist_selected", [stray.pk], confirm=True)
    assert BlacklistedToken.objects.filter(token=stray).exists()
    assert alices["app"].get("/api/auth/me/").status_code == 200


STORE = "/admin/dualauth/storedsession/"


@pytest.fixture(params=["db", "redis-cache", "redis-cached_db", "file"])
def session_engine(request: pytest.FixtureRequest, settings: Any, tmp_path: Any) -> str:
    engines = {
        "db": "django.contrib.sessions.backends.db",
        "redis-cache": "django.contrib.sessions.backends.cache",
        "redis-cached_db": "django.contrib.sessions.backends.cached_db",
        "file": "django.contrib.sessions.backends.file",
    }
    if request.param.startswith("redis"):
        request.getfixturevalue("redis_cache")
    settings.SESSION_ENGINE = engines[request.param]
    settings.SESSION_FILE_PATH = str(tmp_path)
    return request.param  # type: ignore[no-any-return]


def test_the_session_store_shows_decoded_users_and_kills_on_any_engine(
    session_engine: str, admin_user: Any, alice: Any, use_mode: Any
) -> None:
    use_mode("hybrid")
    admin = Client(HTTP_USER_AGENT=USER_AGENT)
    admin.force_login(admin_user)
    browser = SignInClient("session")
    browser.login("alice")
    key = browser.client.cookies["sessionid"].value
    page = admin.get(STORE)
    body = page.content.decode()
    assert page.status_code == 200
    assert key not in body  # a fingerprint, never the key
    row = next(r for r in page.context["cl"].result_list if str(r.pk) == browser.session_id)
    assert row.session_user == alice
    assert row.session_data is not None
    _act(admin, STORE, "kill_selected", [browser.session_id], confirm=True)
    assert not session_exists(key)
    assert browser.get("/api/auth/me/").status_code == 401
    assert LogEntry.objects.filter(object_id=str(browser.session_id), change_message__contains="killed").exists()


def test_a_stored_sessions_page_is_its_sign_ins_page_without_the_key(admin: Client, alices: Any) -> None:
    browser = alices["browser"]
    page = admin.get(f"{STORE}{browser.session_id}/change/", follow=True)
    assert page.redirect_chain[-1][0].endswith(f"/admin/dualauth/authsession/{browser.session_id}/change/")
    assert browser.client.cookies["sessionid"].value not in page.content.decode()


def test_kill_removes_a_session_its_revocation_left_in_the_store(admin: Client, alices: Any) -> None:
    from dualauth import services

    browser = alices["browser"]
    key = browser.client.cookies["sessionid"].value
    services.revoke(browser.session_id, "admin", delete_session=False)  # type: ignore[arg-type]
    assert session_exists(key)
    _act(admin, STORE, "kill_selected", [browser.session_id], confirm=True)
    assert not session_exists(key)


def test_the_user_page_lists_sign_ins_and_revokes_them_all(admin: Client, alices: Any, alice: Any) -> None:
    url = f"/admin/auth/user/{alice.pk}/change/"
    body = admin.get(url).content.decode()
    assert 'id="dualauth-user-sign-ins"' in body
    assert body.count("/admin/dualauth/authsession/") >= 2
    assert 'id="dualauth-revoke-all"' in body
    assert body.index('id="dualauth-revoke-all"') > body.index("</form>")  # Enter in the user's form never revokes
    confirm = admin.post(f"/admin/auth/user/{alice.pk}/revoke-sign-ins/")
    assert confirm.status_code == 200
    assert all(c.get("/api/auth/me/").status_code == 200 for c in alices.values())
    listed = [str(pk) for pk, _line in confirm.context["listed"]]
    assert len(listed) == 2
    revoke = admin.post(f"/admin/auth/user/{alice.pk}/revoke-sign-ins/", {"post": "yes", "dualauth_listed": listed})
    assert revoke.status_code == 302
    assert [c.get("/api/auth/me/").status_code for c in alices.values()] == [401, 401]
    assert "None." in admin.get(url).content.decode()
    assert LogEntry.objects.filter(object_id=str(alice.pk), change_message__contains="Revoked").exists()


def test_a_custom_user_admin_gets_the_section_through_the_mixin() -> None:
    from django.contrib import admin as django_admin
    from django.contrib.auth import get_user_model

    from dualauth.admin import SignInsUserAdminMixin

    assert isinstance(django_admin.site._registry[get_user_model()], SignInsUserAdminMixin)


@pytest.mark.parametrize(
    "url",
    [CHANGELIST, TOKENS, "/admin/token_blacklist/blacklistedtoken/", STORE],
)
def test_each_changelist_costs_the_same_queries_for_10_and_500_rows(admin: Client, alice: Any, url: str) -> None:
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    def grow_to(count: int) -> None:
        now = timezone.now()
        while AuthSession.objects.count() < count:
            n = AuthSession.objects.count()
            key = f"k{n:031d}"
            if n % 5 == 1:  # some real sessions, so the screen decodes them and loads their users
                stored = SessionStore()
                stored[SESSION_KEY] = str(alice.pk)
                stored.create()
                key = stored.session_key  # type: ignore[assignment]
            row = AuthSession.objects.create(
                user=alice,
                kind="session" if n % 2 else "jwt",
                session_key=key,
                refresh_jti=f"j{n}",
                user_agent=USER_AGENT,
                ip="10.0.0.1",
                created_at=now,
                last_seen_at=now - timedelta(hours=1),
                expires_at=now + timedelta(days=1),
            )
            token = OutstandingToken.objects.create(
                user=alice, jti=f"j{n}", token=f"sid:{row.pk}", expires_at=now + timedelta(days=1)
            )
            if n % 3 == 0:
                BlacklistedToken.objects.create(token=token)

    def queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert admin.get(url).status_code == 200
        return len(captured)

    grow_to(10)
    small = queries()
    grow_to(500)
    assert queries() == small


@pytest.mark.parametrize(
    ("list_markup", "expected"), [(True, '<ol class="breadcrumbs">'), (False, '<div class="breadcrumbs">')]
)
def test_breadcrumbs_follow_the_markup_of_each_django(list_markup: bool, expected: str) -> None:
    """Django 6.0 changed the admin's breadcrumbs from a div to an ordered list; 5.2 styles only the div."""
    from django.template.loader import render_to_string

    html = render_to_string(
        "admin/dualauth/breadcrumbs.html",
        {"dualauth_list_breadcrumbs": list_markup, "opts": AuthSession._meta, "title": "t"},
    )
    assert expected in html


SPREAD = [
    (2023, 12, 31, 23, 30),
    (2024, 3, 10, 1, 0),
    (2024, 3, 10, 23, 59),
    (2024, 3, 31, 12, 0),
    (2024, 11, 3, 5, 0),  # a DST change in America/New_York
    (2026, 1, 1, 0, 0),
]


@pytest.mark.parametrize(
    "zone", ["UTC", "America/New_York", "Asia/Kolkata", "America/Havana"]
)  # Havana: DST at midnight
@pytest.mark.parametrize(
    ("kind", "within"),
    [("year", {}), ("month", {"created_at__year": 2024}), ("day", {"created_at__year": 2024, "created_at__month": 3})],
)
def test_the_date_hierarchy_finds_django_s_buckets_without_a_distinct_scan(
    admin: Client, alice: Any, settings: Any, zone: str, kind: str, within: dict[str, int]
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dualauth.admin.dates import DateBucketQuerySet

    settings.TIME_ZONE = zone
    for moment in SPREAD:
        SignInClient("header").login("alice")
        rewrite_sign_in(AuthSession.objects.latest("created_at").pk, created_at=timezone.make_aware(datetime(*moment)))
    expected = list(AuthSession.objects.filter(**within).datetimes("created_at", kind))
    assert expected
    assert list(DateBucketQuerySet(AuthSession).filter(**within).datetimes("created_at", kind)) == expected
    with CaptureQueriesContext(connection) as captured:
        page = admin.get(CHANGELIST, within)
    assert page.status_code == 200
    assert not [query["sql"] for query in captured if "DISTINCT" in query["sql"]]


def test_each_revoked_sign_in_is_logged_as_it_ends_even_if_a_later_one_fails(
    admin: Client, alices: Any, monkeypatch: Any
) -> None:
    """An administrator's audit trail keeps what did end when the database fails part-way through the list."""
    from dualauth.services import revoking

    revoke = revoking.revoke
    calls: list[Any] = []

    def fail_on_the_second(target: Any, reason: str, **kwargs: Any) -> bool:
        calls.append(target)
        if len(calls) == 2:
            raise DatabaseError("the connection dropped")
        return revoke(target, reason, **kwargs)

    monkeypatch.setattr(revoking, "revoke", fail_on_the_second)
    admin.raise_request_exception = False
    _act(admin, CHANGELIST, "revoke_users", [alices["app"].session_id], confirm=True)
    ended = AuthSession.objects.filter(revoked_at__isnull=False)
    assert ended.count() == 1
    assert LogEntry.objects.filter(object_id=str(ended.get().pk), change_message__contains="Revoked").exists()


# Who may see and revoke (ASVS 5.0 V8): dualauth's screens need view_authsession, every revocation
# revoke_authsession, forged or not ---------------------------------------------------------------------

VIEW_ONLY_GETS = [
    "/admin/dualauth/authsession/",
    "/admin/dualauth/authsession/revoke-token/",
    "/admin/dualauth/storedsession/",
    "/admin/token_blacklist/outstandingtoken/",
    "/admin/token_blacklist/blacklistedtoken/",
]


def _staff(make_user: Any, name: str, *codenames: str) -> Client:
    from django.contrib.auth.models import Permission

    user = make_user(name, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def victim(alice: Any, use_mode: Any) -> SignInClient:
    use_mode("hybrid")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    return client


@pytest.mark.requirement("ASVS-V8.2.1")
@pytest.mark.parametrize("url", VIEW_ONLY_GETS)
def test_staff_without_view_permission_sees_nothing(make_user: Any, victim: SignInClient, url: str) -> None:
    """ASVS 5.0 V8.2.1: function-level access control; being staff is not enough."""
    assert _staff(make_user, "clerk").get(url).status_code == 403


@pytest.mark.requirement("ASVS-V8.2.1")
def test_staff_who_may_only_view_get_no_revoke_controls(make_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V8.2.1: a viewer is shown no action, button or form that revokes."""
    viewer = _staff(make_user, "viewer", "view_authsession")
    for url in VIEW_ONLY_GETS:
        assert viewer.get(url).status_code == 200
    changelist = viewer.get("/admin/dualauth/authsession/").content.decode()
    assert "revoke_selected" not in changelist
    assert "revoke_users" not in changelist
    detail = viewer.get(f"/admin/dualauth/authsession/{victim.session_id}/change/").content.decode()
    assert 'id="dualauth-revoke"' not in detail
    inspected = viewer.post("/admin/dualauth/authsession/revoke-token/", {"token": victim.access, "_inspect": "1"})
    assert victim.session_id in inspected.content.decode()
    assert "_revoke" not in inspected.content.decode()


def _forged_posts(victim: SignInClient, alice: Any) -> list[tuple[str, dict[str, Any]]]:
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    token = OutstandingToken.objects.get(user=alice)
    sid = victim.session_id
    return [
        ("/admin/dualauth/authsession/", {"action": "revoke_selected", "_selected_action": [sid], "post": "yes"}),
        ("/admin/dualauth/authsession/", {"action": "revoke_users", "_selected_action": [sid], "post": "yes"}),
        (f"/admin/dualauth/authsession/{sid}/revoke/", {}),
        ("/admin/dualauth/authsession/revoke-token/", {"token": victim.access, "_revoke": "1"}),
        ("/admin/dualauth/storedsession/", {"action": "kill_selected", "_selected_action": [sid], "post": "yes"}),
        (
            "/admin/token_blacklist/outstandingtoken/",
            {"action": "blacklist_selected", "_selected_action": [token.pk], "post": "yes"},
        ),
        (f"/admin/auth/user/{alice.pk}/revoke-sign-ins/", {}),
    ]


@pytest.mark.requirement("ASVS-V8.3.1")
@pytest.mark.parametrize("index", range(7))
def test_a_forged_revoke_from_a_viewer_is_403_and_changes_nothing(
    make_user: Any, victim: SignInClient, alice: Any, index: int
) -> None:
    """ASVS 5.0 V8.3.1: authorization is enforced on the server, whatever the page offered."""
    viewer = _staff(make_user, "viewer", "view_authsession", "view_user", "change_user")
    url, data = _forged_posts(victim, alice)[index]
    assert viewer.post(url, data).status_code == 403
    assert AuthSession.objects.get(pk=victim.session_id).revoked_at is None
    assert victim.get("/api/auth/me/").status_code == 200


@pytest.mark.requirement("ASVS-V7.4.5", "ASVS-V16.3.3")
def test_staff_with_the_revoke_permission_revoke_and_are_named_in_the_log(make_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V16.3.3 (the security events the documentation names are logged): who ended which sign-in, in
    the admin's LogEntry."""
    from django.contrib.admin.models import LogEntry

    revoker = _staff(make_user, "revoker", "view_authsession", "revoke_authsession")
    assert revoker.post(f"/admin/dualauth/authsession/{victim.session_id}/revoke/").status_code == 302
    assert victim.get("/api/auth/me/").status_code == 401
    entry = LogEntry.objects.get(object_id=str(victim.session_id))
    assert entry.user.username == "revoker"
    assert AuthSession.objects.get(pk=victim.session_id).revoked_reason == "admin"


@pytest.mark.requirement("ASVS-V16.2.5")
def test_the_token_form_never_logs_the_pasted_token(admin_user: Any, victim: SignInClient, caplog: Any) -> None:
    """ASVS 5.0 V16.2.5: credentials do not reach the logs, even when an administrator pastes one."""
    import logging

    browser = Client()
    browser.force_login(admin_user)
    with caplog.at_level(logging.DEBUG):
        browser.post("/admin/dualauth/authsession/revoke-token/", {"token": victim.access, "_revoke": "1"})
        browser.post("/admin/dualauth/authsession/revoke-token/", {"token": victim.access + "x", "_revoke": "1"})
    assert victim.access not in caplog.text


@pytest.mark.requirement("ASVS-V8.2.2")
def test_revoking_a_users_sign_ins_needs_sight_of_that_user(make_user: Any, victim: SignInClient, alice: Any) -> None:
    """ASVS 5.0 V8.2.2: the revoke permission alone does not open the user admin's objects."""
    revoker = _staff(make_user, "revoker", "view_authsession", "revoke_authsession")
    assert revoker.post(f"/admin/auth/user/{alice.pk}/revoke-sign-ins/", {"post": "yes"}).status_code == 403
    assert victim.get("/api/auth/me/").status_code == 200


@pytest.mark.parametrize("object_id", ["abc", "999999", "1_2F2"])
def test_a_bad_user_id_is_a_404_not_a_500(admin_user: Any, object_id: str) -> None:
    browser = Client()
    browser.force_login(admin_user)
    assert browser.post(f"/admin/auth/user/{object_id}/revoke-sign-ins/").status_code == 404


@pytest.mark.parametrize("object_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_bad_sign_in_id_is_a_404_not_a_500(admin_user: Any, object_id: str) -> None:
    browser = Client()
    browser.force_login(admin_user)
    assert browser.post(f"/admin/dualauth/authsession/{object_id}/revoke/").status_code == 404


@pytest.mark.requirement("ASVS-V8.2.1")
def test_the_viewer_sees_no_revoke_button_on_the_user_page(make_user: Any, victim: SignInClient, alice: Any) -> None:
    viewer = _staff(make_user, "viewer", "view_authsession", "view_user")
    page = viewer.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert 'id="dualauth-user-sign-ins"' in page
    assert 'id="dualauth-revoke-all"' not in page


def _pasteable() -> Any:
    from hypothesis import strategies as st

    chars = st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, blacklist_categories=("Cs",))
    b64ish = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.", max_size=200)
    return st.one_of(st.text(chars, max_size=400), st.builds(lambda a, b, c: f"{a}.{b}.{c}", b64ish, b64ish, b64ish))


@pytest.mark.requirement("ASVS-V16.5.3")
def test_any_pasted_text_is_a_page_never_a_500(admin_user: Any, victim: SignInClient) -> None:
    """ASVS 5.0 V16.5.3: the token form treats whatever an administrator pastes as untrusted input, and fails
    gracefully."""
    from hypothesis import given

    browser = Client()
    browser.force_login(admin_user)

    @given(text=_pasteable())
    def paste(text: str) -> None:
        for button in ("_inspect", "_revoke"):
            response = browser.post("/admin/dualauth/authsession/revoke-token/", {"token": text, button: "1"})
            assert response.status_code in (200, 302), response.status_code

    paste()
    assert victim.get("/api/auth/me/").status_code == 200


def test_the_revoked_filter_lists_only_ended_sign_ins(admin: Client, alices: Any) -> None:
    from dualauth import services

    services.revoke(alices["browser"].session_id, "admin")
    assert _ids(admin.get(CHANGELIST, {"status": "revoked"})) == {alices["browser"].session_id}


def test_a_token_pasted_again_after_its_revocation_says_nothing_was_left(admin: Client, alices: Any) -> None:
    app = alices["app"]
    first = admin.post(REVOKE_TOKEN, {"token": app.refresh, "_revoke": "1"}, follow=True)
    assert "Revoked: the token is refused" in first.content.decode()
    again = admin.post(REVOKE_TOKEN, {"token": app.refresh, "_revoke": "1"}, follow=True)
    assert "Nothing to revoke: it had already ended." in again.content.decode()
    assert LogEntry.objects.filter(object_id=str(app.session_id)).count() == 1


def test_a_legacy_refresh_token_pasted_twice_is_blacklisted_once_and_logged(
    admin: Client, alices: Any, alice: Any
) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken

    legacy = SimpleRefreshToken.for_user(alice)  # simplejwt's own: no sign-in behind it
    first = admin.post(REVOKE_TOKEN, {"token": str(legacy), "_revoke": "1"}, follow=True)
    assert "Revoked: the token is refused" in first.content.decode()
    assert BlacklistedToken.objects.filter(token__jti=legacy["jti"]).exists()
    outstanding = OutstandingToken.objects.get(jti=legacy["jti"])
    assert LogEntry.objects.filter(object_id=str(outstanding.pk), change_message__contains="pasted").exists()
    again = admin.post(REVOKE_TOKEN, {"token": str(legacy), "_revoke": "1"}, follow=True)
    assert "Nothing to revoke: it had already ended." in again.content.decode()


def test_revoking_a_users_sign_ins_is_a_post_and_ending_none_logs_nothing(
    admin: Client, alices: Any, alice: Any
) -> None:
    url = f"/admin/auth/user/{alice.pk}/revoke-sign-ins/"
    assert admin.get(url).status_code == 405
    done = admin.post(url, {"post": "yes", "dualauth_listed": []}, follow=True)
    assert "Revoked 0 sign-in(s)." in done.content.decode()
    assert not LogEntry.objects.filter(object_id=str(alice.pk)).exists()
    assert all(c.get("/api/auth/me/").status_code == 200 for c in alices.values())


def test_staff_who_may_change_users_but_not_see_sign_ins_get_no_sign_ins_section(
    make_user: Any, alices: Any, alice: Any
) -> None:
    clerk = _staff(make_user, "clerk", "view_user", "change_user")
    page = clerk.get(f"/admin/auth/user/{alice.pk}/change/")
    assert page.status_code == 200
    assert 'id="dualauth-user-sign-ins"' not in page.content.decode()


def test_install_puts_the_screens_on_a_projects_own_admin_site(settings: Any) -> None:
    from django import forms
    from django.contrib import admin as django_admin
    from django.contrib.auth import admin as auth_admin
    from django.contrib.auth import get_user_model

    from dualauth.admin import AuthSessionAdmin, LoginForm, SignInsUserAdminMixin, install

    class ProjectLoginForm(LoginForm):
        pass

    class ProjectUserAdmin(auth_admin.UserAdmin):
        pass

    plain = django_admin.AdminSite(name="plain")
    plain.register(get_user_model(), auth_admin.UserAdmin)
    install(plain)
    assert plain.login_form is LoginForm
    assert isinstance(plain._registry[AuthSession], AuthSessionAdmin)
    assert isinstance(plain._registry[OutstandingToken], django_admin.ModelAdmin)
    assert isinstance(plain._registry[get_user_model()], SignInsUserAdminMixin)

    own = django_admin.AdminSite(name="own")
    own.login_form = ProjectLoginForm
    own.register(get_user_model(), ProjectUserAdmin)
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if "token_blacklist" not in app]
    install(own)
    assert own.login_form is ProjectLoginForm
    assert type(own._registry[get_user_model()]) is ProjectUserAdmin, "a project's own user admin is left alone"
    assert not own.is_registered(OutstandingToken)
    assert issubclass(ProjectLoginForm, forms.Form)
