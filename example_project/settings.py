"""Settings of the dualauth demo site, read from the environment.

DUALAUTH_MODE     session | jwt | hybrid            (default: hybrid)
DUALAUTH_STORE    database | redis                  (default: database)
DATABASE_URL      sqlite:///path or postgres://user:pass@host:port/name   (default: SQLite file)
REDIS_URL         redis://host:port/db; when set, the default cache is django-redis
DJANGO_SESSION_ENGINE  e.g. django.contrib.sessions.backends.cached_db (default: ...backends.db)
DJANGO_DEBUG      1 or 0                            (default: 1; cookies are Secure when 0)
DJANGO_SECRET_KEY                                   (default: a key for local demos only)
DJANGO_JWT_SIGNING_KEY                              (default: a key for local demos only)
ALLOWED_HOSTS     comma-separated                   (default: localhost, 127.0.0.1)
DJANGO_CONN_MAX_AGE  seconds a database connection is kept (default: 0, one per request)
DUALAUTH_LOGIN_THROTTLE_RATE  e.g. 10/min (the default), or off
"""

import os
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dualauth

BASE_DIR = Path(__file__).resolve().parent


def database_from_url(url: str) -> dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parsed.path[1:]) or ":memory:"}
    if parsed.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path[1:]),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
        }
    raise ValueError(f"DATABASE_URL scheme {parsed.scheme!r} is not supported by the demo settings")


DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-only-secret-key-change-me-0123456789-abcdefghijklmnop")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "dualauth",
    "example_project.notes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dualauth.middleware.DualAuthMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The login limiter in front of every password check: the API's login, the admin's, any authenticate().
AUTHENTICATION_BACKENDS = ["dualauth.backends.ThrottledModelBackend"]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": database_from_url(os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR.parent / 'demo.sqlite3'}"))
}
# Seconds a worker keeps its database connection (None: for ever); `make serve` keeps them a minute.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DJANGO_CONN_MAX_AGE", "0"))

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "IGNORE_EXCEPTIONS": True},
        }
    }
SESSION_ENGINE = os.environ.get("DJANGO_SESSION_ENGINE", "django.contrib.sessions.backends.db")

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["dualauth.authentication.DualAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "dualauth.errors.exception_handler",
}

# `pip install dualauth[openapi]`: the API's OpenAPI schema at /api/schema/, Swagger UI at /api/schema/docs/.
# Swagger UI's scripts and styles come from drf-spectacular's default CDN (jsDelivr), fine for a demo;
# a site that must not load them from a CDN installs drf-spectacular-sidecar and sets SWAGGER_UI_DIST.
OPENAPI = find_spec("drf_spectacular") is not None
if OPENAPI:
    INSTALLED_APPS.append("drf_spectacular")
    REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
    SPECTACULAR_SETTINGS = {
        "TITLE": "dualauth demo API",
        "DESCRIPTION": "dualauth's sign-in API under /api/auth/, and the demo's notes.",
        "VERSION": dualauth.__version__,
        "SERVE_INCLUDE_SCHEMA": False,
    }

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    # Its own key, not SECRET_KEY, so either can be rotated alone (check dualauth.W001).
    "SIGNING_KEY": os.environ.get("DJANGO_JWT_SIGNING_KEY", "demo-only-jwt-signing-key-change-me-" + "0" * 32),
}

DUALAUTH = {
    "MODE": os.environ.get("DUALAUTH_MODE", "hybrid"),
    "STORE": os.environ.get("DUALAUTH_STORE", "database"),
    # "off" for load tests that sign in far more often than any person would.
    "LOGIN_THROTTLE_RATE": None
    if os.environ.get("DUALAUTH_LOGIN_THROTTLE_RATE") == "off"
    else os.environ.get("DUALAUTH_LOGIN_THROTTLE_RATE", "10/min"),
    # The demo pages are a browser app: its tabs refresh the same token at once.
    "REFRESH_REUSE_GRACE": 10,
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"
