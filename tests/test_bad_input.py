"""Input a new user would try by mistake (or an attacker on purpose): a JSON 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from dualauth.models import AuthSession

from .conftest import SignInClient

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/token/refresh/"


def _assert_json_error(response: Any, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["code"], str)
    assert body["code"]
    assert "Traceback" not in response.content.decode()
    return body  # type: ignore[no-any-return]


@pytest.fixture
def client(use_mode: Any) -> APIClient:
    use_mode("hybrid", HYBRID_DEFAULT_KIND="jwt", LOGIN_THROTTLE_RATE=None)
    return APIClient()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("", "application/json", 400),
        ("{not json", "application/json", 400),
        ("[]", "application/json", 400),
        ('"alice"', "application/json", 400),
        ("null", "application/json", 400),
        ('{"username": 1, "password": 2}', "application/json", 401),
        ('{"username": ["alice"], "password": {"x": 1}}', "application/json", 400),
        ('{"username": null, "password": null}', "application/json", 400),
        ('{"username": "alice"}', "application/json", 400),
        ('{"username": "alice", "password": "x", "kind": 7}', "application/json", 400),
        ("username=alice&password=alice", "application/x-www-form-urlencoded", 415),
        (b"\xff\xfe garbage", "application/json", 400),
    ],
)
def test_malformed_login_bodies(
    client: APIClient, alice: Any, body: str | bytes, content_type: str, status: int
) -> None:
    raw = body if isinstance(body, bytes) else body.encode()
    response = client.generic("POST", LOGIN, raw, content_type=content_type)
    _assert_json_error(response, status)


def test_field_errors_name_the_field(client: APIClient) -> None:
    body = _assert_json_error(client.post(LOGIN, {"username": "a" * 300, "password": "x"}, format="json"), 400)
    assert list(body["errors"]) == ["username"]
    body = _assert_json_error(client.post(LOGIN, {"username": "a", "password": "x" * 5000}, format="json"), 400)
    assert list(body["errors"]) == ["password"]


def test_huge_body_is_refused_as_json(client: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post(LOGIN, {"username": "a", "password": "x" * 4000}, format="json")
    _assert_json_error(response, 413)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer garbage",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.",
        "Bearer eyJhbGciOiJub25lIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.",
        "Bearer " + "A" * 100_000,
        "Bearer \u00e9\u00e9",
    ],
)
def test_garbage_bearer_tokens_are_401(client: APIClient, header: str) -> None:
    body = _assert_json_error(client.get("/api/auth/me/", HTTP_AUTHORIZATION=header), 401)
    assert body["code"] in ("token_not_valid", "not_authenticated")


def test_other_authorization_schemes_are_not_ours(client: APIClient) -> None:
    body = _assert_json_error(client.get("/api/auth/me/", HTTP_AUTHORIZATION="Basic YWxpY2U6YWxpY2U="), 401)
    assert body["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("value", "status"),
    [("garbage", 401), ("", 400), ("a.b.c", 401), ("x" * 10_000, 401), (12, 401), (None, 400), (["x"], 400), ({}, 400)],
)
def test_garbage_refresh_tokens(client: APIClient, value: Any, status: int) -> None:
    _assert_json_error(client.post(REFRESH, {"refresh": value}, format="json"), status)


def test_garbage_cookies_are_401_not_500(client: APIClient) -> None:
    client.cookies["dualauth_access"] = "garbage"
    _assert_json_error(client.get("/api/auth/me/"), 401)


@pytest.mark.parametrize("value", ["abc\x00defghijkl", "\x00" * 40, "caf\xe9" * 10, "a b c d e f g h"])
def test_session_cookies_no_engine_could_have_issued_are_no_session(alice: Any, use_mode: Any, value: str) -> None:
    """Found by the fuzz tests on PostgreSQL, which refuses NUL in a query: such a cookie is no session."""
    use_mode("hybrid")
    cookie = f"sessionid={value}"
    _assert_json_error(APIClient().get("/api/auth/me/", HTTP_COOKIE=cookie), 401)
    assert b"Not signed in" in APIClient().get("/", HTTP_COOKIE=cookie).content
    signer = SignInClient("session")
    signer.csrf()
    login = signer.post(
        "/api/auth/login/",
        {"username": "alice", "password": "alice"},
        HTTP_COOKIE=f"{cookie}; csrftoken={signer.client.cookies['csrftoken'].value}",
    )
    assert login.status_code == 200


def test_wrong_methods_are_405(client: APIClient) -> None:
    _assert_json_error(client.get(LOGIN), 405)
    _assert_json_error(client.put("/api/auth/logout/"), 405)


def test_logout_with_garbage_credentials_is_still_204(client: APIClient) -> None:
    response = client.post("/api/auth/logout/", {"refresh": "garbage"}, format="json", HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{", "application/json"), (b"bye", "text/plain"), (b"[" * 50_000, "application/json")],
)
def test_logout_with_an_unreadable_body_still_revokes(
    alice: Any, use_mode: Any, body: bytes, content_type: str
) -> None:
    use_mode("jwt")
    signer = SignInClient("header")
    signer.login("alice")
    response = signer.client.generic(
        "POST", "/api/auth/logout/", body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {signer.access}"
    )
    assert response.status_code == 204
    assert response.cookies["dualauth_access"].value == ""
    assert AuthSession.objects.get(pk=signer.session_id).revoked_reason == "logout"


@pytest.mark.parametrize("path", [LOGIN, REFRESH])
def test_deeply_nested_json_is_400(client: APIClient, path: str) -> None:
    body = b"[" * 50_000 + b"]" * 50_000
    _assert_json_error(client.generic("POST", path, body, content_type="application/json"), 400)


@pytest.mark.parametrize("username", [r"\ud800", r"\udfff\ud800x"])
def test_lone_surrogates_in_a_username_are_not_a_500(use_mode: Any, username: str) -> None:
    use_mode("jwt")
    body = ('{"username": "' + username + '", "password": "x"}').encode()
    response = APIClient().generic("POST", LOGIN, body, content_type="application/json")
    assert response.status_code in (400, 401)
    _assert_json_error(response, response.status_code)


def test_malformed_sign_in_id_is_a_json_404(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    signer = SignInClient("header")
    signer.login("alice")
    for bad in ("not-a-uuid", "1", "%00", "x" * 300):
        body = _assert_json_error(signer.delete(f"/api/auth/sessions/{bad}/"), 404)
        assert body["code"] == "not_found"


def test_sessions_endpoints_need_authentication(client: APIClient) -> None:
    _assert_json_error(client.get("/api/auth/sessions/"), 401)
    _assert_json_error(client.post("/api/auth/sessions/revoke-others/"), 401)
    _assert_json_error(client.delete("/api/auth/sessions/00000000-0000-0000-0000-000000000000/"), 401)


@pytest.mark.parametrize("flavour", ["session", "cookie"])
@pytest.mark.parametrize(
    ("path", "status"), [("/api/auth/logout/", 400), ("/api/auth/sessions/revoke-others/", 400), (LOGIN, 415)]
)
def test_a_multipart_body_without_a_boundary_is_a_json_4xx(
    alice: Any, use_mode: Any, flavour: str, path: str, status: int
) -> None:
    """The CSRF check reads the form body; a body Django cannot split must not become Django's HTML 400."""
    use_mode("hybrid", LOGIN_THROTTLE_RATE=None)
    signer = SignInClient(flavour)
    signer.login("alice")
    response = signer.client.generic(
        "POST", path, b"--x\r\n", content_type="multipart/form-data", HTTP_X_CSRFTOKEN=signer.csrf()
    )
    _assert_json_error(response, status)
    assert AuthSession.objects.get(pk=signer.session_id).revoked_at is None


def test_a_project_subclass_with_other_authentication_is_a_json_401_not_a_500(alice: Any, use_mode: Any) -> None:
    """A view subclassed with DRF's own session authentication has a user but no dualauth sign-in to describe."""
    import json

    from rest_framework.authentication import SessionAuthentication
    from rest_framework.test import APIRequestFactory, force_authenticate

    from dualauth.views import MeView

    use_mode("hybrid")
    view = type("ProjectMeView", (MeView,), {"authentication_classes": [SessionAuthentication]}).as_view()
    request = APIRequestFactory().get("/me/")
    force_authenticate(request, user=alice)
    response = view(request).render()
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "not_authenticated"


def test_a_projects_form_view_with_too_many_fields_gets_the_json_400(settings: Any) -> None:
    """docs/api.md: a project's own DRF views get the error shape through EXCEPTION_HANDLER; Django's
    TooManyFieldsSent (a SuspiciousOperation) becomes a 400 there, not an HTML page."""
    import json

    from rest_framework.parsers import FormParser
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    class FormView(APIView):
        parser_classes = [FormParser]
        permission_classes: list[Any] = []

        def post(self, request: Request) -> Response:
            return Response({"fields": len(request.data)})

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "EXCEPTION_HANDLER": "dualauth.errors.exception_handler"}
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"field{n}=x" for n in range(50))
    request = APIRequestFactory().post("/form/", body, content_type="application/x-www-form-urlencoded")
    response = FormView.as_view()(request).render()
    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "parse_error"
