"""Every user-facing message can be translated, and dualauth ships French."""

from __future__ import annotations

import gettext
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from .conftest import SignInClient

pytestmark = pytest.mark.django_db

LOCALE = Path(__file__).resolve().parent.parent / "dualauth" / "locale"


def _pairs(po: str) -> dict[str, str]:
    pairs = {}
    for block in po.split("\n\n"):
        match = re.search(r'^msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)msgstr ((?:"(?:[^"\\]|\\.)*"\n?)+)', block, re.MULTILINE)
        if match:
            msgid, msgstr = ("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', part)) for part in match.groups())
            if msgid:
                pairs[msgid.replace('\\"', '"')] = msgstr.replace('\\"', '"')
    return pairs


def test_the_french_catalogue_translates_every_message_and_is_compiled() -> None:
    pairs = _pairs((LOCALE / "fr" / "LC_MESSAGES" / "django.po").read_text())
    assert len(pairs) > 90
    assert not [msgid for msgid, msgstr in pairs.items() if not msgstr]
    with (LOCALE / "fr" / "LC_MESSAGES" / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    assert {msgid: catalogue.gettext(msgid) for msgid in pairs} == pairs  # the .mo is the .po, compiled


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("en", "Unable to sign in with the given credentials."),
        ("fr", "Impossible de se connecter avec les identifiants fournis."),
    ],
)
def test_an_api_error_speaks_the_request_s_language(alice: Any, use_mode: Any, language: str, detail: str) -> None:
    use_mode("jwt")
    with translation.override(language):
        response = SignInClient("header").login("alice", "wrong password")
    assert response.status_code == 401
    assert response.json() == {"detail": detail, "code": "invalid_credentials"}


def test_a_refused_token_is_explained_in_french(alice: Any, use_mode: Any) -> None:
    use_mode("jwt")
    client = SignInClient("header")
    client.login("alice")
    client.post("/api/auth/logout/")
    with translation.override("fr"):
        response = client.get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Cette connexion a pris fin."
