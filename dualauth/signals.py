"""Signals dualauth sends. Declarations only; receivers live in ``receivers.py``."""

from django.dispatch import Signal

__all__ = ["refresh_reuse_detected", "session_revoked", "session_started"]

# A sign-in started. Arguments: auth_session (AuthSession), request (HttpRequest or None).
session_started = Signal()

# A sign-in was revoked. Arguments: auth_session (AuthSession, already saved as revoked),
# reason (str).
session_revoked = Signal()

# A rotated refresh token was presented again; its sign-in is being revoked.
# Arguments: auth_session (AuthSession), jti (str, the re-used token's id), request.
refresh_reuse_detected = Signal()
