"""Session, JWT or both, behind one setting, with revocation that holds in every mode.

The words used throughout the code and the docs (docs/architecture.md):

sign-in
    One authenticated client, whatever carries it: one ``AuthSession`` row.
    Ending it (revoking) refuses that client on its next request.
Django session
    What ``django.contrib.sessions`` keeps for a browser; a sign-in of the
    session kind lives in one, under ``SESSION_SID_KEY``.
kind
    What carries a sign-in: ``session`` (a Django session) or ``jwt`` (a
    refresh and an access token). Every sign-in has exactly one.
mode
    Which kinds a project accepts (``DUALAUTH["MODE"]``): ``session``,
    ``jwt``, or ``hybrid`` for both.
transport
    How a jwt-kind sign-in's tokens travel: the ``Authorization`` header or
    HttpOnly cookies (``JWT_TRANSPORTS``).
state store
    What answers "is this sign-in live?" on each request
    (``DUALAUTH["STORE"]``, ``dualauth.stores``): the database, or Redis in
    front of it. The database is always the source of truth.
session store
    Where Django keeps sessions (``SESSION_ENGINE``): the project's choice,
    not dualauth's. The admin's "Session store" screen shows it.
"""

__version__ = "0.1.0"
