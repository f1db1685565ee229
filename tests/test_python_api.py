"""Every name a public module exports is documented in docs/python-api.md, and nothing else is exported."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"
PUBLIC = ["dualauth.services", "dualauth.signals", "dualauth.exceptions", "dualauth.stores"]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_exported_name_is_documented(name: str) -> None:
    module = importlib.import_module(name)
    defined = set(re.findall(r"\*\*`(\w+)", PAGE.read_text()))
    missing = sorted(set(module.__all__) - defined)
    assert not missing, f"{name} exports names docs/python-api.md does not document: {missing}"


@pytest.mark.parametrize("name", PUBLIC)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    assert all(hasattr(module, attr) for attr in module.__all__)
