"""The request being served, for code that Django calls without it.

Two flows reach it, and this module is where both are named:

- a user's ``post_save`` (``receivers``): when a user changes their own
  password or privileges, the sign-in making the request is kept (and its
  session renewed) while the user's other sign-ins end;
- a password check made without a request (``throttling``): it counts
  against the address of the client being served.

``DualAuthMiddleware`` is the only writer, for the length of each request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.http import HttpRequest

_current: ContextVar[HttpRequest | None] = ContextVar("dualauth_current_request", default=None)


@contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    """``request`` is the one being served inside this block (its thread, or its task)."""
    token = _current.set(request)
    try:
        yield
    finally:
        _current.reset(token)


def get() -> HttpRequest | None:
    return _current.get()
