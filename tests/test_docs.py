"""The settings reference cannot drift from the settings object."""

from __future__ import annotations

import re
from pathlib import Path

from dualauth.conf import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent


def test_settings_reference_lists_every_key_and_nothing_else() -> None:
    text = (ROOT / "docs" / "settings.md").read_text()
    documented = re.findall(r"^\| `([A-Z_]+)` \|", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(DEFAULTS)


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:15])
    assert "make demo" in head
    assert "make test" in head
