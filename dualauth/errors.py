"""JSON errors for dualauth's views: ``{"detail", "code"}``, plus ``"errors"`` for field problems."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import UNRECORDED


class Unavailable(exceptions.APIException):
    """What could not be recorded was not done: try again (``Retry-After``)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = UNRECORDED
    default_code = "unavailable"
    wait = 5


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "too_large"


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("Malformed request.")
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    if isinstance(detail, (dict, list)):
        errors = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = {"detail": _("Invalid input."), "code": "invalid", "errors": _flatten(errors)}
    else:
        response.data = {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}
    return response
