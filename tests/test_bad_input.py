"""Input a new user would try by mistake (or an attacker on purpose): a JSON 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

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


@pytest.mark.parametrize("value", ["garbage", "", "a.b.c", 12, None, ["x"], {"a": 1}])
def test_garbage_refresh_tokens(client: APIClient, value: Any) -> None:
    response = client.post(REFRESH, {"refresh": value}, format="json")
    assert response.status_code in (400, 401)
    _assert_json_error(response, response.status_code)


def test_a_refresh_token_is_not_an_access_token_and_back(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    signer = SignInClient("header")
    signer.login("alice")
    client = APIClient()
    _assert_json_error(client.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {signer.refresh}"), 401)
    _assert_json_error(client.post(REFRESH, {"refresh": signer.access}, format="json"), 401)


def test_garbage_cookies_are_401_not_500(client: APIClient) -> None:
    client.cookies["dualauth_access"] = "garbage"
    _assert_json_error(client.get("/api/auth/me/"), 401)


def test_wrong_methods_are_405(client: APIClient) -> None:
    _assert_json_error(client.get(LOGIN), 405)
    _assert_json_error(client.put("/api/auth/logout/"), 405)


def test_logout_with_garbage_credentials_is_still_204(client: APIClient) -> None:
    response = client.post("/api/auth/logout/", {"refresh": "garbage"}, format="json", HTTP_AUTHORIZATION="Bearer x")
    assert response.status_code == 204


def test_logout_with_bad_json_is_400(client: APIClient) -> None:
    _assert_json_error(client.generic("POST", "/api/auth/logout/", b"{", content_type="application/json"), 400)


def test_sessions_endpoints_need_authentication(client: APIClient) -> None:
    _assert_json_error(client.get("/api/auth/sessions/"), 401)
    _assert_json_error(client.post("/api/auth/sessions/revoke-others/"), 401)
    _assert_json_error(client.delete("/api/auth/sessions/00000000-0000-0000-0000-000000000000/"), 401)
