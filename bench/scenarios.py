"""What is measured: the floor, the baselines a project would pick instead, and dualauth's modes.

Every scenario runs the same stack (``bench.settings``) and the same small
endpoint; a scenario names the endpoint's authentication class, the settings it
changes, and the credential its client presents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench import settings as base

DB_ENGINE = "django.contrib.sessions.backends.db"
CACHE_ENGINE = "django.contrib.sessions.backends.cache"
CACHED_DB_ENGINE = "django.contrib.sessions.backends.cached_db"
ENGINES = {DB_ENGINE: "db", CACHE_ENGINE: "Redis", CACHED_DB_ENGINE: "cached_db"}

# How a client holds its credential.
NONE = "none"
SIMPLEJWT = "simplejwt access token, header"
DJANGO_SESSION = "Django session cookie"
JWT_HEADER = "dualauth access token, header"
JWT_COOKIE = "dualauth access token, cookie"
SESSION = "dualauth session cookie"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    path: str
    credential: str
    session_engine: str = DB_ENGINE
    dualauth: dict[str, Any] = field(default_factory=dict)
    #: The baseline this scenario is judged against, by key.
    baseline: str | None = None
    group: str = "dualauth"

    @property
    def is_dualauth(self) -> bool:
        return self.group == "dualauth"

    def settings(self) -> dict[str, Any]:
        """The settings that differ from ``bench.settings`` for this scenario."""
        middleware = list(base.MIDDLEWARE)
        if self.is_dualauth:
            at = middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1
            middleware.insert(at, "dualauth.middleware.DualAuthMiddleware")
        return {
            "MIDDLEWARE": middleware,
            "SESSION_ENGINE": self.session_engine,
            "DUALAUTH": {**base.DUALAUTH, **self.dualauth},
        }


def _dualauth(key: str, title: str, credential: str, baseline: str, **options: Any) -> Scenario:
    engine = options.pop("session_engine", DB_ENGINE)
    return Scenario(key, title, "/dualauth/", credential, engine, options, baseline)


def _all() -> list[Scenario]:
    scenarios = [
        Scenario("floor", "no authentication (the floor)", "/floor/", NONE, group="floor"),
        Scenario("simplejwt", "simplejwt JWTAuthentication", "/simplejwt/", SIMPLEJWT, group="baseline"),
        Scenario(
            "simplejwt-stateless",
            "simplejwt JWTStatelessUserAuthentication",
            "/simplejwt-stateless/",
            SIMPLEJWT,
            group="baseline",
        ),
    ]
    for engine, name in ENGINES.items():
        scenarios.append(
            Scenario(
                f"drf-session-{name.lower()}",
                f"DRF SessionAuthentication, {name} sessions",
                "/drf-session/",
                DJANGO_SESSION,
                engine,
                group="baseline",
            )
        )
    for credential, transport in ((JWT_HEADER, "header"), (JWT_COOKIE, "cookie")):
        for store in ("database", "redis"):
            scenarios.append(
                _dualauth(
                    f"jwt-{transport}-{store}",
                    f"dualauth jwt, {transport}, {store} store",
                    credential,
                    "simplejwt",
                    MODE="jwt",
                    STORE=store,
                )
            )
        scenarios.append(
            _dualauth(
                f"jwt-{transport}-unchecked",
                f"dualauth jwt, {transport}, CHECK_REVOCATION off",
                credential,
                "simplejwt",
                MODE="jwt",
                CHECK_REVOCATION=False,
            )
        )
    for engine, name in ((DB_ENGINE, "db"), (CACHE_ENGINE, "Redis")):
        for store in ("database", "redis"):
            scenarios.append(
                _dualauth(
                    f"session-{name.lower()}-{store}",
                    f"dualauth session, {name} sessions, {store} store",
                    SESSION,
                    f"drf-session-{name.lower()}",
                    MODE="session",
                    STORE=store,
                    session_engine=engine,
                )
            )
    for store in ("database", "redis"):
        scenarios.append(
            _dualauth(
                f"hybrid-header-{store}",
                f"dualauth hybrid, token in header, {store} store",
                JWT_HEADER,
                "simplejwt",
                MODE="hybrid",
                STORE=store,
            )
        )
        scenarios.append(
            _dualauth(
                f"hybrid-session-{store}",
                f"dualauth hybrid, Redis session, {store} store",
                SESSION,
                "drf-session-redis",
                MODE="hybrid",
                STORE=store,
                session_engine=CACHE_ENGINE,
            )
        )
    return scenarios


SCENARIOS: dict[str, Scenario] = {scenario.key: scenario for scenario in _all()}
BASELINES = [key for key, scenario in SCENARIOS.items() if scenario.group == "baseline"]
