"""The settings reference cannot drift from the settings object."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dualauth.conf import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


def test_settings_reference_lists_every_key_and_nothing_else() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    documented = re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(DEFAULTS)


def test_settings_reference_gives_each_keys_true_default() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    rows = re.findall(r"^\| `([A-Z_]+)` \| `([^`]*)`", text, flags=re.MULTILINE)
    assert len(rows) == len(DEFAULTS)
    assert {key: ast.literal_eval(default) for key, default in rows} == DEFAULTS


def test_settings_reference_lists_every_system_check() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    source = (ROOT / "dualauth" / "checks.py").read_text()
    in_code = set(re.findall(r"\b[EW]\d{3}\b", source))
    assert len(in_code) > 10
    assert sorted(in_code - set(re.findall(r"\b[EW]\d{3}\b", text))) == []


def test_readme_opens_on_using_the_package_and_keeps_the_two_commands_lower() -> None:
    """Its first screen is for a user: what dualauth is, how to install it today, the quick starts; the demo
    and the test machinery come after (issue 17)."""
    text = (ROOT / "README.md").read_text()
    head = "\n".join(text.splitlines()[:60])
    assert "## In short" in head
    assert "git+https://github.com/" in head
    assert "docs/quickstart/session.md" in head
    assert "make test" not in head
    assert "make demo" in text
    assert "make test" in text


# The documentation site (mkdocs.yml, docs/) -------------------------------

DOCS = ROOT / "docs"


def _nav_pages(entries: object) -> list[str]:
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [page for entry in entries for page in _nav_pages(entry)]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in _nav_pages(value)]
    return []


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    from mkdocs.config import load_config

    listed = _nav_pages(load_config(str(ROOT / "mkdocs.yml"))["nav"])
    assert len(listed) == len(set(listed)), "a page is listed twice"
    on_disk = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(listed) == on_disk


def _documented_pages() -> dict[str, str]:
    return {str(path.relative_to(DOCS)): path.read_text() for path in DOCS.rglob("*.md")}


def test_dualauth_settings_in_code_blocks_exist() -> None:
    """Every key of a ``DUALAUTH = {...}`` example and every ``DUALAUTH["KEY"]`` is a real setting."""
    for page, text in _documented_pages().items():
        for block in re.findall(r"DUALAUTH = \{(.*?)\}", text, flags=re.DOTALL):
            for key in re.findall(r'"([A-Za-z_]+)"\s*:', block):
                assert key in DEFAULTS, f"{page}: DUALAUTH has no setting {key!r}"
        for key in re.findall(r'DUALAUTH\[["\']([A-Za-z_]+)', text):
            assert key in DEFAULTS, f"{page}: DUALAUTH has no setting {key!r}"


# Upper-case names the pages may mention besides dualauth's, Django's, DRF's and simplejwt's settings:
# dj-rest-auth's (from its app_settings.py), django-redis options, environment variables, words of SQL and Redis.
OTHER_NAMES = {
    "REST_AUTH", "REST_USE_JWT", "USE_JWT", "SESSION_LOGIN", "JWT_AUTH_COOKIE", "JWT_AUTH_REFRESH_COOKIE",
    "JWT_AUTH_REFRESH_COOKIE_PATH", "JWT_AUTH_SECURE", "JWT_AUTH_HTTPONLY", "JWT_AUTH_SAMESITE",
    "JWT_AUTH_RETURN_EXPIRATION", "JWT_AUTH_COOKIE_USE_CSRF", "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED",
    "JWT_TOKEN_CLAIMS_SERIALIZER", "USER_DETAILS_SERIALIZER", "LOGOUT_ON_PASSWORD_CHANGE",
    "BACKEND", "LOCATION", "OPTIONS", "CLIENT_CLASS", "CONNECTION_FACTORY", "CONNECTION_POOL_KWARGS", "SENTINELS",
    "SOCKET_CONNECT_TIMEOUT", "SOCKET_TIMEOUT", "IGNORE_EXCEPTIONS",
    "DATABASE_URL", "REDIS_URL", "DUALAUTH", "SIMPLE_JWT", "REST_FRAMEWORK", "USERNAME_FIELD", "REMOTE_ADDR",
    "ACCESS", "REFRESH", "CURRENT_TIMESTAMP", "CONFIG", "INFO", "GET", "W006",
}  # fmt: skip


def test_every_upper_case_name_in_the_docs_is_a_known_setting() -> None:
    """A misspelt setting (``SESSION_IDLE_TIMOUT``) fails here instead of in a reader's project."""
    from django.conf import global_settings
    from rest_framework.settings import DEFAULTS as DRF_DEFAULTS
    from rest_framework_simplejwt.settings import DEFAULTS as SIMPLE_JWT_DEFAULTS

    from dualauth import exceptions, services

    known = set(DEFAULTS) | set(DRF_DEFAULTS) | set(SIMPLE_JWT_DEFAULTS) | OTHER_NAMES
    known |= {name for name in dir(global_settings) if name.isupper()}
    known |= {name for module in (services, exceptions) for name in module.__all__ if name.isupper()}
    for page, text in _documented_pages().items():
        for name in re.findall(r"`([A-Z][A-Z0-9_]{2,})`", text):
            assert name in known, f"{page}: unknown setting {name!r}"


def test_the_api_page_documents_exactly_dualauths_endpoints() -> None:
    from dualauth import urls

    served = set()
    for pattern in urls.urlpatterns:
        path = str(pattern.pattern).replace("<str:pk>", "<id>")
        view = pattern.callback.view_class  # type: ignore[attr-defined]
        served |= {(method, path) for method in ("GET", "POST", "DELETE") if hasattr(view, method.lower())}
    text = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"^\| `(GET|POST|DELETE) ([a-z<>/-]+)` \|", text, flags=re.MULTILINE))
    assert documented == served
    for method, path in served:
        assert f"### `{method} {path}`" in text, f"api.md has no section for {method} {path}"
