"""A project's own user model (a UUID or a text primary key, no e-mail field): the user body of the API and its
OpenAPI schema follow the model instead of assuming Django's ``User``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from dualauth.serializers import user_data

from .test_openapi import generate

APP = "tests.custom_user"


@pytest.fixture
def user_model(settings: Any) -> Any:
    """``use(label)``: install tests.custom_user and make ``AUTH_USER_MODEL`` its model ``label``."""
    from django.contrib.auth import get_user_model

    def use(label: str) -> Any:
        settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, APP]
        settings.AUTH_USER_MODEL = f"custom_user.{label}"
        return get_user_model()

    return use


def test_the_user_body_has_no_email_when_the_model_has_none(user_model: Any) -> None:
    model = user_model("UuidUser")
    user = model(id=uuid.UUID(int=7), username="carol")
    assert user_data(user) == {"id": uuid.UUID(int=7), "username": "carol"}


@pytest.mark.parametrize(
    ("label", "id_schema"),
    [
        ("UuidUser", {"type": "string", "format": "uuid", "readOnly": True}),
        ("HandleUser", {"type": "string", "readOnly": True}),  # any other key: a string
    ],
)
def test_the_schema_describes_the_models_own_key_and_no_email(
    user_model: Any, tmp_path: Path, label: str, id_schema: dict[str, Any]
) -> None:
    user_model(label)
    assert generate(tmp_path)["components"]["schemas"]["DualauthUser"] == {
        "type": "object",
        "properties": {"id": id_schema, "username": {"type": "string"}},
        "required": ["id", "username"],
    }


@pytest.mark.parametrize(
    ("label", "fields"), [("UuidUser", ("user__username", "ip")), ("HandleUser", ("user__handle", "ip"))]
)
def test_the_sign_ins_screen_searches_the_fields_the_model_has(
    user_model: Any, label: str, fields: tuple[str, ...]
) -> None:
    """No e-mail field to search (Django's User adds ``user__email``)."""
    from dualauth.admin.sign_ins import _user_search_fields

    user_model(label)
    assert _user_search_fields() == fields
