"""One table per measurement, printed and written to ``bench/results/`` as Markdown and JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = Path(os.environ.get("BENCH_RESULTS") or HERE / "results")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=HERE
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment(servers: dict[str, str]) -> dict[str, Any]:
    packages = ["Django", "djangorestframework", "djangorestframework-simplejwt", "PyJWT", "django-redis", "redis",
                "psycopg", "gunicorn"]  # fmt: skip
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in packages},
        "servers": servers,
        "machine": {"cpu": _cpu(), "cores": os.cpu_count(), "system": platform.platform()},
    }


def _version(name: str) -> str:
    try:
        return version(name)
    except Exception:  # noqa: BLE001 - a package the run did not need
        return "not installed"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "--:" for i in range(len(headers))) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}×"


def write(sections: list[tuple[str, str]], data: dict[str, Any]) -> tuple[Path, Path]:
    """Write the run; return the Markdown and JSON paths."""
    RESULTS.mkdir(exist_ok=True)
    env = data["environment"]
    stem = f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{env['commit']}"
    head = (
        f"# dualauth benchmark, {env['date']}, commit {env['commit']}\n\n"
        f"Python {env['python']}; "
        + ", ".join(f"{name} {value}" for name, value in env["packages"].items())
        + "; "
        + ", ".join(f"{name} {value}" for name, value in env["servers"].items())
        + f".\nMachine: {env['machine']['cpu']}, {env['machine']['cores']} cores, {env['machine']['system']}.\n"
        + f"Command: `{data['command']}`\n"
    )
    markdown = head + "".join(f"\n## {title}\n\n{body}\n" for title, body in sections)
    md_path, json_path = RESULTS / f"{stem}.md", RESULTS / f"{stem}.json"
    md_path.write_text(markdown)
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return md_path, json_path
