"""Errors the service layer raises; adapters map them to HTTP (401) or ignore them."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

__all__ = ["UNRECORDED", "NotRecorded", "SignInRefused"]

UNRECORDED = _("The sign-out could not be recorded; try again in a moment.")


class NotRecorded(Exception):
    """The database could not record the end of a sign-in: the caller must not say it ended (``UNRECORDED``)."""


class SignInRefused(Exception):
    """A credential was presented and is not (or no longer) good."""

    def __init__(self, detail: str | Promise, code: str = "not_authenticated") -> None:
        super().__init__(detail)
        # Translated when read, in the language of the request that reads it.
        self.detail = detail
        self.code = code
