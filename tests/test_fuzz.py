"""Property tests: whatever arrives in a header, a cookie or a body, never a 5xx and never signed in.

Run longer with ``HYPOTHESIS_PROFILE=long make test``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from .conftest import SignInClient
from .forge import b64, claims

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("mode", ["session", "jwt", "hybrid"])]

# What a WSGI server can hand Django: header values are latin-1 strings.
latin1 = st.text(alphabet=st.characters(min_codepoint=0x00, max_codepoint=0xFF), max_size=300)
b64ish = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.", max_size=200)
jwt_shaped = st.builds(lambda a, b, c: f"{a}.{b}.{c}", b64ish, b64ish, b64ish)
token_like = st.one_of(latin1, b64ish, jwt_shaped)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
)
login_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"username": json_values, "password": json_values},
        optional={"kind": json_values, "transport": json_values},
    ),
)


@pytest.fixture
def site(alice: Any, use_mode: Any, mode: str) -> APIClient:
    use_mode(mode, LOGIN_THROTTLE_RATE=None)
    alice.set_password("a long password no fuzzer will find 7f3a9c")
    alice.save()
    return APIClient()


def _never_in(response: Any) -> None:
    assert response.status_code < 500, response.content
    assert response.status_code != 200, response.content


@pytest.mark.requirement("ASVS-V9.1.1")
@given(value=token_like, scheme=st.sampled_from(["Bearer ", "bearer ", "Bearer  ", "", "JWT ", "Basic "]))
def test_any_authorization_header(site: APIClient, value: str, scheme: str) -> None:
    """ASVS 5.0 V9.1.1: whatever the header says, only a genuine token signs in."""
    _never_in(site.get("/api/auth/me/", HTTP_AUTHORIZATION=scheme + value))
    assert b"Signed in as" not in site.get("/", HTTP_AUTHORIZATION=scheme + value).content


@pytest.mark.requirement("ASVS-V7.2.1")
@given(name=st.sampled_from(["dualauth_access", "dualauth_refresh", "sessionid", "csrftoken"]), value=latin1)
@example(name="sessionid", value="abcdefgh\x00")  # PostgreSQL refuses NUL in a query: found here once
def test_any_credential_cookie(site: APIClient, name: str, value: str) -> None:
    """ASVS 5.0 V7.2.1: only ids and tokens the server issued are honoured, however the cookie is written."""
    header = f"{name}={value}"
    _never_in(site.get("/api/auth/me/", HTTP_COOKIE=header))
    _never_in(site.post("/api/auth/token/refresh/", {}, format="json", HTTP_COOKIE=header))
    assert b"Signed in as" not in site.get("/", HTTP_COOKIE=header).content


@pytest.mark.requirement("ASVS-V16.5.3")
@given(body=login_bodies)
def test_any_login_body(site: APIClient, body: Any) -> None:
    """Bad input gets a 4xx: any JSON document at login is answered, and signs nobody in."""
    _never_in(site.post("/api/auth/login/", body, format="json"))


@pytest.mark.requirement("ASVS-V16.5.3")
@given(raw=st.binary(max_size=400))
def test_any_login_bytes(site: APIClient, raw: bytes) -> None:
    _never_in(site.generic("POST", "/api/auth/login/", raw, content_type="application/json"))


@pytest.mark.requirement("ASVS-V16.5.3")
@given(
    body=st.one_of(json_values, st.fixed_dictionaries({"refresh": json_values}), st.builds(dict, refresh=token_like))
)
def test_any_refresh_body(site: APIClient, body: Any) -> None:
    _never_in(site.post("/api/auth/token/refresh/", body, format="json"))


@pytest.mark.requirement("ASVS-V9.1.1")
@given(claim=st.sampled_from(["user_id", "sid", "exp", "jti", "token_type", "iat"]), value=json_values)
def test_a_real_token_with_any_claim_changed(site: APIClient, mode: str, claim: str, value: Any) -> None:
    """ASVS 5.0 V9.1.1: a genuine signature does not carry over to altered claims."""
    if mode == "session":
        return
    signer = SignInClient("header")
    signer.login("alice", "a long password no fuzzer will find 7f3a9c", kind="jwt")
    head, _body, signature = signer.access.split(".")  # type: ignore[union-attr]
    payload = claims(signer.access)  # type: ignore[arg-type]
    if payload.get(claim) == value:
        return
    payload[claim] = value
    altered = f"{head}.{b64(json.dumps(payload).encode())}.{signature}"
    _never_in(site.get("/api/auth/me/", HTTP_AUTHORIZATION=f"Bearer {altered}"))
