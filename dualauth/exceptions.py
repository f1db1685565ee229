"""Errors the service layer raises; adapters map them to HTTP (401) or ignore them."""

from __future__ import annotations


class SignInRefused(Exception):
    """A credential was presented and is not (or no longer) good."""

    def __init__(self, detail: str, code: str = "not_authenticated") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
