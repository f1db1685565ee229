"""Every requirement in ``tests/requirements.py`` is proved by at least one test that names it."""

from __future__ import annotations

from pathlib import Path

from .requirements import REQUIREMENTS

TESTS = Path(__file__).resolve().parent


def test_every_requirement_is_named_by_a_test() -> None:
    sources = "\n".join(path.read_text() for path in TESTS.rglob("test_*.py") if path.name != "test_requirements.py")
    unused = sorted(id_ for id_ in REQUIREMENTS if f'"{id_}"' not in sources)
    assert not unused, f"requirements no test names: {unused}"
