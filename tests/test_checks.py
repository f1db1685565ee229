"""System checks: each bad setting gets its own id and names the key; settings reload on change."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from dualauth.checks import check_drf_wiring, check_settings, check_views
from dualauth.conf import dualauth_settings


def _ids(settings: Any, **dualauth: Any) -> list[str]:
    settings.DUALAUTH = dualauth
    return [message.id for message in check_settings()]


def test_defaults_are_clean(settings: Any) -> None:
    assert _ids(settings) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"MODE": "sessions"}, "dualauth.E003"),
        ({"STORE": "memcached"}, "dualauth.E004"),
        ({"STORE": "redis", "REDIS_CACHE_ALIAS": "nope"}, "dualauth.E005"),
        ({"JWT_TRANSPORTS": []}, "dualauth.E007"),
        ({"JWT_TRANSPORTS": ["header", "url"]}, "dualauth.E007"),
        ({"JWT_TRANSPORTS": "header"}, "dualauth.E007"),
        ({"HYBRID_DEFAULT_KIND": "oauth"}, "dualauth.E008"),
        ({"COOKIE_SAMESITE": "lax"}, "dualauth.E009"),
        ({"SESSION_IDLE_TIMEOUT": -5}, "dualauth.E010"),
        ({"ACTIVITY_UPDATE_INTERVAL": "60"}, "dualauth.E010"),
        ({"CHECK_REVOCATION": "yes"}, "dualauth.E010"),
        ({"ACCESS_COOKIE": ""}, "dualauth.E010"),
        ({"COOKIE_SECURE": "no"}, "dualauth.E010"),
        ({"COOKIE_DOMAIN": 5}, "dualauth.E010"),
        ({"MAX_TOKEN_LENGTH": 0}, "dualauth.E010"),
        ({"LOGIN_THROTTLE_RATE": "ten per minute"}, "dualauth.E011"),
        ({"LOGIN_THROTTLE_RATE": "0/min"}, "dualauth.E011"),
        ({"USER_SERIALIZER": "no.such.Thing"}, "dualauth.E012"),
        ({"COOKIE_SAMESITE": "None"}, "dualauth.E014"),
        ({"STORE_ENTRY_MAX_AGE": 0}, "dualauth.E010"),
        ({"STORE_ENTRY_MAX_AGE": None}, "dualauth.E010"),
        ({"EXTRA_PRIVILEGE_FIELDS": "role"}, "dualauth.E018"),
        ({"EXTRA_PRIVILEGE_FIELDS": ["no_such_field"]}, "dualauth.E018"),
        ({"EXTRA_PRIVILEGE_FIELDS": ["groups"]}, "dualauth.E018"),
    ],
)
def test_each_bad_value_has_its_own_id(settings: Any, value: dict, expected: str) -> None:
    assert _ids(settings, **value) == [expected]


@pytest.mark.parametrize("key", ["LOGIN_IP_RATE", "LOGIN_USERNAME_RATE"])
def test_a_bad_per_key_rate_is_named_with_what_it_may_be(settings: Any, key: str) -> None:
    settings.DUALAUTH = {key: "10 per minute"}
    (error,) = check_settings()
    assert error.id == "dualauth.E011"
    assert error.msg == (
        f"DUALAUTH[{key!r}] is '10 per minute'; it must be None (LOGIN_THROTTLE_RATE's), 'off' or like '10/min'."
    )
    assert _ids(settings, **{key: "off"}) == _ids(settings, **{key: "5/hour"}) == []


def test_extra_privilege_fields_of_the_user_model_are_clean(settings: Any) -> None:
    assert _ids(settings, EXTRA_PRIVILEGE_FIELDS=["last_name", "email"]) == []


def test_unknown_key_is_named(settings: Any) -> None:
    settings.DUALAUTH = {"MODES": "jwt"}
    (error,) = check_settings()
    assert error.id == "dualauth.E002"
    assert "'MODES'" in error.msg


def test_not_a_dict(settings: Any) -> None:
    settings.DUALAUTH = ["MODE", "jwt"]
    assert [m.id for m in check_settings()] == ["dualauth.E001"]


def test_redis_store_on_another_cache_backend_is_refused(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert _ids(settings, STORE="redis") == ["dualauth.E005"]


def test_redis_store_on_a_django_redis_alias_is_accepted(settings: Any) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "auth": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"},
    }
    assert _ids(settings, STORE="redis", REDIS_CACHE_ALIAS="auth") == []


@pytest.mark.parametrize("mode", ["jwt", "hybrid"])
def test_jwt_modes_need_the_blacklist_app(settings: Any, mode: str) -> None:
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "rest_framework_simplejwt.token_blacklist"]
    assert "dualauth.E006" in _ids(settings, MODE=mode)
    assert "dualauth.E006" not in _ids(settings, MODE="session")


def test_middleware_order(settings: Any) -> None:
    settings.MIDDLEWARE = ["dualauth.middleware.DualAuthMiddleware", *settings.MIDDLEWARE]
    assert _ids(settings) == ["dualauth.E013"]


def test_a_middleware_entry_that_cannot_be_imported_is_skipped_not_a_crash(settings: Any) -> None:
    """Django reports it when it builds the handler; the order check still reads the entries it can import."""
    settings.MIDDLEWARE = ["no.such.Middleware", *settings.MIDDLEWARE]
    assert _ids(settings) == []
    settings.MIDDLEWARE = ["dualauth.middleware.DualAuthMiddleware", *settings.MIDDLEWARE]
    assert _ids(settings) == ["dualauth.E013"]


def test_manage_py_check_names_the_bad_key(settings: Any) -> None:
    settings.DUALAUTH = {"MODE": "both"}
    with pytest.raises(SystemCheckError, match=r"dualauth.E003.*'both'"):
        call_command("check")


def test_settings_reload_on_override(settings: Any) -> None:
    settings.DUALAUTH = {"MODE": "jwt"}
    assert dualauth_settings.MODE == "jwt"
    settings.DUALAUTH = {"MODE": "session", "ACCESS_COOKIE": "a"}
    assert (dualauth_settings.MODE, dualauth_settings.ACCESS_COOKIE) == ("session", "a")
    assert dualauth_settings.REFRESH_COOKIE == "dualauth_refresh"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NOPE"):
        dualauth_settings.NOPE  # type: ignore[attr-defined]  # noqa: B018


def test_every_setting_has_one_typed_key() -> None:
    """A key added to DEFAULTS without a typed attribute (or the other way round) would read as ``Any``."""
    from dualauth.conf import DEFAULTS, DualAuthSettings, Key

    typed = {name for name, value in vars(DualAuthSettings).items() if isinstance(value, Key)}
    assert typed == set(DEFAULTS)


def test_a_setting_read_on_the_class_is_its_key() -> None:
    """As the typed overload says and as ``mock.patch.object`` and introspection expect: the named key, not a crash."""
    from dualauth.conf import DEFAULTS, DualAuthSettings, Key

    keys = {name: getattr(DualAuthSettings, name) for name in DEFAULTS}
    assert all(isinstance(key, Key) and key.name == name for name, key in keys.items())


# Wiring that silently undoes revocation -----------------------------------------------------------

DUAL = "dualauth.authentication.DualAuthentication"


def _all_ids() -> list[str]:
    from django.core import checks

    return [message.id for message in checks.run_checks(include_deployment_checks=False) if message.id]


@pytest.mark.urls("example_project.urls")
def test_the_example_projects_wiring_is_clean() -> None:
    assert [i for i in _all_ids() if i.startswith("dualauth.")] == []


def test_sessions_without_dualauths_middleware_is_an_error(settings: Any) -> None:
    """Revoked and idled-out sessions would keep working in the admin and plain views."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "DualAuthMiddleware" not in m]
    assert "dualauth.E019" in _all_ids()


def test_no_sessions_and_no_middleware_is_fine(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "DualAuthMiddleware" not in m and "Session" not in m]
    assert "dualauth.E019" not in _all_ids()


def test_a_subclass_of_the_middleware_counts(settings: Any) -> None:
    settings.MIDDLEWARE = [m.replace("dualauth.middleware.DualAuthMiddleware", "tests.wiring.OwnDualAuthMiddleware")
                           for m in settings.MIDDLEWARE]  # fmt: skip
    ids = _all_ids()
    assert "dualauth.E019" not in ids
    assert "dualauth.E013" not in ids


@pytest.mark.parametrize(
    "extra",
    [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
)
def test_a_class_that_bypasses_dualauth_next_to_it_is_an_error(settings: Any, extra: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": [DUAL, extra]}
    (error,) = [m for m in check_drf_wiring() if m.id == "dualauth.E020"]
    assert extra in error.msg


def test_drfs_defaults_left_in_place_are_a_warning_naming_the_fix_and_an_error(settings: Any) -> None:
    rest = {k: v for k, v in settings.REST_FRAMEWORK.items() if k != "DEFAULT_AUTHENTICATION_CLASSES"}
    settings.REST_FRAMEWORK = rest  # DRF's defaults: SessionAuthentication, BasicAuthentication
    warning, error = check_drf_wiring()
    assert warning.id == "dualauth.W007"
    assert DUAL in warning.hint
    assert error.id == "dualauth.E020"
    assert "BasicAuthentication" in error.msg


def test_a_bypassing_class_alone_is_an_error_too(settings: Any) -> None:
    """The worst wiring of all: simplejwt's class and nothing of dualauth's."""
    jwt = "rest_framework_simplejwt.authentication.JWTAuthentication"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": [jwt]}
    assert [m.id for m in check_drf_wiring()] == ["dualauth.W007", "dualauth.E020"]


@pytest.mark.parametrize("value", ["dualauth.authentication.DualAuthentication", None])
def test_classes_that_are_not_a_list_are_an_error_not_a_crash(settings: Any, value: Any) -> None:
    """A missing comma makes a tuple a string: DRF would fail on every request."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": value}
    assert [m.id for m in check_drf_wiring()] == ["dualauth.E021"]


def test_a_default_class_that_cannot_be_imported_is_left_to_drf(settings: Any) -> None:
    """DRF fails every view loudly on its own; the wiring checks must not crash ``manage.py`` before it can say so."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": ["no.such.Auth"]}
    assert check_drf_wiring() == []
    assert check_views() == []


def test_dualauths_own_classes_named_explicitly_count_as_dualauth(settings: Any) -> None:
    ours = ["dualauth.authentication.JWTAuthentication", "dualauth.authentication.SessionAuthentication"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_AUTHENTICATION_CLASSES": ours}
    assert check_drf_wiring() == []


@pytest.mark.urls("tests.wiring")
def test_views_whose_own_classes_bypass_dualauth_are_listed() -> None:
    (warning,) = check_views()
    assert warning.id == "dualauth.W008"
    assert "token/ (LegacyJWT)" in warning.msg
    assert "v1/basic/ (BasicAuthentication)" in warning.msg
    assert "v1/things/ (JWTAuthentication)" in warning.msg
    assert "fine/" not in warning.msg
    assert "public/" not in warning.msg
    assert "odd/" not in warning.msg  # a view the walk cannot read hides nothing else
    assert "lazy/" not in warning.msg  # nor one whose attributes raise
    assert "misspelt/" not in warning.msg  # nor an include whose patterns cannot load
    assert "api/auth/" not in warning.msg
    assert "simplejwt/token/ (simplejwt's token view" in warning.msg


def test_a_url_conf_that_cannot_load_is_left_to_django(settings: Any) -> None:
    """Django fails loudly on its own; the walk must not turn that into a crash of dualauth's check."""
    settings.ROOT_URLCONF = "tests.no_such_urls"
    assert check_views() == []


def test_more_extra_privilege_fields_than_a_mark_holds_is_an_error(settings: Any) -> None:
    names = ["first_name", "last_name", "email", "username", "date_joined", "last_login", "password"] * 2
    assert _ids(settings, EXTRA_PRIVILEGE_FIELDS=names) == ["dualauth.E018"]


@pytest.mark.parametrize(
    ("backends", "warned"),
    [
        (["dualauth.backends.ThrottledModelBackend"], False),
        (["dualauth.backends.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend"], False),
        (["django.contrib.auth.backends.ModelBackend"], True),
        (["django.contrib.auth.backends.ModelBackend", "dualauth.backends.LoginThrottleBackend"], True),
    ],
)
def test_the_login_limiter_must_come_first_among_the_backends(settings: Any, backends: list, warned: bool) -> None:
    from dualauth.checks import check_login_limiter

    settings.AUTHENTICATION_BACKENDS = backends
    assert [m.id for m in check_login_limiter()] == (["dualauth.W009"] if warned else [])
    settings.DUALAUTH = {"LOGIN_THROTTLE_RATE": None}
    assert check_login_limiter() == []
