"""In-process: each scenario's WSGI handler called in a loop with a prebuilt environ.

Rounds interleave the scenarios (in a rotated order each round) so machine
drift hits them all alike; the figure is the median over rounds, and a ratio
is the median of the per-round ratios, each taken between batches run
moments apart.
"""

from __future__ import annotations

import gc
import io
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from bench.scenarios import Scenario

WRITES = ("INSERT", "UPDATE", "DELETE")


def environ(scenario: Scenario, credential: dict[str, str]) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": scenario.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "HTTP_USER_AGENT": "dualauth-bench/1.0",
        "HTTP_ACCEPT": "application/json",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **credential,
    }


class Runner:
    """One scenario's handler and request, ready to be called ``n`` times."""

    def __init__(self, scenario: Scenario, credential: dict[str, str]) -> None:
        self.scenario = scenario
        self.overrides = scenario.settings()
        with override_settings(**self.overrides):
            self.handler = WSGIHandler()
        self.environ = environ(scenario, credential)
        self.statuses: list[str] = []

    def _start_response(self, status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        self.statuses.append(status)
        return lambda data: None

    def call(self, n: int) -> float:
        """Seconds for ``n`` requests; raise if any was not a 200 (a benchmark of refusals is no benchmark)."""
        handler, base, start_response = self.handler, self.environ, self._start_response
        self.statuses.clear()
        started = time.perf_counter()
        for _ in range(n):
            request_environ = base.copy()
            request_environ["wsgi.input"] = io.BytesIO(b"")
            response = handler(request_environ, start_response)
            for _chunk in response:
                pass
            response.close()
        elapsed = time.perf_counter() - started
        refused = [status for status in self.statuses if not status.startswith("200")]
        if refused:
            request_environ = base.copy()
            request_environ["wsgi.input"] = io.BytesIO(b"")
            body = b"".join(handler(request_environ, start_response))
            raise RuntimeError(f"{self.scenario.key}: {len(refused)} of {n} requests answered {refused[0]}: {body!r}")
        return elapsed

    def batch(self, n: int, warmup: int) -> float:
        """Median-ready µs per request of one batch, in the scenario's settings."""
        with override_settings(**self.overrides):
            self.call(warmup)
            gc.collect()
            return self.call(n) / n * 1e6

    def queries(self, n: int = 20) -> tuple[float, float]:
        """Database queries and writes per request, averaged over ``n`` requests after a warm-up."""
        with override_settings(**self.overrides):
            self.call(5)
            with CaptureQueriesContext(connection) as captured:
                self.call(n)
        sqls = [query["sql"].lstrip().upper() for query in captured.captured_queries]
        return len(sqls) / n, sum(sql.startswith(WRITES) for sql in sqls) / n


@dataclass
class Measured:
    key: str
    samples: list[float] = field(default_factory=list)
    queries: float = 0.0
    writes: float = 0.0
    redis_commands: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def measure(
    runners: Iterable[Runner],
    *,
    rounds: int,
    requests: int,
    warmup: int,
    redis_commands: Callable[[], int] | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Measured]:
    runners = list(runners)
    results = {runner.scenario.key: Measured(runner.scenario.key) for runner in runners}
    for runner in runners:
        result = results[runner.scenario.key]
        result.queries, result.writes = runner.queries()
        if redis_commands is not None:
            with override_settings(**runner.overrides):
                runner.call(5)
                before = redis_commands()
                runner.call(100)
                result.redis_commands = (redis_commands() - before - 1) / 100
    for round_number in range(rounds):
        shift = round_number % len(runners)
        for runner in runners[shift:] + runners[:shift]:
            results[runner.scenario.key].samples.append(runner.batch(requests, warmup))
        progress(f"  in-process round {round_number + 1}/{rounds} done")
    return results


def paired_ratio(a: Measured, b: Measured) -> float:
    """Median of the per-round ratios a/b: each pair ran in the same round, minutes apart at most."""
    return statistics.median(x / y for x, y in zip(a.samples, b.samples, strict=True))


def head_to_head(a: Runner, b: Runner, *, pairs: int, requests: int, warmup: int) -> list[float]:
    """Per-pair cost ratios a/b of batches run back to back, alternating which goes first.

    Drift on a shared machine moves both halves of a pair alike; the median of
    many such ratios is what a target is judged on.
    """
    ratios = []
    for pair in range(pairs):
        first, second = (a, b) if pair % 2 == 0 else (b, a)
        costs = {id(first): first.batch(requests, warmup), id(second): second.batch(requests, warmup)}
        ratios.append(costs[id(a)] / costs[id(b)])
    return ratios
