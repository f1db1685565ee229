"""The OpenAPI schema drf-spectacular builds with dualauth's extensions (``dualauth.openapi``), and life without it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import URLPattern

from dualauth import urls as dualauth_urls

PREFIX = "/api/auth/"
ERROR_REF = "#/components/schemas/DualauthError"
AUTHENTICATED = {("/api/auth/me/", "get"), ("/api/auth/sessions/", "get")}
AUTHENTICATED_UNSAFE = {("/api/auth/sessions/{id}/", "delete"), ("/api/auth/sessions/revoke-others/", "post")}
# The refusals each operation can give in hybrid mode with both transports (the test settings).
ERRORS = {
    ("/api/auth/login/", "post"): {"400", "401", "403", "429"},
    ("/api/auth/logout/", "post"): {"400", "403", "503"},
    ("/api/auth/token/refresh/", "post"): {"400", "401", "403"},
    ("/api/auth/me/", "get"): {"401"},
    ("/api/auth/sessions/", "get"): {"401"},
    ("/api/auth/sessions/{id}/", "delete"): {"401", "403", "404"},
    ("/api/auth/sessions/revoke-others/", "post"): {"400", "401", "403"},
    ("/api/auth/csrf/", "get"): set(),
}


def generate(tmp_path: Path) -> dict[str, Any]:
    """The suite's project's schema (tests/urls.py), validated against the OpenAPI spec; any spectacular warning
    fails it."""
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    return json.loads(out.read_text())  # type: ignore[no-any-return]


@pytest.fixture
def schema(tmp_path: Path) -> dict[str, Any]:
    return generate(tmp_path)


def dualauth_routes() -> dict[str, set[str]]:
    """Every route of ``dualauth.urls`` as the schema spells it, with the methods its view answers."""
    routes = {}
    for pattern in dualauth_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        view = pattern.callback.cls  # type: ignore[attr-defined]
        path = PREFIX + re.sub(r"<(?:\w+:)?pk>", "{id}", str(pattern.pattern))
        routes[path] = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
    return routes


def test_every_dualauth_route_is_described_with_its_methods(schema: dict[str, Any]) -> None:
    routes = dualauth_routes()
    assert len(routes) == len(dualauth_urls.urlpatterns) == 8
    for path, methods in routes.items():
        assert path in schema["paths"], path
        assert set(schema["paths"][path]) == methods, path
        for method in methods:
            operation = schema["paths"][path][method]
            assert operation["operationId"].startswith("dualauth_")
            assert operation["tags"] == ["auth"]


def test_request_and_response_bodies(schema: dict[str, Any]) -> None:
    paths, components = schema["paths"], schema["components"]["schemas"]

    def body(path: str, method: str, status: str) -> Any:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    login = paths["/api/auth/login/"]["post"]
    assert login["requestBody"]["required"] is True
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/DualauthLoginRequest")
    assert set(components["DualauthLoginRequest"]["required"]) == {"username", "password"}
    assert set(components["DualauthLoginRequest"]["properties"]) == {"username", "password", "kind", "transport"}
    assert body("/api/auth/login/", "post", "200")["$ref"].endswith("/DualauthLogin")
    # Hybrid mode: a session login has no token fields, a cookie-transport one no tokens in the body.
    assert set(components["DualauthLogin"]["required"]) == {"user", "kind", "session_id"}
    assert {"access", "refresh", "access_expires_at", "refresh_expires_at"} <= set(
        components["DualauthLogin"]["properties"]
    )
    assert set(components["DualauthTokens"]["required"]) == {"access_expires_at", "refresh_expires_at"}
    assert components["DualauthUser"]["properties"]["id"]["type"] == "integer"

    assert list(paths["/api/auth/logout/"]["post"]["responses"]) == ["204", "400", "403", "503"]
    assert "content" not in paths["/api/auth/logout/"]["post"]["responses"]["204"]
    assert body("/api/auth/me/", "get", "200")["$ref"].endswith("/DualauthMe")
    assert body("/api/auth/sessions/", "get", "200")["items"]["$ref"].endswith("/DualauthSignIn")
    assert set(components["DualauthSignIn"]["properties"]) == {
        "id",
        "kind",
        "ip",
        "user_agent",
        "device",
        "created_at",
        "last_seen_at",
        "expires_at",
        "current",
    }
    delete = paths["/api/auth/sessions/{id}/"]["delete"]
    assert "content" not in delete["responses"]["204"]
    assert delete["parameters"] == [
        {
            "in": "path",
            "name": "id",
            "schema": {"type": "string", "format": "uuid"},
            "description": "A sign-in's id.",
            "required": True,
        }
    ]
    revoked = body("/api/auth/sessions/revoke-others/", "post", "200")
    assert components[revoked["$ref"].rsplit("/", 1)[1]]["properties"]["revoked"]["type"] == "integer"
    assert "requestBody" not in paths["/api/auth/sessions/revoke-others/"]["post"]
    assert body("/api/auth/csrf/", "get", "200")["$ref"].endswith("/DualauthCsrf")


def test_every_refusal_refers_to_the_error_component(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["DualauthError"]
    assert set(error["required"]) == {"detail", "code"}
    assert error["properties"]["errors"]["additionalProperties"]["items"] == {"type": "string"}
    for (path, method), expected in ERRORS.items():
        responses = schema["paths"][path][method]["responses"]
        refusals = {status for status in responses if status.startswith(("4", "5"))}
        assert refusals == expected, (path, method)
        for status in refusals:
            assert responses[status]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    login = schema["paths"]["/api/auth/login/"]["post"]["responses"]
    assert login["429"]["headers"]["Retry-After"]["required"] is True
    logout = schema["paths"]["/api/auth/logout/"]["post"]["responses"]
    assert logout["503"]["headers"]["Retry-After"]["required"] is True


def test_security_schemes_in_hybrid_mode(schema: dict[str, Any], settings: Any) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes == {
        "dualauthBearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": schemes["dualauthBearer"]["description"],
        },
        "dualauthAccessCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": "dualauth_access",
            "description": schemes["dualauthAccessCookie"]["description"],
        },
        "dualauthRefreshCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": "dualauth_refresh",
            "description": schemes["dualauthRefreshCookie"]["description"],
        },
        "dualauthSessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": schemes["dualauthSessionCookie"]["description"],
        },
        "dualauthCsrf": {
            "type": "apiKey",
            "in": "header",
            "name": "X-CSRFToken",
            "description": schemes["dualauthCsrf"]["description"],
        },
    }
    for path, method in AUTHENTICATED:
        assert schema["paths"][path][method]["security"] == [
            {"dualauthBearer": []},
            {"dualauthAccessCookie": []},
            {"dualauthSessionCookie": []},
        ], path
    for path, method in AUTHENTICATED_UNSAFE:
        assert schema["paths"][path][method]["security"] == [
            {"dualauthBearer": []},
            {"dualauthAccessCookie": [], "dualauthCsrf": []},
            {"dualauthSessionCookie": [], "dualauthCsrf": []},
        ], path
    # Public endpoints: a credential is optional ({}), and one carried by a cookie needs the CSRF token.
    assert schema["paths"]["/api/auth/login/"]["post"]["security"] == [{"dualauthCsrf": []}, {}]
    assert schema["paths"]["/api/auth/token/refresh/"]["post"]["security"] == [
        {"dualauthRefreshCookie": [], "dualauthCsrf": []},
        {},
    ]
    assert schema["paths"]["/api/auth/logout/"]["post"]["security"][-1] == {}
    assert schema["paths"]["/api/auth/csrf/"]["get"]["security"] == [{}]


def test_the_schema_follows_the_mode(tmp_path: Path, use_mode: Any) -> None:
    use_mode("jwt", ACCESS_COOKIE="at", REFRESH_COOKIE="rt")
    jwt = generate(tmp_path)
    schemes = jwt["components"]["securitySchemes"]
    assert set(schemes) == {"dualauthBearer", "dualauthAccessCookie", "dualauthRefreshCookie", "dualauthCsrf"}
    assert (schemes["dualauthAccessCookie"]["name"], schemes["dualauthRefreshCookie"]["name"]) == ("at", "rt")
    assert set(jwt["components"]["schemas"]["DualauthLogin"]["required"]) >= {"access_expires_at"}

    use_mode("jwt", JWT_TRANSPORTS=["header"])
    header_only = generate(tmp_path)
    assert set(header_only["components"]["securitySchemes"]) == {"dualauthBearer"}
    assert header_only["paths"]["/api/auth/sessions/revoke-others/"]["post"]["security"] == [{"dualauthBearer": []}]
    assert "403" not in header_only["paths"]["/api/auth/sessions/revoke-others/"]["post"]["responses"]
    login = header_only["components"]["schemas"]
    assert set(login["DualauthLogin"]["required"]) >= {"access", "refresh"}
    assert login["DualauthLoginRequest"]["properties"]["transport"]["allOf"][0]["$ref"].endswith("TransportEnum")
    assert header_only["components"]["schemas"]["TransportEnum"]["enum"] == ["header"]

    use_mode("session")
    session = generate(tmp_path)
    assert set(session["components"]["securitySchemes"]) == {"dualauthSessionCookie", "dualauthCsrf"}
    assert "transport" not in session["components"]["schemas"]["DualauthLoginRequest"]["properties"]
    assert "access" not in session["components"]["schemas"]["DualauthLogin"]["properties"]
    refresh = session["paths"]["/api/auth/token/refresh/"]["post"]
    assert list(refresh["responses"]) == ["404"]
    assert set(session["paths"]) >= set(dualauth_routes())


def test_cookie_transport_alone_keeps_tokens_out_of_every_body(tmp_path: Path, use_mode: Any) -> None:
    use_mode("jwt", JWT_TRANSPORTS=["cookie"])
    cookie_only = generate(tmp_path)
    assert set(cookie_only["components"]["securitySchemes"]) == {
        "dualauthAccessCookie",
        "dualauthRefreshCookie",
        "dualauthCsrf",
    }
    schemas = cookie_only["components"]["schemas"]
    assert set(schemas["DualauthLogin"]["properties"]) == {
        "user",
        "kind",
        "session_id",
        "access_expires_at",
        "refresh_expires_at",
    }
    assert set(schemas["DualauthLogin"]["required"]) == set(schemas["DualauthLogin"]["properties"])
    assert set(schemas["DualauthTokens"]["properties"]) == {"access_expires_at", "refresh_expires_at"}


def test_a_renamed_csrf_header_is_the_one_the_schema_names(tmp_path: Path, settings: Any) -> None:
    settings.CSRF_HEADER_NAME = "HTTP_X_XSRF_TOKEN"  # what Angular's HttpClient sends
    assert generate(tmp_path)["components"]["securitySchemes"]["dualauthCsrf"]["name"] == "X-Xsrf-Token"


@pytest.mark.urls("tests.openapi_urls")
def test_views_on_dualauths_own_classes_named_explicitly_list_what_each_class_reads(
    tmp_path: Path, use_mode: Any
) -> None:
    """The JWT class reads tokens by JWT_TRANSPORTS and the session class sessions, whatever MODE says;
    DualAuthentication (the notes API's default) follows MODE."""
    use_mode("session")
    paths = generate(tmp_path)["paths"]
    assert paths["/api/token-notes/"]["get"]["security"] == [{"dualauthBearer": []}, {"dualauthAccessCookie": []}]
    assert paths["/api/session-notes/"]["get"]["security"] == [{"dualauthSessionCookie": []}]
    assert paths["/api/notes/"]["get"]["security"] == [{"dualauthSessionCookie": []}]

    use_mode("jwt", JWT_TRANSPORTS=["header"])
    paths = generate(tmp_path)["paths"]
    assert paths["/api/token-notes/"]["post"]["security"] == [{"dualauthBearer": []}]
    assert paths["/api/session-notes/"]["post"]["security"] == [{"dualauthSessionCookie": [], "dualauthCsrf": []}]
    assert paths["/api/notes/"]["post"]["security"] == [{"dualauthBearer": []}]


@pytest.mark.django_db
@pytest.mark.urls("example_project.urls")
def test_the_example_project_serves_the_schema_and_its_docs(client: Any) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    served = json.loads(response.content)
    assert served["info"]["version"] == __import__("dualauth").__version__
    assert "/api/auth/login/" in served["paths"]
    assert "/api/schema/" not in served["paths"]
    docs = client.get("/api/schema/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


WITHOUT_SPECTACULAR = textwrap.dedent(
    """
    import sys

    sys.modules["drf_spectacular"] = None  # `import drf_spectacular` now raises ImportError

    import django
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    django.setup()
    from django.conf import settings

    assert "drf_spectacular" not in settings.INSTALLED_APPS
    assert "DEFAULT_SCHEMA_CLASS" not in settings.REST_FRAMEWORK
    call_command("check", fail_level="WARNING")
    assert "dualauth.openapi" not in sys.modules
    assert not any(name.startswith("drf_spectacular.") for name in sys.modules)
    assert Client().get(reverse("dualauth:csrf")).status_code == 200
    assert Client().get("/api/schema/").status_code == 404
    print("ok")
    """
)


def test_dualauth_works_without_drf_spectacular() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_SPECTACULAR], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_a_project_without_drf_spectacular_installed_never_loads_dualauths_extensions(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, next to the test above: dualauth's ready() on a project that has drf-spectacular on the path but
    not in INSTALLED_APPS leaves dualauth.openapi unimported (it would register extensions with it)."""
    import dualauth

    monkeypatch.delitem(sys.modules, "dualauth.openapi")
    monkeypatch.delattr(dualauth, "openapi")
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "drf_spectacular"]  # ready() again
    assert "dualauth.openapi" not in sys.modules
