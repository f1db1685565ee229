"""Build dualauth's sdist and wheel, and check what they hold (`make dist`; the release workflow).

    python .ci/dist.py build [DIST]       the sdist and the wheel into DIST (default dist/), built from a
                                          clean copy of the tree
    python .ci/dist.py check [DIST] [--tag vX.Y.Z]
                                          what they hold; with --tag, that the tag names this version and
                                          CHANGELOG.md has a dated section for it

Why a copy: an editable install leaves dualauth.egg-info in the tree, and setuptools takes an sdist's file
list from its SOURCES.txt as well as from MANIFEST.in and package_data, so a file they lose would still
ship from here and go missing only in a clean checkout's build. The copy leaves out what git ignores.

The check: every file of dualauth/ in the tree (modules, migrations, templates, static files, translations
with their compiled .mo, py.typed) is in the wheel and in the sdist; nothing of the repository's own site
(tests/, example_project/, bench/, docs/) nor bytecode is in either; both carry the version that
dualauth/__init__.py declares, the one place it is written.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "dualauth"
# What a build must never read from the tree: local state, and what git ignores.
LOCAL_ONLY = (
    ".git",
    ".venv*",
    ".tox",
    "*.egg-info",
    "build",
    "dist",
    "site",
    "test-output",
    "mutants",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "*.sqlite3",
    "*.py[co]",
    ".coverage*",
)
FORBIDDEN_TOP = ("tests/", "example_project/", "bench/", "docs/", ".ci/", ".github/")
SDIST_EXTRAS = {"LICENSE", "README.md", "CHANGELOG.md", "SECURITY.md", "setup.cfg", "pyproject.toml"}


def version() -> str:
    """``__version__`` from dualauth/__init__.py, read without importing the package."""
    tree = ast.parse((ROOT / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            value = ast.literal_eval(node.value)
            if isinstance(value, str):
                return value
    raise SystemExit(f"no __version__ in {PACKAGE}/__init__.py")


def package_files() -> set[str]:
    """Every file of the package in the tree, by its path inside a distribution."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }


def build(dist: Path) -> None:
    shutil.rmtree(dist, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="dualauth-build-") as scratch:
        source = Path(scratch) / "dualauth"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
        subprocess.run(
            [sys.executable, "-m", "build", "--quiet", "--outdir", str(dist.resolve()), str(source)], check=True
        )


def category(name: str) -> str:
    inner = name.removeprefix(f"{PACKAGE}/")
    if inner.startswith("migrations/"):
        return "migrations"
    if inner.startswith("templates/"):
        return "templates"
    if inner.startswith("static/"):
        return "static"
    if inner.startswith("locale/"):
        return "locale " + Path(name).suffix
    if inner == "py.typed":
        return "py.typed"
    return "modules" if name.endswith(".py") else "other"


def problems_of(kind: str, names: set[str], expected: set[str]) -> list[str]:
    found = []
    missing = sorted(expected - names)
    if missing:
        found.append(f"{kind} lacks {len(missing)} file(s) of {PACKAGE}/: {', '.join(missing[:10])}")
    strays = sorted(
        n for n in names if n.startswith(FORBIDDEN_TOP) or "__pycache__" in n or n.endswith((".pyc", ".pyo"))
    )
    if strays:
        found.append(f"{kind} holds what it must not: {', '.join(strays[:10])}")
    po = {n for n in expected if n.endswith(".po")}
    found.extend(
        f"{kind} lacks {n[:-3]}.mo, and so does the tree: compile the translations (manage.py compilemessages)"
        for n in sorted(po)
        if n[:-3] + ".mo" not in names | expected
    )
    return found


def summary(names: set[str]) -> str:
    counts = Counter(category(n) for n in names if n.startswith(f"{PACKAGE}/"))
    languages = sorted({n.split("/")[2] for n in names if n.startswith(f"{PACKAGE}/locale/") and n.endswith(".mo")})
    parts = [f"{counts[c]} {c}" for c in ("modules", "migrations", "templates", "static") if counts[c]]
    parts.append(f"{counts['locale .mo']} .mo ({', '.join(languages) or 'none'})")
    parts.append("py.typed" if counts["py.typed"] else "NO py.typed")
    return ", ".join(parts)


def check(dist: Path, tag: str | None) -> int:
    wanted = version()
    problems: list[str] = []
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if [w.name for w in wheels] != [f"{PACKAGE}-{wanted}-py3-none-any.whl"]:
        problems.append(
            f"{dist}/ should hold one wheel, {PACKAGE}-{wanted}-py3-none-any.whl: {[w.name for w in wheels]}"
        )
    if [s.name for s in sdists] != [f"{PACKAGE}-{wanted}.tar.gz"]:
        problems.append(f"{dist}/ should hold one sdist, {PACKAGE}-{wanted}.tar.gz: {[s.name for s in sdists]}")
    expected = package_files()
    if not problems:
        with zipfile.ZipFile(wheels[0]) as archive:
            in_wheel = {n for n in archive.namelist() if not n.endswith("/")}
            metadata = archive.read(f"{PACKAGE}-{wanted}.dist-info/METADATA").decode()
        with tarfile.open(sdists[0]) as archive:
            prefix = f"{PACKAGE}-{wanted}/"
            in_sdist = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
        own = {n for n in in_wheel if not n.startswith(f"{PACKAGE}-{wanted}.dist-info/")}
        problems += problems_of("the wheel", own, expected)
        problems += problems_of("the sdist", in_sdist, expected)
        if strays := sorted(n for n in own if not n.startswith(f"{PACKAGE}/")):
            problems.append(f"the wheel installs outside {PACKAGE}/: {', '.join(strays[:10])}")
        problems += [f"the sdist lacks {n}" for n in sorted(SDIST_EXTRAS - in_sdist)]
        if f"\nVersion: {wanted}\n" not in metadata:
            problems.append(f"the wheel's METADATA does not say Version: {wanted}")
        for extra in ("openapi",):
            if f"Provides-Extra: {extra}" not in metadata:
                problems.append(f"the wheel's METADATA lacks the {extra} extra")
        print(f"{wheels[0]}: {len(own)} files: {summary(own)}")
        print(f"{sdists[0]}: {len(in_sdist)} files: {summary(in_sdist)}, and {', '.join(sorted(SDIST_EXTRAS))}")
        if not problems:
            print(
                f"both hold all {len(expected)} files of {PACKAGE}/ in the tree, "
                "and no tests/, example_project/, bench/, docs/ or bytecode"
            )
    if tag is not None:
        if tag != f"v{wanted}":
            problems.append(f"the tag {tag!r} is not v{wanted}, the version dualauth/__init__.py declares")
        changelog = (ROOT / "CHANGELOG.md").read_text()
        if not re.search(rf"^## \[{re.escape(wanted)}\] — \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.MULTILINE):
            problems.append(f"CHANGELOG.md has no dated section '## [{wanted}] — YYYY-MM-DD'")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("dist", nargs="?", type=Path, default=ROOT / "dist")
    parser.add_argument("--tag", help="check: the release tag, e.g. v0.2.0")
    args = parser.parse_args()
    if args.command == "build":
        build(args.dist)
        return 0
    return check(args.dist, args.tag)


if __name__ == "__main__":
    sys.exit(main())
