"""The package as users get it: built by ``python -m build``, installed from the wheel into a fresh venv.

Editable installs read templates, migrations and translations straight from the
source tree, so a file left out of the wheel goes unnoticed by every other
test. Here the wheel is built from the sdist (as ``python -m build`` does), so
a file left out of either fails, and a throwaway project that knows nothing of
this repository checks, migrates and serves a sign-in from the installed copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dualauth"
LOCAL_ONLY = (
    ".git",
    ".venv",
    ".tox",
    "*.egg-info",
    "build",
    "dist",
    "site",
    "test-output",
    "__pycache__",
    ".*_cache",
    "*.sqlite3",
    "*.py[co]",
)

SMOKE = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.test import Client
from django.test.utils import setup_test_environment
from django.utils import translation
import dualauth

setup_test_environment()

assert "site-packages" in dualauth.__file__, dualauth.__file__
User = get_user_model()
User.objects.create_superuser("admin", "admin@example.com", "a long demo password")
client = Client()
login = client.post("/api/auth/login/", {"username": "admin", "password": "a long demo password"},
                    content_type="application/json")
me = client.get("/api/auth/me/")
admin = client.get("/admin/dualauth/authsession/")
revoke = client.get("/admin/dualauth/authsession/revoke-token/")
with translation.override("fr"):
    refused = Client().post("/api/auth/login/", {"username": "admin", "password": "wrong"},
                            content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr")
print(json.dumps({"login": login.status_code, "me": me.status_code, "kind": me.json()["kind"],
                  "admin": admin.status_code, "revoke_token": revoke.status_code,
                  "refused": refused.status_code, "refused_detail": refused.json()["detail"],
                  "static": "site-packages" in (finders.find("dualauth/client.js") or "")}))
"""

WIRING = """
INSTALLED_APPS += ["rest_framework", "rest_framework_simplejwt.token_blacklist", "dualauth"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "dualauth.middleware.DualAuthMiddleware",
)
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
                  "django.middleware.locale.LocaleMiddleware")
AUTHENTICATION_BACKENDS = ["dualauth.backends.ThrottledModelBackend"]
REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["dualauth.authentication.DualAuthentication"]}
DUALAUTH = {"MODE": "hybrid"}
"""


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, f"{' '.join(map(str, command))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def shipped_files() -> set[str]:
    """Every file of the package in the source tree, by its path inside the distribution."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A copy without the editable install's dualauth.egg-info: setuptools would take its file list
    # from there, and the build would pass with a MANIFEST.in or package_data that loses files.
    source = tmp_path_factory.mktemp("source") / "dualauth"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, source, cwd=source)
    return out


def test_the_sdist_and_the_wheel_hold_every_file_of_the_package(dist: Path) -> None:
    (wheel,) = dist.glob("dualauth-*.whl")
    (sdist,) = dist.glob("dualauth-*.tar.gz")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as archive:
        prefix = archive.getnames()[0].split("/")[0] + "/"
        in_sdist = {name.removeprefix(prefix) for name in archive.getnames()}

    expected = shipped_files()
    assert {
        "dualauth/py.typed",
        "dualauth/locale/fr/LC_MESSAGES/django.mo",
        "dualauth/static/dualauth/client.js",
    } <= expected
    assert any(name.startswith("dualauth/migrations/0001") for name in expected)
    assert any(name.startswith("dualauth/templates/admin/dualauth/") for name in expected)
    assert sorted(expected - in_wheel) == []
    assert sorted(expected - in_sdist) == []
    assert {"LICENSE", "README.md", "CHANGELOG.md"} <= in_sdist
    assert not [name for name in in_wheel | in_sdist if "__pycache__" in name or name.startswith("tests/")]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in in_wheel if n.endswith("METADATA"))).decode()
    assert "Provides-Extra: openapi" in metadata


def test_the_wheel_installs_into_a_fresh_venv_and_runs_a_new_project(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("dualauth-*.whl")
    venv.create(tmp_path / "venv", with_pip=True, clear=True)
    python = tmp_path / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, cwd=tmp_path)
    run(tmp_path / "venv" / "bin" / "django-admin", "startproject", "throwaway", cwd=tmp_path)
    project = tmp_path / "throwaway"
    with (project / "throwaway" / "settings.py").open("a") as settings:
        settings.write(WIRING)
    urls = project / "throwaway" / "urls.py"
    urls.write_text(
        urls.read_text()
        .replace("from django.urls import path", "from django.urls import include, path")
        .replace("path('admin/'", "path('api/auth/', include('dualauth.urls')),\n    path('admin/'")
        .replace('path("admin/"', 'path("api/auth/", include("dualauth.urls")),\n    path("admin/"')
    )
    # Nothing from this checkout may leak in: no PYTHONPATH, and the project runs from its own folder.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV"))}
    env["DJANGO_SETTINGS_MODULE"] = "throwaway.settings"

    checked = run(python, "manage.py", "check", "--fail-level", "WARNING", cwd=project, env=env)
    assert "no issues" in checked
    run(python, "manage.py", "migrate", "--noinput", cwd=project, env=env)
    pending = run(python, "manage.py", "makemigrations", "--check", "--dry-run", "dualauth", cwd=project, env=env)
    assert "No changes detected" in pending
    report = run(python, "-c", textwrap.dedent(SMOKE), cwd=project, env={**env, "PYTHONPATH": str(project)})
    result = json.loads(report.splitlines()[-1])
    assert "identifiants" in result.pop("refused_detail")
    assert result == {
        "login": 200,
        "me": 200,
        "kind": "session",
        "admin": 200,
        "revoke_token": 200,
        "refused": 401,
        "static": True,
    }
