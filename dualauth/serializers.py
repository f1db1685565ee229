"""Request and response shapes of the HTTP API."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from rest_framework import serializers

from .client_info import device_label
from .conf import KINDS, TRANSPORTS, dualauth_settings
from .models import AuthSession, Kind
from .services import default_kind

PASSWORD_MAX_LENGTH = 4096
USERNAME_MAX_LENGTH = 254


class UserSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The default ``USER_SERIALIZER``: what any user model has."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"id": instance.pk, "username": instance.get_username()}
        email_field = instance.get_email_field_name()
        if hasattr(instance, email_field):
            data["email"] = getattr(instance, email_field)
        return data


def user_data(user: Any) -> dict[str, Any]:
    serializer_class = import_string(dualauth_settings.USER_SERIALIZER)
    return serializer_class(user).data  # type: ignore[no-any-return]


class LoginSerializer(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH, trim_whitespace=False)
    password = serializers.CharField(max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False)
    kind = serializers.ChoiceField(choices=KINDS, required=False)
    transport = serializers.ChoiceField(choices=TRANSPORTS, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        mode = dualauth_settings.MODE
        kind = attrs.setdefault("kind", default_kind())
        if mode != "hybrid" and kind != mode:
            raise serializers.ValidationError({"kind": [_("Only %(mode)r sign-ins are enabled.") % {"mode": mode}]})
        transports = dualauth_settings.JWT_TRANSPORTS
        if kind == Kind.SESSION:
            if "transport" in attrs:
                raise serializers.ValidationError({"transport": [_("Only jwt sign-ins take a transport.")]})
        else:
            transport = attrs.setdefault("transport", transports[0])
            if transport not in transports:
                raise serializers.ValidationError(
                    {"transport": [_("Transport %(transport)r is not enabled.") % {"transport": transport}]}
                )
        return attrs


class RefreshSerializer(serializers.Serializer):  # type: ignore[type-arg]
    refresh = serializers.CharField(required=False, trim_whitespace=False)


class AuthSessionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    device = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()

    class Meta:
        model = AuthSession
        fields = ["id", "kind", "ip", "user_agent", "device", "created_at", "last_seen_at", "expires_at", "current"]

    def get_device(self, obj: AuthSession) -> str:
        return device_label(obj.user_agent)

    def get_current(self, obj: AuthSession) -> bool:
        return obj.pk == self.context.get("current_sid")
