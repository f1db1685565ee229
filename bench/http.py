"""Over HTTP: each scenario served by gunicorn on loopback, loaded by wrk, rounds interleaved.

Every scenario gets its own server, started once with its settings
(``BENCH_SCENARIO``); all of them run for the whole measurement, and each
round loads them one after the other in a rotated order.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scenarios import Scenario

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("wrk_report.lua")
WORKERS = 2


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    scenario: Scenario
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.scenario.path}"


@functools.cache
def _gunicorn_options() -> list[str]:
    """Newer gunicorns open a control socket at one fixed path; many servers at once must not share it."""
    help_text = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


def _start(scenario: Scenario) -> Server:
    port = spare_port()
    env = {**os.environ, "BENCH_SCENARIO": scenario.key, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    command = [
        sys.executable, "-m", "gunicorn", "bench.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS), "--worker-class", "gthread", "--threads", "1",
        "--log-level", "warning", "--keep-alive", "30", *_gunicorn_options(),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    return Server(scenario, port, process)


def _wait_ready(server: Server, deadline: float) -> None:
    url = f"http://127.0.0.1:{server.port}/floor/"
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.scenario.key}: gunicorn exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.scenario.key}: gunicorn did not answer on port {server.port}")
        time.sleep(0.2)


@contextmanager
def servers(scenarios: list[Scenario]) -> Iterator[list[Server]]:
    """Every scenario's server, ready; stopped (by their own process groups) on the way out."""
    started: list[Server] = []
    try:
        for scenario in scenarios:
            started.append(_start(scenario))
        deadline = time.monotonic() + 120
        for server in started:
            _wait_ready(server, deadline)
        yield started
    finally:
        for server in started:
            if server.process.poll() is None:
                os.killpg(server.process.pid, signal.SIGTERM)
        for server in started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk); `make bench` installs it as root")
    return path


def load(server: Server, headers: dict[str, str], seconds: float, connections: int) -> dict[str, Any]:
    """One wrk run against ``server``: its JSON line (requests, errors, p50/p99 in µs) and requests/s."""
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(LUA)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, server.url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in reversed(output.splitlines()) if line.startswith("{"))
    report: dict[str, Any] = json.loads(line)
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


@dataclass
class Loaded:
    key: str
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(report[name] for report in self.rounds)

    @property
    def errors(self) -> int:
        return sum(report["status_errors"] + report["socket_errors"] for report in self.rounds)


def headers_of(credential: dict[str, str]) -> dict[str, str]:
    """HTTP headers from the WSGI environ entries that carry a credential."""
    names = {"HTTP_AUTHORIZATION": "Authorization", "HTTP_COOKIE": "Cookie"}
    return {names[key]: value for key, value in credential.items()}


def measure(
    targets: list[tuple[Server, dict[str, str]]],
    *,
    rounds: int,
    seconds: float,
    connections: int,
    progress: Callable[[str], None] = print,
) -> dict[str, Loaded]:
    results = {server.scenario.key: Loaded(server.scenario.key) for server, _headers in targets}
    for server, headers in targets:
        warm = load(server, headers, 1, connections)
        if warm["status_errors"] or warm["requests"] == 0:
            raise RuntimeError(f"{server.scenario.key}: {warm['status_errors']} refusals while warming up")
    for round_number in range(rounds):
        shift = round_number % len(targets)
        for server, headers in targets[shift:] + targets[:shift]:
            results[server.scenario.key].rounds.append(load(server, headers, seconds, connections))
        progress(f"  HTTP round {round_number + 1}/{rounds} done")
    return results


def paired_rps_ratio(a: Loaded, b: Loaded) -> float:
    return statistics.median(x["rps"] / y["rps"] for x, y in zip(a.rounds, b.rounds, strict=True))


def head_to_head(
    a: tuple[Server, dict[str, str]], b: tuple[Server, dict[str, str]], *, pairs: int, seconds: float, connections: int
) -> list[float]:
    """Per-pair requests/s ratios a/b of loads run back to back, alternating which goes first."""
    ratios = []
    for pair in range(pairs):
        first, second = (a, b) if pair % 2 == 0 else (b, a)
        rps = {id(side): load(side[0], side[1], seconds, connections)["rps"] for side in (first, second)}
        ratios.append(rps[id(a)] / rps[id(b)])
    return ratios
