"""``make bench`` keeps working: one short in-process run of a dualauth scenario against its baselines.

The figures mean nothing at this size; the run proves the harness signs in
every way it measures, gets only 200s, and writes its tables. It starts
processes of its own, so it runs once, with the system tests. The benchmark
has its own database (``dualauth_bench``) and Redis database (14).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_short_bench_run_writes_its_tables(tmp_path: Path, redis_url: str) -> None:
    env = {**os.environ, "BENCH_RESULTS": str(tmp_path), "DJANGO_SETTINGS_MODULE": "bench.settings"}
    command = [
        sys.executable,
        "-m",
        "bench",
        "--skip",
        "http,scale",
        "--rounds",
        "1",
        "--requests",
        "3",
        "--stored",
        "20",
    ]
    command += ["--only", "jwt-header-redis,session-redis-redis,hybrid-header-database"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    (markdown,) = tmp_path.glob("*.md")
    (data,) = tmp_path.glob("*.json")
    text = markdown.read_text()
    assert "| dualauth jwt, header, redis store |" in text
    assert "simplejwt JWTAuthentication" in text
    results = json.loads(data.read_text())
    assert set(results["inprocess"]) >= {"floor", "simplejwt", "drf-session-redis", "jwt-header-redis"}
    assert results["inprocess"]["jwt-header-redis"]["queries"] == 1
    assert results["inprocess"]["jwt-header-redis"]["writes"] == 0
    assert "## Storage: bytes per sign-in" in text
    # 20 sign-ins are too few to grow a table by whole pages: only Redis's per-entry figure is exact here.
    jwt, session = results["storage"]["jwt"], results["storage"]["session"]
    assert set(jwt) == set(session)
    assert jwt["Django sessions (django_session)"] == 0
    assert session["outstanding refresh tokens (simplejwt)"] == 0
    assert session["Redis state-store entry (MEMORY USAGE)"] > jwt["Redis state-store entry (MEMORY USAGE)"] > 0
