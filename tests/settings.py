"""The test suite's own settings, on SQLite by default or PostgreSQL with DUALAUTH_TEST_DB=postgres.

Written out in full, with no import from the demo: a change to example_project/ (its settings, URLs or views)
cannot change what dualauth's tests prove. The suite's own views are in tests/project/, its URLs in tests/urls.py.

DUALAUTH_TEST_STORE=redis runs the same suite on the scale-out set-up: the
``redis`` state store and Django sessions in Redis (the cache engine), both on
the machine's real Redis (database 15, emptied before each test; DUALAUTH_TEST_REDIS names another).
"""

import os
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import dualauth

repo = Path(__file__).resolve().parent.parent

DEBUG = False
SECRET_KEY = "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
# testserver: Django's test client, also where no test environment adds it (a subprocess's own django.setup()).
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

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
    "tests.project",
    # Only for the tests of the demo itself (tests/test_example_project.py, tests/test_demo_pages_browser.py, the
    # demo's schema): its seed command, its tables and its static files. No other test reaches the demo.
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

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Only for the tests of the demo itself: its pages' templates (the suite's own views use none).
        "DIRS": [repo / "example_project" / "templates"],
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

# Plain HTTP, as the test client and the live server speak it (dualauth's own token cookies are Secure regardless).
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["dualauth.authentication.DualAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "dualauth.errors.exception_handler",
}

# drf-spectacular when installed (the `openapi` extra): the schema at /api/schema/ (tests/urls.py).
if find_spec("drf_spectacular") is not None:
    INSTALLED_APPS.append("drf_spectacular")
    REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
    SPECTACULAR_SETTINGS = {
        "TITLE": "dualauth test project API",
        "VERSION": dualauth.__version__,
        "SERVE_INCLUDE_SCHEMA": False,
    }

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    # Its own key, not SECRET_KEY (check dualauth.W001).
    "SIGNING_KEY": "tests-only-jwt-signing-key-" + "0" * 40,
}

DUALAUTH = {"MODE": "hybrid"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES: dict[str, dict[str, Any]] = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"

DUALAUTH_TEST_STORE = os.environ.get("DUALAUTH_TEST_STORE", "database")
DUALAUTH_TEST_REDIS = os.environ.get("DUALAUTH_TEST_REDIS", "redis://127.0.0.1:6379/15")

if DUALAUTH_TEST_STORE == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DUALAUTH_TEST_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    DUALAUTH = {**DUALAUTH, "STORE": "redis"}

if os.environ.get("DUALAUTH_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "test"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": "test_dualauth"},
        }
    }
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
