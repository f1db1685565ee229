"""The request and response bodies of dualauth's API, as the current settings shape them."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.module_loading import import_string
from drf_spectacular.extensions import (
    OpenApiSerializerExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import Direction
from rest_framework import serializers

from ..conf import TRANSPORTS, dualauth_settings
from ..credentials import HEADER
from ..models import Kind


class DualauthErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Every refusal of dualauth's views (``dualauth.errors.exception_handler``)."""

    detail = serializers.CharField(help_text="A human-readable message, in the request's language.")
    code = serializers.CharField(help_text="A stable machine-readable code, e.g. `invalid`, `not_authenticated`.")
    # DRF's metaclass takes declared fields out of the class, so this does not shadow ``Serializer.errors``.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="On a 400 about fields only: the messages of each field.",
    )


class DualauthRevokedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    revoked = serializers.IntegerField(min_value=0, help_text="How many sign-ins were revoked.")


class DualauthCsrfSerializer(serializers.Serializer):  # type: ignore[type-arg]
    csrf_token = serializers.CharField(help_text="Also set as the CSRF cookie.")


class _Serializer(OpenApiSerializerExtension):
    # drf-spectacular's own __init_subclass__ (its registry) is untyped: one typed override, so that mypy --strict
    # does not flag every extension class below as a call to an untyped function.
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)  # type: ignore[no-untyped-call]


class UserSerializerScheme(_Serializer):
    """The default ``USER_SERIALIZER`` builds its body by hand; a project's own serializer is introspected."""

    target_class = "dualauth.serializers.UserSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Direction) -> str:
        return "DualauthUser"

    def map_serializer(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        user_model = get_user_model()
        properties: dict[str, Any] = {
            "id": _pk_schema(user_model._meta.pk),
            "username": {"type": "string"},
        }
        if any(field.name == user_model.get_email_field_name() for field in user_model._meta.get_fields()):
            properties["email"] = {"type": "string"}
        return {"type": "object", "properties": properties, "required": ["id", "username"]}


def _pk_schema(field: Any) -> dict[str, Any]:
    if isinstance(field, models.IntegerField):  # the AutoFields are IntegerFields
        return {"type": "integer", "readOnly": True}
    if isinstance(field, models.UUIDField):
        return {"type": "string", "format": "uuid", "readOnly": True}
    return {"type": "string", "readOnly": True}


class AuthSessionSerializerScheme(_Serializer):
    target_class = "dualauth.serializers.AuthSessionSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Direction) -> str:
        return "DualauthSignIn"


class RefreshSerializerScheme(_Serializer):
    target_class = "dualauth.serializers.RefreshSerializer"

    def get_name(self, auto_schema: AutoSchema, direction: Direction) -> str:
        return _request_name("DualauthRefresh")


def _request_name(name: str) -> str:
    """``COMPONENT_SPLIT_REQUEST`` appends "Request" to request components itself."""
    return name if spectacular_settings.COMPONENT_SPLIT_REQUEST else f"{name}Request"


def user_serializer() -> Any:
    return import_string(dualauth_settings.USER_SERIALIZER)


def current_kinds() -> list[str]:
    return [kind for kind in Kind.values if dualauth_settings.MODE in ("hybrid", kind)]


def _kind_help(kinds: tuple[str, ...]) -> str:
    if len(kinds) > 1:
        return "Default: HYBRID_DEFAULT_KIND."
    return f"The site is in {kinds[0]} mode: only {kinds[0]!r} (the default); another kind is a 400."


def current_transports() -> list[str]:
    return [t for t in TRANSPORTS if t in dualauth_settings.JWT_TRANSPORTS] if dualauth_settings.jwt_enabled else []


def _serializer(name: str, fields: dict[str, serializers.Field[Any, Any, Any, Any]]) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    serializer: type[serializers.Serializer] = type(name, (serializers.Serializer,), fields)  # type: ignore[type-arg]
    return serializer


def _token_fields(transports: tuple[str, ...], *, jwt_only: bool) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
    """Expiries in every jwt body; the tokens themselves only with header transport."""
    jwt_note = "" if jwt_only else " jwt sign-ins only."
    fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {}
    if HEADER in transports:
        required = jwt_only and transports == (HEADER,)
        note = jwt_note if transports == (HEADER,) else " Header transport only (cookie transport: only in cookies)."
        fields["access"] = serializers.CharField(required=required, help_text="The access token." + note)
        fields["refresh"] = serializers.CharField(required=required, help_text="The refresh token." + note)
    for name in ("access_expires_at", "refresh_expires_at"):
        fields[name] = serializers.DateTimeField(required=jwt_only, help_text=jwt_note.strip() or None)
    return fields


@functools.cache
def login_serializers(
    kinds: tuple[str, ...], transports: tuple[str, ...], user_serializer: Any, split: bool
) -> tuple[type[serializers.Serializer], type[serializers.Serializer]]:  # type: ignore[type-arg]
    """Request and response of login for one configuration; memoised so each is one component."""
    request_fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "username": serializers.CharField(),
        "password": serializers.CharField(write_only=True),
        "kind": serializers.ChoiceField(
            # Every ``kind`` field of the schema shares one enum component; the mode's limit is in words.
            choices=Kind.choices,
            required=False,
            help_text=_kind_help(kinds),
        ),
    }
    if transports:
        request_fields["transport"] = serializers.ChoiceField(
            choices=list(transports),
            required=False,
            help_text="jwt sign-ins only. Default: the first of JWT_TRANSPORTS.",
        )
    response_fields: dict[str, serializers.Field[Any, Any, Any, Any]] = {
        "user": user_serializer(),
        "kind": serializers.ChoiceField(choices=Kind.choices),
        "session_id": serializers.UUIDField(help_text="The sign-in's id, as listed by sessions/."),
    }
    if transports:
        response_fields.update(_token_fields(transports, jwt_only=Kind.SESSION not in kinds))
    return (
        _serializer(f"{_request_name('DualauthLogin')}Serializer", request_fields),
        _serializer("DualauthLoginSerializer", response_fields),
    )


@functools.cache
def refresh_serializer(transports: tuple[str, ...]) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    return _serializer("DualauthTokensSerializer", _token_fields(transports, jwt_only=True))


@functools.cache
def me_serializer(user_serializer: Any) -> type[serializers.Serializer]:  # type: ignore[type-arg]
    return _serializer(
        "DualauthMeSerializer",
        {
            "user": user_serializer(),
            "kind": serializers.ChoiceField(choices=Kind.choices),
            "session_id": serializers.UUIDField(allow_null=True),
        },
    )
