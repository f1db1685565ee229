"""The service layer: the only writer of ``AuthSession`` and the only caller of a state store's ``changed()``.

Views, DRF classes, middleware, admin, commands and signal receivers are
adapters over the names below; nothing else is part of the service layer's
public API. ``sign_in()`` is for a project's own SSO or MFA view, once its
own checks have passed: it starts a sign-in of either kind.

The modules, one concern each:

- ``starting``: a Django ``login()`` tracked, or a new token pair;
- ``checking``: the hot path (is this sign-in live, is its user still the
  one it was bound to) and recording activity;
- ``refreshing``: refresh-token rotation and re-use;
- ``revoking``: ending one sign-in, a user's, everyone's;
- ``binding``: a sign-in's binding to its user's password and privileges;
- ``logout``: logging out, also while a store is down;
- ``retention``: deleting what no longer needs keeping;
- ``token_inspection``: tokens pasted into the admin, simplejwt's rows;
- ``issuing``, ``simplejwt_tables``, ``django_sessions``: tokens, simplejwt's
  tables and Django sessions, as the modules above use them;
- ``shared``: what adapters need without reaching into the lifecycle.

The terms (sign-in, Django session, kind, mode, transport, state store,
session store) are defined in ``dualauth``'s package docstring.
"""

from ..stores import SignInState, hash_session_key
from .binding import password_rehashed, still_bound, user_changed
from .checking import check, check_access_token, check_overlapping, follow_session_key, touch
from .django_sessions import end_request_session, keep_session_cookie, load_many
from .logout import end_lost_session, log_out, sign_ins_of_session
from .refreshing import refresh
from .retention import Cleanup, cleanup, deliver_pending
from .revoking import (
    active_sign_ins,
    end_sign_ins,
    end_unloadable_session,
    revoke,
    revoke_everyone,
    revoke_own,
    revoke_user,
    sign_in_deleted,
)
from .shared import ENDED, INVALID_TOKEN, SESSION_SID_KEY, CheckedToken, IssuedTokens, SignIn, default_kind
from .simplejwt_tables import end_legacy_tokens, outstanding_sid
from .starting import adopt_session, record_session_login, sign_in
from .token_inspection import TokenReport, blacklist_refresh_token, inspect_token, kill_session, revoke_token

__all__ = [
    "ENDED",
    "INVALID_TOKEN",
    "SESSION_SID_KEY",
    "CheckedToken",
    "Cleanup",
    "IssuedTokens",
    "SignIn",
    "SignInState",
    "TokenReport",
    "active_sign_ins",
    "adopt_session",
    "blacklist_refresh_token",
    "check",
    "check_access_token",
    "check_overlapping",
    "cleanup",
    "default_kind",
    "deliver_pending",
    "end_legacy_tokens",
    "end_lost_session",
    "end_request_session",
    "end_sign_ins",
    "end_unloadable_session",
    "follow_session_key",
    "hash_session_key",
    "inspect_token",
    "keep_session_cookie",
    "kill_session",
    "load_many",
    "log_out",
    "outstanding_sid",
    "password_rehashed",
    "record_session_login",
    "refresh",
    "revoke",
    "revoke_everyone",
    "revoke_own",
    "revoke_token",
    "revoke_user",
    "sign_in",
    "sign_in_deleted",
    "sign_ins_of_session",
    "still_bound",
    "touch",
    "user_changed",
]
