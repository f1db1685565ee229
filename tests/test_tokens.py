"""Tokens carry `sid`, follow SIMPLE_JWT at call time, and are refused when forged, altered or misplaced."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from dualauth.models import AuthSession
from dualauth.tokens import AccessToken, RefreshToken

from .conftest import SignInClient
from .forge import b64, claims, forge, unsigned

pytestmark = pytest.mark.django_db


@pytest.fixture
def header_client(alice: Any, use_mode: Any) -> SignInClient:
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    return client


def test_both_tokens_carry_the_sid(header_client: SignInClient) -> None:
    assert AccessToken(header_client.access)["sid"] == header_client.session_id  # type: ignore[arg-type]
    assert RefreshToken(header_client.refresh)["sid"] == header_client.session_id  # type: ignore[arg-type]


def test_simple_jwt_overrides_reach_token_lifetimes(alice: Any, use_mode: Any, settings: Any) -> None:
    use_mode("jwt")
    settings.SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(seconds=30), "REFRESH_TOKEN_LIFETIME": timedelta(hours=2)}
    client = SignInClient("header")
    client.login("alice")
    now = time.time()
    assert abs(AccessToken(client.access)["exp"] - (now + 30)) < 5  # type: ignore[arg-type]
    assert abs(RefreshToken(client.refresh)["exp"] - (now + 7200)) < 5  # type: ignore[arg-type]


def test_signing_key_override_is_used(header_client: SignInClient, settings: Any) -> None:
    settings.SIMPLE_JWT = {"SIGNING_KEY": "another-key-that-is-long-enough-for-hs256-0123456789"}
    assert header_client.get("/api/auth/me/").status_code == 401


def test_legacy_tokens_are_adopted_only_when_enabled(alice: Any, use_mode: Any) -> None:
    from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefresh

    use_mode("jwt")
    legacy = SimpleRefresh.for_user(alice)
    client = SignInClient("header")
    client.access, client.refresh = str(legacy.access_token), str(legacy)
    assert client.get("/api/auth/me/").status_code == 401
    assert client.do_refresh().status_code == 401

    use_mode("jwt", ADOPT_LEGACY_TOKENS=True)
    client.access, client.refresh = str(legacy.access_token), str(legacy)
    assert client.get("/api/auth/me/").json()["session_id"] is None
    assert client.do_refresh().status_code == 200
    row = AuthSession.objects.get()
    assert AccessToken(client.access)["sid"] == str(row.pk)  # type: ignore[arg-type]
    client.access, client.refresh = str(legacy.access_token), str(legacy)
    assert client.do_refresh().status_code == 401  # the legacy refresh token was used up


def test_check_revocation_off_accepts_revoked_access_tokens(header_client: SignInClient, use_mode: Any) -> None:
    from dualauth import services

    other = SignInClient("header")
    other.login("alice")
    services.revoke(header_client.session_id, "admin")  # type: ignore[arg-type]
    use_mode("jwt", CHECK_REVOCATION=False)
    me = header_client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json()["session_id"] == header_client.session_id  # unchecked, but still known
    assert header_client.do_refresh().status_code == 401  # refresh always checks
    assert other.post("/api/auth/sessions/revoke-others/").json() == {"revoked": 0}
    assert other.do_refresh().status_code == 200


def test_extra_claims_hook(alice: Any, use_mode: Any) -> None:
    use_mode("jwt", TOKEN_CLAIMS_HOOK="tests.test_tokens.claims_hook")
    client = SignInClient("header")
    client.login("alice")
    access = AccessToken(client.access)  # type: ignore[arg-type]
    assert access["role"] == "reader"
    assert access["name"] == "alice", "the hook is given the user signing in"
    assert access["sid"] == client.session_id


def claims_hook(user: Any) -> dict:
    return {"role": "reader", "name": user.get_username(), "sid": "overridden?"}


# What a forged, altered or misplaced JWT meets (ASVS 5.0 V9, RFC 8725) -----------------------------------

ME = "/api/auth/me/"
ATTACKER_KEY = "an-attacker-chosen-hmac-key-that-is-long-enough-0123456789"


@pytest.fixture
def victim(alice: Any, use_mode: Any) -> SignInClient:
    use_mode("jwt")
    client = SignInClient("header")
    assert client.login("alice").status_code == 200
    return client


def _status(token: str) -> int:
    client = SignInClient("header")
    client.access = token
    return client.get(ME).status_code  # type: ignore[no-any-return]


def test_forged_token_with_the_server_key_is_accepted_control(victim: SignInClient) -> None:
    """Control: re-signing genuine claims with the real key works, so the refusals below are meaningful."""
    assert _status(forge(claims(victim.access))) == 200  # type: ignore[arg-type]


@pytest.mark.requirement("ASVS-V9.1.2", "RFC8725-3.1")
@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_casing_is_refused(victim: SignInClient, alg: str) -> None:
    """ASVS 5.0 V9.1.2 / RFC 8725 §3.1: only allow-listed algorithms; 'none' never."""
    assert _status(unsigned(claims(victim.access), alg)) == 401  # type: ignore[arg-type]


@pytest.mark.requirement("ASVS-V9.1.2", "RFC8725-3.1")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_an_algorithm_other_than_the_configured_one_is_refused(victim: SignInClient, algorithm: str) -> None:
    """RFC 8725 §3.1: the verifier pins the algorithm; even the right key under another one is refused."""
    assert _status(forge(claims(victim.access), algorithm=algorithm)) == 401  # type: ignore[arg-type]


@pytest.mark.requirement("ASVS-V9.1.2", "RFC8725-3.1", "CVE-2022-29217")
def test_no_key_confusion_between_hmac_and_rsa(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V9.1.2, RFC 8725 §2.1/§3.1 (CVE-2022-29217): the classic RS256-to-HS256 forgery fails.

    It is stopped by the pinned algorithm before PyJWT's own refusal of PEM keys as HMAC secrets.
    """
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings.SIMPLE_JWT = {"ALGORITHM": "RS256", "SIGNING_KEY": private_pem, "VERIFYING_KEY": public_pem}
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    assert client.get(ME).status_code == 200
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims(client.access))}"  # type: ignore[arg-type]
    mac = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert _status(f"{signing_input}.{b64(mac)}") == 401


@pytest.mark.requirement("ASVS-V9.1.1")
def test_signature_tampering_is_refused(victim: SignInClient) -> None:
    """ASVS 5.0 V9.1.1: the signature is verified before the token is trusted."""
    head, body, signature = victim.access.split(".")  # type: ignore[union-attr]
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert _status(f"{head}.{body}.{flipped}") == 401


@pytest.mark.requirement("ASVS-V9.1.1")
def test_payload_tampering_is_refused(victim: SignInClient, bob: Any) -> None:
    """ASVS 5.0 V9.1.1: a changed claim under the original signature is refused."""
    head, _body, signature = victim.access.split(".")  # type: ignore[union-attr]
    altered = {**claims(victim.access), "user_id": str(bob.pk)}  # type: ignore[arg-type]
    assert _status(f"{head}.{b64(altered)}.{signature}") == 401


@pytest.mark.requirement("DA-TOKEN-SID")
def test_sid_must_name_a_live_sign_in_of_the_same_user(victim: SignInClient, bob: Any) -> None:
    """dualauth's own rule: a validly signed token whose sid is missing, unknown, malformed or another user's fails."""
    genuine = claims(victim.access)  # type: ignore[arg-type]
    without_sid = {k: v for k, v in genuine.items() if k != "sid"}
    assert _status(forge(without_sid)) == 401
    assert _status(forge({**genuine, "sid": str(uuid.uuid4())})) == 401
    assert _status(forge({**genuine, "sid": "not-a-uuid"})) == 401
    assert _status(forge({**genuine, "sid": 12})) == 401
    assert _status(forge({**genuine, "user_id": str(bob.pk)})) == 401


@pytest.mark.requirement("ASVS-V9.2.1", "RFC7519-4.1.4")
def test_expired_tokens_are_refused_beyond_the_bounded_leeway(victim: SignInClient, settings: Any) -> None:
    """ASVS 5.0 V9.2.1 / RFC 7519 §4.1.4: exp is enforced; leeway only forgives the configured seconds."""
    genuine = claims(victim.access)  # type: ignore[arg-type]
    now = int(time.time())
    assert _status(forge({**genuine, "exp": now - 30})) == 401
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "LEEWAY": 60}
    assert _status(forge({**genuine, "exp": now - 30})) == 200
    assert _status(forge({**genuine, "exp": now - 90})) == 401
    settings.SIMPLE_JWT = {"ACCESS_TOKEN_LIFETIME": timedelta(seconds=-1)}
    issued_expired = SignInClient("header")
    issued_expired.login("alice")
    assert issued_expired.get(ME).status_code == 401


@pytest.mark.requirement("ASVS-V9.2.1")
def test_not_yet_valid_tokens_are_refused(victim: SignInClient) -> None:
    """ASVS 5.0 V9.2.1: nbf and iat in the future mean "not yet"."""
    genuine = claims(victim.access)  # type: ignore[arg-type]
    future = int(time.time()) + 600
    assert _status(forge({**genuine, "nbf": future})) == 401
    assert _status(forge({**genuine, "iat": future})) == 401


@pytest.mark.requirement("ASVS-V9.2.3", "RFC8725-3.8", "RFC8725-3.9", "CVE-2024-53861")
def test_audience_and_issuer_are_exact_when_configured(alice: Any, use_mode: Any, settings: Any) -> None:
    """ASVS 5.0 V9.2.3, RFC 8725 §3.8/§3.9 (CVE-2024-53861): iss and aud match exactly, no sub- or superstring."""
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "AUDIENCE": "notes-api", "ISSUER": "https://auth.example.com"}
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    assert client.get(ME).status_code == 200
    genuine = claims(client.access)  # type: ignore[arg-type]
    for changes in (
        {"aud": "notes-api-2"},
        {"aud": "notes"},
        {"aud": ["other"]},
        {"iss": "https://auth.example.com.evil.test"},
        {"iss": "https://auth.example"},
        {"iss": "auth.example.com"},
    ):
        assert _status(forge({**genuine, **changes})) == 401, changes
    assert _status(forge({k: v for k, v in genuine.items() if k != "iss"})) == 401


@pytest.mark.requirement("ASVS-V9.2.1")
@pytest.mark.parametrize("value", ["tomorrow", None, [1], {"t": 1}, 1e400])
def test_malformed_time_claims_are_refused(victim: SignInClient, value: Any) -> None:
    """ASVS 5.0 V9.2.1: a time claim that is not a number is not a time claim."""
    genuine = claims(victim.access)  # type: ignore[arg-type]
    for claim in ("exp", "nbf", "iat"):
        assert _status(forge({**genuine, claim: value})) == 401, claim


@pytest.mark.requirement("ASVS-V9.2.2", "RFC8725-3.12")
def test_token_types_are_not_interchangeable(victim: SignInClient) -> None:
    """ASVS 5.0 V9.2.2, RFC 8725 §2.8/§3.12: a refresh token is not an access token, and back; each refusal is
    the API's JSON error."""
    as_access = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {victim.refresh}")
    genuine = claims(victim.access)  # type: ignore[arg-type]
    for token_type in ("refresh", "sliding", "", None):
        assert _status(forge({**genuine, "token_type": token_type})) == 401
    assert _status(forge({k: v for k, v in genuine.items() if k != "token_type"})) == 401
    as_refresh = SignInClient("header").post("/api/auth/token/refresh/", {"refresh": victim.access})
    for response in (as_access, as_refresh):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response.json()["code"] == "token_not_valid"
        assert isinstance(response.json()["detail"], str)
        assert response.json()["detail"]


@pytest.mark.requirement("ASVS-V9.1.3", "RFC8725-3.10")
def test_key_location_header_parameters_are_ignored(victim: SignInClient) -> None:
    """ASVS 5.0 V9.1.3, RFC 8725 §3.10: jku, jwk, x5u and kid (RFC 7515 §4.1) never choose the verification key."""
    genuine = claims(victim.access)  # type: ignore[arg-type]
    attacker_jwk = {"kty": "oct", "k": b64(ATTACKER_KEY.encode())}
    tricks: list[dict[str, Any]] = [
        {"jku": "http://127.0.0.1:9/jwks.json"},
        {"x5u": "http://127.0.0.1:9/cert.pem"},
        {"jwk": attacker_jwk},
        {"kid": "../../../../dev/null"},
        {"kid": "' OR '1'='1"},
    ]
    for headers in tricks:
        assert _status(forge(genuine, key=ATTACKER_KEY, headers=headers)) == 401, headers
        assert _status(forge(genuine, headers=headers)) == 200, headers  # ignored: the server key still rules


@pytest.mark.requirement("RFC7515-7.1")
@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d.e",
        "....",
        "e30.e30.",
        '{"payload": "e30", "signatures": []}',
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        "=.=.=",
        "Zm9v.YmFy.YmF6",
    ],
)
def test_malformed_serializations_are_refused(token: str) -> None:
    """RFC 7515 §7.1: only the compact serialization of three base64url parts is accepted."""
    assert _status(token) == 401


@pytest.mark.requirement("CWE-400")
def test_absurdly_large_tokens_are_refused_before_parsing(
    victim: SignInClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CWE-400 resource exhaustion (cf. ASVS 5.0 V3.3.5's 4 KiB cookie bound): size is checked before decoding."""
    import jwt

    calls = []
    real_decode = jwt.api_jws.PyJWS._load

    def counting_load(self: Any, jwt_input: Any) -> Any:
        calls.append(len(jwt_input))
        return real_decode(self, jwt_input)

    monkeypatch.setattr(jwt.api_jws.PyJWS, "_load", counting_load)
    assert _status(victim.access + "A" * 1_000_000) == 401  # type: ignore[operator]
    assert calls == []
    assert _status(victim.access) == 200  # type: ignore[arg-type]
    assert calls


def test_access_tokens_are_short_lived_by_default(victim: SignInClient) -> None:
    """ASVS 5.0 V9.2.1: an access token's life is short (5 minutes here) and capped by its sign-in."""
    genuine = claims(victim.access)  # type: ignore[arg-type]
    assert genuine["exp"] - genuine["iat"] <= timedelta(minutes=5).total_seconds()


@pytest.mark.requirement("ASVS-V9.2.1")
@pytest.mark.parametrize("value", [10**30, -(10**30), 2**63, "10"])
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claims_out_of_range_signed_with_the_real_key_are_a_401_everywhere(
    victim: SignInClient, claim: str, value: Any
) -> None:
    """Only a holder of the signing key can make one; still a 401 (never a 500) on every door that reads tokens."""
    access, refresh = claims(victim.access), claims(victim.refresh)  # type: ignore[arg-type]
    assert _status(forge({**access, claim: value})) == 401
    client = SignInClient("header")
    client.refresh = forge({**refresh, claim: value})
    assert client.do_refresh().status_code == 401
    assert client.post("/api/auth/logout/", {"refresh": client.refresh}).status_code in (204, 401)
    plain = SignInClient("header")
    plain.access = forge({**access, claim: value})
    assert b"Not signed in" in plain.get("/").content


def test_every_route_to_a_tokens_backend_is_the_one_simple_jwt_names_now(settings: Any) -> None:
    """simplejwt builds its backend at import; ours is read per call, by either name simplejwt uses."""
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ALGORITHM": "HS512"}
    for token in (AccessToken(), RefreshToken()):
        assert token.token_backend.algorithm == token.get_token_backend().algorithm == "HS512"
