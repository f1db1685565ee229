"""Test settings: the example project's, on SQLite by default or PostgreSQL with DUALAUTH_TEST_DB=postgres.

DUALAUTH_TEST_STORE=redis runs the same suite on the scale-out set-up: the
``redis`` state store and Django sessions in Redis (the cache engine), both on
the machine's real Redis (database 15, emptied before each test).
"""

import os

from example_project.settings import *  # noqa: F403

DEBUG = False
DUALAUTH = {"MODE": "hybrid"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
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
