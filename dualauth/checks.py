"""System checks for ``DUALAUTH``: every id in one table, each message names the key."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

from .conf import DEFAULTS, MODES, SAMESITE_VALUES, STORES, TRANSPORTS, dualauth_settings
from .user_marks import MAX_EXTRA_FIELDS

MESSAGES = {
    "E001": "DUALAUTH must be a dict.",
    "E002": "DUALAUTH has unknown key(s): {keys}.",
    "E003": "DUALAUTH['MODE'] is {value!r}; it must be one of {choices}.",
    "E004": "DUALAUTH['STORE'] is {value!r}; it must be one of {choices}.",
    "E005": "DUALAUTH['STORE'] is 'redis' but CACHES[{alias!r}] (REDIS_CACHE_ALIAS) is {problem}.",
    "E006": "DUALAUTH['MODE'] is {mode!r}: add 'rest_framework_simplejwt.token_blacklist' to INSTALLED_APPS.",
    "E007": "DUALAUTH['JWT_TRANSPORTS'] is {value!r}; it must be a non-empty list drawn from {choices}.",
    "E008": "DUALAUTH['HYBRID_DEFAULT_KIND'] is {value!r}; it must be 'session' or 'jwt'.",
    "E009": "DUALAUTH['COOKIE_SAMESITE'] is {value!r}; it must be one of {choices}.",
    "E010": "DUALAUTH[{key!r}] is {value!r}; it must be {expected}.",
    "E011": "DUALAUTH[{key!r}] is {value!r}; it must be {expected}.",
    "E012": "DUALAUTH[{key!r}] is {value!r}, which cannot be imported.",
    "E013": "'dualauth.middleware.DualAuthMiddleware' must come after {needed} in MIDDLEWARE.",
    "E014": "DUALAUTH['COOKIE_SAMESITE'] is 'None', which browsers accept only with Secure cookies: "
    "set COOKIE_SECURE to True.",
    "E016": "DUALAUTH['ACCESS_COOKIE'] has the __Host- prefix, which browsers refuse with a Domain: "
    "unset COOKIE_DOMAIN.",
    "E017": "DUALAUTH['REFRESH_COOKIE'] has the __Host- prefix, which needs Path=/; the refresh cookie is "
    "path-scoped to dualauth's URLs: use the __Secure- prefix.",
    "E018": "DUALAUTH['EXTRA_PRIVILEGE_FIELDS'] is {value!r}; it must be a list of names of concrete fields of "
    "{model}{unknown}.",
    "E019": "'dualauth.middleware.DualAuthMiddleware' is not in MIDDLEWARE, but Django sessions are: revoked and "
    "idled-out sessions keep working in the admin and in plain Django views.",
    "E020": "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] lists {classes}, which accept{s} credentials without "
    "asking dualauth: a credential dualauth has ended (a logged-out token, a revoked session) can still work "
    "through {them} on every DRF view (listed first, or for a credential DualAuthentication leaves to the next "
    "class, as a bearer token when JWT_TRANSPORTS has only 'cookie', or a token in session mode).",
    "E021": "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] is {value!r}; it must be a list or tuple of classes.",
    "W007": "REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] does not list "
    "'dualauth.authentication.DualAuthentication': DRF views authenticate without dualauth's revocation checks.",
    "W008": "These views in the URL conf bypass dualauth, so revocation does not reach them: {views}.",
    "W009": "AUTHENTICATION_BACKENDS does not start with dualauth's login limiter: the admin's login and every other "
    "authenticate() call check passwords without it (the API's login is still throttled).",
    "W001": "SIMPLE_JWT['SIGNING_KEY'] is SECRET_KEY: tokens and every other signed value share one key.",
    "W002": "SIMPLE_JWT['SIGNING_KEY'] has {length} bytes; {algorithm} needs at least {needed} (RFC 7518 §3.2).",
    "W003": "DUALAUTH['COOKIE_SECURE'] is False while DEBUG is off: token cookies travel over plain HTTP.",
    "W004": "DUALAUTH['CHECK_REVOCATION'] is False: a revoked access token keeps working until it expires.",
    "W005": "SIMPLE_JWT['LEEWAY'] is {leeway:g} seconds; more than {limit} lets expired tokens live on.",
    "W006": "The Redis behind DUALAUTH['REDIS_CACHE_ALIAS'] ({alias!r}) evicts keys (maxmemory-policy {policy!r}): "
    "the redis store stays correct, an evicted entry being a miss the database answers, but every eviction "
    "costs a database read on the sign-in's next request, and evicted Redis sessions are signed out.",
}

HINTS = {
    "E019": "Add it to MIDDLEWARE after 'django.contrib.auth.middleware.AuthenticationMiddleware'.",
    "E020": "Remove them: DualAuthentication already accepts sessions and tokens in the modes that use them.",
    "W007": "Set REST_FRAMEWORK = {'DEFAULT_AUTHENTICATION_CLASSES': ['dualauth.authentication.DualAuthentication']}.",
    "W008": "Give DRF views authentication_classes = [DualAuthentication] (or leave the default) and remove "
    "simplejwt's token views (dualauth's login/ and token/refresh/ replace them), or silence dualauth.W008 in "
    "SILENCED_SYSTEM_CHECKS if they must accept other credentials.",
    "E002": "Known keys: " + ", ".join(sorted(DEFAULTS)) + ".",
    "W009": "Put 'dualauth.backends.ThrottledModelBackend' in place of Django's ModelBackend, or "
    "'dualauth.backends.LoginThrottleBackend' first, in front of the others.",
    "W001": "Set SIMPLE_JWT['SIGNING_KEY'] to its own random secret so either can be rotated alone.",
    "W002": "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))'",
    "W006": "Give the store a Redis (or a database of one) with maxmemory-policy noeviction, sized for one small "
    "entry per live sign-in.",
}
HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
MAX_LEEWAY_SECONDS = 60

OPTIONAL_SECONDS = ("SESSION_IDLE_TIMEOUT", "SESSION_ABSOLUTE_TIMEOUT", "MAX_SESSIONS_PER_USER")
SECONDS = ("ACTIVITY_UPDATE_INTERVAL", "TRUSTED_PROXY_COUNT", "REFRESH_REUSE_GRACE", "REVOKED_RETENTION")
POSITIVE = ("MAX_TOKEN_LENGTH", "STORE_ENTRY_MAX_AGE")
BOOLEANS = ("CHECK_REVOCATION", "REVOKE_ON_PASSWORD_CHANGE", "ADOPT_LEGACY_TOKENS", "CLEAR_SITE_DATA_ON_LOGOUT")
NAMES = ("ACCESS_COOKIE", "REFRESH_COOKIE", "REDIS_CACHE_ALIAS")
IMPORTABLE = ("USER_SERIALIZER", "TOKEN_CLAIMS_HOOK")
DJANGO_REDIS_BACKEND = "django_redis.cache.RedisCache"


def _error(code: str, **params: Any) -> CheckMessage:
    level = CheckWarning if code.startswith("W") else Error
    return level(MESSAGES[code].format(**params), hint=HINTS.get(code), id=f"dualauth.{code}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@register(Tags.security, Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    raw = getattr(settings, "DUALAUTH", {})
    if not isinstance(raw, dict):
        return [_error("E001")]
    errors: list[CheckMessage] = []
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        errors.append(_error("E002", keys=", ".join(repr(k) for k in unknown)))
    s = dualauth_settings
    if s.MODE not in MODES:
        errors.append(_error("E003", value=s.MODE, choices=MODES))
    if s.STORE not in STORES:
        errors.append(_error("E004", value=s.STORE, choices=STORES))
    elif s.STORE == "redis":
        alias = s.REDIS_CACHE_ALIAS
        backend = getattr(settings, "CACHES", {}).get(alias, {}).get("BACKEND")
        if backend != DJANGO_REDIS_BACKEND:
            problem = "not defined" if backend is None else f"{backend!r}, not {DJANGO_REDIS_BACKEND!r}"
            errors.append(_error("E005", alias=alias, problem=problem))
    if s.MODE in ("jwt", "hybrid") and not apps.is_installed("rest_framework_simplejwt.token_blacklist"):
        errors.append(_error("E006", mode=s.MODE))
    transports = s.JWT_TRANSPORTS
    if (
        not isinstance(transports, (list, tuple))
        or not transports
        or any(t not in TRANSPORTS for t in transports)
        or len(set(transports)) != len(transports)
    ):
        errors.append(_error("E007", value=transports, choices=TRANSPORTS))
    if s.HYBRID_DEFAULT_KIND not in ("session", "jwt"):
        errors.append(_error("E008", value=s.HYBRID_DEFAULT_KIND))
    if s.COOKIE_SAMESITE not in SAMESITE_VALUES:
        errors.append(_error("E009", value=s.COOKIE_SAMESITE, choices=SAMESITE_VALUES))
    elif s.COOKIE_SAMESITE == "None" and s.COOKIE_SECURE is not True:
        errors.append(_error("E014"))
    errors.extend(_type_errors())
    errors.extend(_prefix_errors())
    rate = s.LOGIN_THROTTLE_RATE
    if rate is not None and not _valid_rate(rate):
        errors.append(_error("E011", key="LOGIN_THROTTLE_RATE", value=rate, expected="None or like '10/min'"))
    for key in ("LOGIN_IP_RATE", "LOGIN_USERNAME_RATE"):
        rate = getattr(s, key)
        if rate not in (None, "off") and not _valid_rate(rate):
            expected = "None (LOGIN_THROTTLE_RATE's), 'off' or like '10/min'"
            errors.append(_error("E011", key=key, value=rate, expected=expected))
    for key in IMPORTABLE:
        value = getattr(s, key)
        if value is not None:
            try:
                import_string(value)
            except (ImportError, TypeError, ValueError):
                errors.append(_error("E012", key=key, value=value))
    errors.extend(_privilege_field_errors())
    errors.extend(_middleware_errors())
    return errors


def _privilege_field_errors() -> list[CheckMessage]:
    from django.contrib.auth import get_user_model

    value = dualauth_settings.EXTRA_PRIVILEGE_FIELDS
    user_model = get_user_model()
    if not isinstance(value, (list, tuple)) or not all(isinstance(name, str) for name in value):
        return [_error("E018", value=value, model=user_model._meta.label, unknown="")]
    if len(value) > MAX_EXTRA_FIELDS:
        return [_error("E018", value=value, model=user_model._meta.label, unknown=f", {MAX_EXTRA_FIELDS} at most")]
    concrete = {field.name for field in user_model._meta.concrete_fields}
    unknown = [name for name in value if name not in concrete]
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        verb = "is not one" if len(unknown) == 1 else "are not"
        return [_error("E018", value=value, model=user_model._meta.label, unknown=f" ({names} {verb})")]
    return []


def _type_errors() -> list[CheckMessage]:
    s = dualauth_settings
    errors: list[CheckMessage] = []
    for key in OPTIONAL_SECONDS:
        value = getattr(s, key)
        if value is not None and (not _is_int(value) or value <= 0):
            errors.append(_error("E010", key=key, value=value, expected="None or a positive whole number"))
    for key in SECONDS:
        value = getattr(s, key)
        if not _is_int(value) or value < 0:
            errors.append(_error("E010", key=key, value=value, expected="a whole number, 0 or more"))
    for key in POSITIVE:
        value = getattr(s, key)
        if not _is_int(value) or value <= 0:
            errors.append(_error("E010", key=key, value=value, expected="a positive whole number"))
    for key in BOOLEANS:
        if not isinstance(getattr(s, key), bool):
            errors.append(_error("E010", key=key, value=getattr(s, key), expected="True or False"))
    for key in NAMES:
        value = getattr(s, key)
        if not isinstance(value, str) or not value:
            errors.append(_error("E010", key=key, value=value, expected="a non-empty string"))
    if s.COOKIE_SECURE not in (None, True, False):
        errors.append(_error("E010", key="COOKIE_SECURE", value=s.COOKIE_SECURE, expected="None, True or False"))
    if s.COOKIE_DOMAIN is not None and not isinstance(s.COOKIE_DOMAIN, str):
        errors.append(_error("E010", key="COOKIE_DOMAIN", value=s.COOKIE_DOMAIN, expected="None or a string"))
    return errors


def _valid_rate(rate: Any) -> bool:
    if not isinstance(rate, str) or rate.count("/") != 1:
        return False
    count, period = rate.split("/")
    return count.isdigit() and int(count) > 0 and period[:1] in ("s", "m", "h", "d")


SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
AUTHENTICATION_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
DUALAUTH_MIDDLEWARE = "dualauth.middleware.DualAuthMiddleware"


def _position(middleware: list[Any], path: str) -> int | None:
    """Where ``path``, or a subclass of it, sits in ``middleware`` (as Django's own auth checks look)."""
    wanted = import_string(path)
    for index, entry in enumerate(middleware):
        try:
            found = import_string(entry) if isinstance(entry, str) else None
        except ImportError:
            continue
        if isinstance(found, type) and issubclass(found, wanted):
            return index
    return None


def _middleware_errors() -> list[CheckMessage]:
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    ours = _position(middleware, DUALAUTH_MIDDLEWARE)
    if ours is None:
        return [_error("E019")] if _position(middleware, SESSION_MIDDLEWARE) is not None else []
    needed = [
        path
        for path in (SESSION_MIDDLEWARE, AUTHENTICATION_MIDDLEWARE)
        if (index := _position(middleware, path)) is None or index > ours
    ]
    return [_error("E013", needed=" and ".join(repr(m) for m in needed))] if needed else []


# DRF authentication classes that accept a credential without asking dualauth whether its sign-in lives.
BYPASSING = (
    "rest_framework_simplejwt.authentication.JWTAuthentication",
    "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
    "rest_framework.authentication.SessionAuthentication",
    "rest_framework.authentication.TokenAuthentication",
    "rest_framework.authentication.BasicAuthentication",
)


def _bypassing(classes: Any) -> list[type]:
    """Those of ``classes`` that are (or subclass) one of ``BYPASSING``."""
    known = tuple(import_string(path) for path in BYPASSING)
    return [cls for cls in classes or () if isinstance(cls, type) and issubclass(cls, known)]


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _drf_defaults() -> list[Any] | None:
    """DRF's default authentication classes, imported; ``None`` when the setting is not a list of them."""
    from rest_framework.settings import api_settings

    value = api_settings.DEFAULT_AUTHENTICATION_CLASSES
    return list(value) if isinstance(value, list | tuple) else None


@register(Tags.security, Tags.compatibility)
def check_drf_wiring(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DRF's default authentication classes: dualauth's, and nothing that accepts what dualauth has ended."""
    from rest_framework.settings import api_settings

    from . import authentication

    try:
        defaults = _drf_defaults()
    except ImportError:
        return []  # a class that cannot be imported fails every DRF view loudly on its own
    if defaults is None:
        raw = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_AUTHENTICATION_CLASSES")
        return [_error("E021", value=raw if raw is not None else api_settings.DEFAULT_AUTHENTICATION_CLASSES)]
    errors: list[CheckMessage] = []
    ours = (authentication.DualAuthentication, authentication.JWTAuthentication, authentication.SessionAuthentication)
    if not any(isinstance(cls, type) and issubclass(cls, ours) for cls in defaults):
        errors.append(_error("W007"))
    bypassing = _bypassing(defaults)
    if bypassing:
        names = ", ".join(repr(_name(cls)) for cls in bypassing)
        many = len(bypassing) > 1
        errors.append(_error("E020", classes=names, s="" if many else "s", them="them" if many else "it"))
    return errors


@register(Tags.security)
def check_login_limiter(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The login limiter must come first among the backends, or a password is checked before it is asked."""
    from .backends import in_front as backend_in_front
    from .throttling import ip_rate, username_rate

    if (ip_rate() is None and username_rate() is None) or backend_in_front():
        return []
    return [_error("W009")]


@register(Tags.security, Tags.urls)
def check_views(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """DRF views in the URL conf whose own ``authentication_classes`` bypass dualauth (one walk of the resolver)."""
    from django.urls import get_resolver

    found: dict[str, str] = {}
    try:
        defaults = _drf_defaults() or []
        patterns = get_resolver().url_patterns
    except Exception:  # noqa: BLE001 - a URL conf that cannot load is Django's own check's to report
        return []
    _walk(patterns, "", defaults, found)
    if not found:
        return []
    views = "; ".join(f"{route} ({classes})" for route, classes in sorted(found.items()))
    return [_error("W008", views=views)]


def _walk(patterns: Any, prefix: str, defaults: list[Any], found: dict[str, str]) -> None:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        nested = _nested(pattern)
        if nested is not None:
            _walk(nested, route, defaults, found)
            continue
        why = _bypasses(getattr(pattern, "callback", None), defaults)
        if why:
            found[route or "/"] = why


def _nested(pattern: Any) -> list[Any] | None:
    """An include's patterns; ``None`` for a view (or an include that cannot load: one must not hide the rest)."""
    try:
        return list(pattern.url_patterns) if hasattr(pattern, "url_patterns") else None
    except Exception:  # noqa: BLE001
        return []


def _bypasses(callback: Any, defaults: list[Any]) -> str | None:
    """Why the view ``callback`` (DRF's ``as_view()`` keeps its class in ``cls``) bypasses dualauth, or ``None``."""
    try:
        return _why(getattr(callback, "cls", None), defaults)
    except Exception:  # noqa: BLE001 - one odd view must not hide what the others show
        return None


def _why(view_class: Any, defaults: list[Any]) -> str | None:
    from rest_framework_simplejwt.views import TokenViewBase

    if not isinstance(view_class, type) or view_class.__module__.startswith("dualauth."):
        return None
    if issubclass(view_class, TokenViewBase):
        return "simplejwt's token view: tokens no sign-in tracks"
    classes = getattr(view_class, "authentication_classes", None)
    if not isinstance(classes, list | tuple) or list(classes) == defaults:
        return None  # the defaults: check_drf_wiring speaks for them
    bypassing = _bypassing(classes)
    return ", ".join(cls.__name__ for cls in bypassing) if bypassing else None


def _prefix_errors() -> list[CheckMessage]:
    s = dualauth_settings
    errors: list[CheckMessage] = []
    if isinstance(s.ACCESS_COOKIE, str) and s.ACCESS_COOKIE.lower().startswith("__host-") and s.COOKIE_DOMAIN:
        errors.append(_error("E016"))
    if isinstance(s.REFRESH_COOKIE, str) and s.REFRESH_COOKIE.lower().startswith("__host-"):
        errors.append(_error("E017"))
    return errors


@register(Tags.security, deploy=True)
def check_deployment(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``manage.py check --deploy``: settings that work but weaken what dualauth promises."""
    from .tokens import jwt_settings

    s = dualauth_settings
    warnings: list[CheckMessage] = []
    if s.jwt_enabled:
        jwt = jwt_settings()
        key = jwt.SIGNING_KEY
        if key == settings.SECRET_KEY:
            warnings.append(_error("W001"))
        needed = HMAC_KEY_BYTES.get(jwt.ALGORITHM)
        length = len(key.encode() if isinstance(key, str) else key or b"")
        if needed and length < needed:
            warnings.append(_error("W002", length=length, algorithm=jwt.ALGORITHM, needed=needed))
        leeway = jwt.LEEWAY.total_seconds() if hasattr(jwt.LEEWAY, "total_seconds") else float(jwt.LEEWAY or 0)
        if leeway > MAX_LEEWAY_SECONDS:
            warnings.append(_error("W005", leeway=leeway, limit=MAX_LEEWAY_SECONDS))
        if s.CHECK_REVOCATION is False:
            warnings.append(_error("W004"))
        if s.COOKIE_SECURE is False and not settings.DEBUG and "cookie" in s.JWT_TRANSPORTS:
            warnings.append(_error("W003"))
    if s.STORE == "redis":
        from .stores.redis_server import eviction_policy

        policy = eviction_policy(s.REDIS_CACHE_ALIAS)
        if policy is not None:
            warnings.append(_error("W006", alias=s.REDIS_CACHE_ALIAS, policy=policy))
    return warnings
