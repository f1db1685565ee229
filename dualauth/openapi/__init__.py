"""drf-spectacular extensions that describe dualauth's HTTP API in a project's OpenAPI schema.

Imported by ``DualAuthConfig.ready()`` only when drf-spectacular is installed
(``pip install dualauth[openapi]``): drf-spectacular registers an extension when
its class is created, so importing this module is the whole registration, and
dualauth itself never needs drf-spectacular.

The views are described from the outside (``OpenApiViewExtension``), so
``views.py`` carries no schema annotations and no optional import.

The schema describes the **current** ``MODE`` and ``JWT_TRANSPORTS``, not the
hybrid superset: it is generated per deployment, and a client or fuzzer reading
it must only be offered what that deployment accepts. A jwt-only site has no
session-cookie scheme and its login takes no ``kind: "session"``; a
header-only site has no cookie schemes and no CSRF token; a session-only site
lists ``token/refresh/`` as the 404 it always answers. Settings are read when the
schema is generated, so a changed setting shows in the next generated schema.

Security schemes: ``dualauthBearer`` (``Authorization: Bearer``),
``dualauthAccessCookie`` and ``dualauthRefreshCookie`` (the token cookies),
``dualauthSessionCookie`` (Django's session cookie) and ``dualauthCsrf`` (the
CSRF header that every unsafe request carried by a cookie needs, together with
the CSRF cookie). Every error response refers to the one ``DualauthError``
component, the shape ``dualauth.errors`` gives all of them.

The parts: ``schemes`` (the security schemes), ``bodies`` (request and
response bodies), ``operations`` (each view). Importing this package imports
all three, which registers every extension.
"""

from . import bodies, operations, schemes
from .bodies import DualauthCsrfSerializer, DualauthErrorSerializer, DualauthRevokedSerializer

__all__ = [
    "DualauthCsrfSerializer",
    "DualauthErrorSerializer",
    "DualauthRevokedSerializer",
    "bodies",
    "operations",
    "schemes",
]
