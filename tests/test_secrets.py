"""Secrets at rest and in sight (ASVS 5.0 V16.2.5, V14.2.6): never logged, never answered, not stored raw."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter, get_default_exception_reporter_filter
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from dualauth import services

from .conftest import SignInClient

pytestmark = pytest.mark.django_db


def _flow(alice: Any, use_mode: Any) -> tuple[list[str], SignInClient]:
    """Every event dualauth logs, with the secrets it handled along the way."""
    use_mode("hybrid")
    session, header, cookie = SignInClient("session"), SignInClient("header"), SignInClient("cookie")
    session.login("alice")
    header.login("alice", kind="jwt")
    cookie.login("alice", kind="jwt")
    stolen = header.refresh
    header.do_refresh()
    thief = SignInClient("header")
    thief.refresh = stolen
    thief.do_refresh()  # re-use
    SignInClient("header").login("alice", "wrong", kind="jwt")
    cookie.do_refresh()
    services.revoke(session.session_id, "admin")  # type: ignore[arg-type]
    secrets = [
        stolen,
        header.access,
        header.refresh,
        session.client.cookies["sessionid"].value,
        cookie.client.cookies["dualauth_access"].value,
        cookie.client.cookies["dualauth_refresh"].value,
        "alice",  # the password
    ]
    return [s for s in secrets if s], header


@pytest.mark.requirement("ASVS-V16.2.5")
def test_no_token_session_key_or_password_is_ever_logged(
    alice: Any, use_mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """ASVS 5.0 V16.2.5: logs name sign-ins by id, never by the secret that carries them."""
    caplog.set_level(logging.DEBUG)
    secrets, _ = _flow(alice, use_mode)
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert logged
    for secret in secrets[:-1]:
        assert secret not in logged
    assert "password" not in logged.lower()


@pytest.mark.requirement("ASVS-V16.3.1")
def test_authentication_events_are_logged_under_dualauth(
    alice: Any, use_mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """ASVS 5.0 V16.3.1 (security logging): sign-ins, failures, re-use and revocations leave a trail in `dualauth`."""
    caplog.set_level(logging.INFO, logger="dualauth")
    _flow(alice, use_mode)
    messages = [r.getMessage() for r in caplog.records if r.name == "dualauth"]
    assert any("sign-in" in m and "started" in m for m in messages)
    assert any("failed login" in m for m in messages)
    assert any("re-used" in m for m in messages)
    assert any("revoked (admin)" in m for m in messages)
    assert any("revoked (refresh_reuse)" in m for m in messages)


@pytest.mark.requirement("ASVS-V14.2.6")
def test_api_answers_never_carry_session_keys_or_token_ids(alice: Any, use_mode: Any) -> None:
    """ASVS 5.0 V14.2.6 (minimisation): the sign-in list shows ids and metadata, not what authenticates."""
    secrets, header = _flow(alice, use_mode)
    listing = header.get("/api/auth/sessions/")
    me = header.get("/api/auth/me/")
    text = listing.content.decode() + me.content.decode()
    for secret in secrets[:-1]:
        assert secret not in text
    for field in ("session_key", "refresh_jti", "jti", "revoked_reason"):
        assert field not in text


@pytest.mark.requirement("DA-TOKEN-STORAGE")
def test_outstanding_tokens_are_stored_without_their_text(alice: Any, use_mode: Any) -> None:
    """A database leak of simplejwt's outstanding-token table must not hand out live refresh tokens."""
    _flow(alice, use_mode)
    assert OutstandingToken.objects.exists()
    stored = set(OutstandingToken.objects.values_list("token", flat=True))
    assert all(text.startswith("sid:") and "." not in text for text in stored)  # the sign-in's id, never a JWT


# Error reports (ASVS 5.0 V16.2.5): the 500 page with DEBUG on, the e-mails of AdminEmailHandler ----------

PASSWORD = "Correct-Horse-Battery-Staple-9"


def _reports(caplog: pytest.LogCaptureFixture) -> str:
    """Django's error reports (HTML and text, as AdminEmailHandler sends them) of every 500 logged."""
    texts = []
    for record in caplog.records:
        if record.name == "django.request" and record.exc_info:
            reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)  # type: ignore[attr-defined]
            texts += [reporter.get_traceback_html(), reporter.get_traceback_text()]
    assert texts, "no error was reported"
    return "\n".join(texts)


def _failing(monkeypatch: Any, target: Any, name: str) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a failure deep inside")

    monkeypatch.setattr(target, name, fail)


@pytest.mark.requirement("ASVS-V16.2.5")
@pytest.mark.parametrize("flavour", ["session", "header", "cookie"])
def test_a_failure_inside_login_reports_no_password(
    make_user: Any, use_mode: Any, monkeypatch: Any, caplog: pytest.LogCaptureFixture, flavour: str
) -> None:
    use_mode("hybrid")
    make_user("alice", password=PASSWORD)
    _failing(monkeypatch, services, "sign_in")
    client = SignInClient(flavour)
    client.client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.login("alice", PASSWORD).status_code == 500
    assert PASSWORD not in _reports(caplog)


@pytest.mark.requirement("ASVS-V16.2.5")
@pytest.mark.parametrize("flavour", ["header", "cookie"])
@pytest.mark.parametrize("path", ["/api/auth/token/refresh/", "/api/auth/logout/"])
def test_a_failure_inside_refresh_or_logout_reports_no_token(
    alice: Any, use_mode: Any, monkeypatch: Any, caplog: pytest.LogCaptureFixture, flavour: str, path: str
) -> None:
    use_mode("hybrid")
    client = SignInClient(flavour)
    assert client.login("alice").status_code == 200
    secrets = [client.access, client.refresh, *(m.value for m in client.client.cookies.values())]
    _failing(monkeypatch, services, "refresh" if "refresh" in path else "log_out")
    client.client.raise_request_exception = False
    body = {"refresh": client.refresh} if flavour == "header" else {}
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.post(path, body).status_code == 500
    report = _reports(caplog)
    assert not [secret for secret in secrets if secret and len(secret) > 20 and secret in report]


@pytest.mark.requirement("ASVS-V16.2.5")
def test_a_failure_inside_a_session_logout_reports_no_session_key(
    alice: Any, use_mode: Any, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use_mode("session")
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    key = client.client.cookies["sessionid"].value
    _failing(monkeypatch, services, "log_out")
    client.client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.post("/api/auth/logout/").status_code == 500
    assert key not in _reports(caplog)


@pytest.mark.requirement("ASVS-V16.2.5")
def test_a_failure_inside_a_password_view_reports_no_password(
    make_user: Any, use_mode: Any, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The password change of the suite's project (tests/project/): a project's own view marked as the docs say."""
    from django.contrib.auth.models import User

    use_mode("hybrid")
    make_user("alice", password=PASSWORD)
    client = SignInClient("header")
    assert client.login("alice", PASSWORD).status_code == 200
    _failing(monkeypatch, User, "set_password")
    client.client.raise_request_exception = False
    new = "An-Even-Better-Passphrase-10"
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = client.post("/api/account/password/", {"old_password": PASSWORD, "new_password": new})
    assert answer.status_code == 500
    report = _reports(caplog)
    assert PASSWORD not in report
    assert new not in report


@pytest.mark.requirement("ASVS-V16.2.5")
def test_any_view_failing_reports_no_token_cookie(alice: Any, use_mode: Any, caplog: pytest.LogCaptureFixture) -> None:
    """dualauth's cookies carry live tokens under names Django's filter need not know ("at" and "rt" here; the
    default names contain AUTH, which Django's filter happens to hide); every request hides them."""
    use_mode("hybrid", ACCESS_COOKIE="at", REFRESH_COOKIE="rt")
    client = SignInClient("cookie")
    assert client.login("alice").status_code == 200
    tokens = [client.client.cookies[name].value for name in ("at", "rt")]
    client.client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.get("/boom/").status_code == 500
    report = _reports(caplog)
    assert not [token for token in tokens if token in report]


@pytest.mark.requirement("ASVS-V16.2.5")
def test_a_failure_inside_the_admins_revoke_a_token_screen_reports_no_token(
    alice: Any, make_user: Any, use_mode: Any, monkeypatch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django.test import Client

    use_mode("hybrid")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    make_user("admin", is_staff=True, is_superuser=True)
    admin = Client(raise_request_exception=False)
    admin.login(username="admin", password="admin")
    _failing(monkeypatch, services, "inspect_token")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = admin.post("/admin/dualauth/authsession/revoke-token/", {"token": client.refresh})
    assert answer.status_code == 500
    assert client.refresh not in _reports(caplog)  # type: ignore[operator]


@pytest.mark.requirement("ASVS-V16.2.5")
def test_renamed_csrf_cookie_and_jwt_header_stay_out_of_reports(
    alice: Any, use_mode: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    use_mode("hybrid")
    settings.CSRF_COOKIE_NAME = "csrf"
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "AUTH_HEADER_NAME": "HTTP_X_JWT"}
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    client.client.raise_request_exception = False
    client.client.cookies["csrf"] = "a-csrf-secret-of-thirty-two-chars"
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.client.get("/boom/", HTTP_X_JWT=f"Bearer {client.access}").status_code == 500
    report = _reports(caplog)
    assert client.access not in report  # type: ignore[operator]
    assert "a-csrf-secret-of-thirty-two-chars" not in report


@pytest.mark.requirement("ASVS-V16.2.5")
def test_a_database_failure_while_reading_the_session_reports_no_session_key(
    alice: Any, use_mode: Any, caplog: pytest.LogCaptureFixture, settings: Any
) -> None:
    from django.db import OperationalError, connection

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    use_mode("session")
    client = SignInClient("session")
    assert client.login("alice").status_code == 200
    key = client.client.cookies["sessionid"].value
    client.client.raise_request_exception = False

    def database_down(*args: Any) -> Any:
        raise OperationalError("could not connect to server")

    with caplog.at_level(logging.ERROR, logger="django.request"), connection.execute_wrapper(database_down):
        assert client.get("/api/auth/sessions/").status_code == 500
    assert key not in _reports(caplog)


class PartnerFilter(SafeExceptionReporterFilter):
    """A project's own filter: it hides a header of its own that Django's filter would show."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if key == "HTTP_X_PARTNER":
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)


@pytest.fixture
def project_filter(settings: Any) -> Any:
    """``DEFAULT_EXCEPTION_REPORTER_FILTER`` changed after a report was made under Django's own filter."""
    get_default_exception_reporter_filter()  # Django's own, cached as in any process that reported before
    get_default_exception_reporter_filter.cache_clear()  # Django keeps it across a setting change otherwise
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "tests.test_secrets.PartnerFilter"
    yield
    get_default_exception_reporter_filter.cache_clear()


@pytest.mark.requirement("ASVS-V16.2.5")
def test_the_projects_own_filter_keeps_hiding_what_it_hides(
    alice: Any, use_mode: Any, project_filter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """dualauth's filter is built on the project's, so both hide what each knows of."""
    use_mode("hybrid", ACCESS_COOKIE="at", REFRESH_COOKIE="rt")
    client = SignInClient("cookie")
    assert client.login("alice").status_code == 200
    tokens = [client.client.cookies[name].value for name in ("at", "rt")]
    client.client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.client.get("/boom/", HTTP_X_PARTNER="a-partner-secret-of-32-characters").status_code == 500
    report = _reports(caplog)
    assert "HTTP_X_PARTNER" in report
    assert "a-partner-secret-of-32-characters" not in report
    assert not [token for token in tokens if token in report]
