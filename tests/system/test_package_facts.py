"""What the package says about itself, said once or said the same everywhere.

The supported Pythons and Djangos are tox.ini's matrix: setup.cfg's
classifiers and the sentence in the README and on the docs' home page name
the same ones. The version is written once, in dualauth/__init__.py:
setup.cfg reads it from there, and nothing else repeats it.
"""

from __future__ import annotations

import configparser
import itertools
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]


def tox_envs() -> list[tuple[str, str]]:
    """(Python, Django) of every env of tox.ini's envlist, braces expanded: ("3.13", "6.1")."""
    config = configparser.ConfigParser()
    config.read(ROOT / "tox.ini")
    found = []
    for line in config["tox"]["envlist"].split():
        parts = re.split(r"\{([^}]*)\}", line)
        choices = [part.split(",") if i % 2 else [part] for i, part in enumerate(parts)]
        for combination in itertools.product(*choices):
            match = re.fullmatch(r"py(\d)(\d+)-django(\d)(\d)", "".join(combination))
            assert match, f"an env name this test cannot read: {''.join(combination)}"
            found.append((f"{match[1]}.{match[2]}", f"{match[3]}.{match[4]}"))
    return found


def supported_sentence() -> str:
    """The matrix in words, as the README and docs/index.md say it."""
    by_django: dict[str, list[str]] = {}
    for python, django in tox_envs():
        by_django.setdefault(django, []).append(python)
    groups: dict[tuple[str, str], list[str]] = {}
    for django, pythons in sorted(by_django.items()):
        ordered = sorted(pythons, key=lambda v: tuple(map(int, v.split("."))))
        groups.setdefault((ordered[0], ordered[-1]), []).append(django)
    said = []
    for (low, high), djangos in groups.items():
        names = [f"{d} LTS" if d.endswith(".2") else d for d in djangos]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        said.append(f"Django {listed} on Python {low} to {high}")
    return "Supported: " + ", ".join(said) + "."


def test_setup_cfg_classifiers_name_the_pythons_and_djangos_of_tox_ini() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    classifiers = config["metadata"]["classifiers"].split("\n")
    python_classifier, django_classifier = r"Programming Language :: Python :: 3\.\d+", r"Framework :: Django :: \d\.\d"
    pythons = {c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(python_classifier, c)}
    djangos = {c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(django_classifier, c)}
    assert pythons == {python for python, _ in tox_envs()}
    assert djangos == {django for _, django in tox_envs()}
    lowest = min(pythons, key=lambda v: tuple(map(int, v.split("."))))
    assert config["options"]["python_requires"] == f">={lowest}"


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_pages_say_the_supported_versions_of_tox_ini(page: str) -> None:
    text = " ".join((ROOT / page).read_text().split())
    assert supported_sentence() in text, f"{page} should say: {supported_sentence()}"


def test_the_version_is_written_once() -> None:
    init = (ROOT / "dualauth" / "__init__.py").read_text()
    (version,) = re.findall(r'^__version__ = "([^"]+)"$', init, re.MULTILINE)
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["metadata"]["version"] == "attr: dualauth.__version__"
    # Where a copy would go: packaging metadata and the documentation site's configuration.
    for name in ("setup.cfg", "pyproject.toml", "mkdocs.yml", "tox.ini", "MANIFEST.in"):
        assert not re.search(rf"\b{re.escape(version)}\b", (ROOT / name).read_text()), f"{name} repeats {version}"
    assert not re.search(r'^version\s*=\s*"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
