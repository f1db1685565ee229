"""``python -m bench``: run every measurement, print the tables, write them to ``bench/results/``."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from bench.site import setup_django

# (scenario, baseline, at most this cost ratio, what): issue 6's in-process targets.
IN_PROCESS_TARGETS = [
    (
        "jwt-header-redis",
        "simplejwt",
        0.90,
        "jwt, Redis store, revocation checked, cost vs simplejwt JWTAuthentication",
    ),
    (
        "session-redis-redis",
        "drf-session-redis",
        1.05,
        "session, Redis sessions, tracked, cost vs DRF SessionAuthentication on Redis sessions",
    ),
]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="in-process rounds (default 5)")
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario per round (default 300)")
    parser.add_argument("--http-rounds", type=int, default=3, help="HTTP rounds (default 3)")
    parser.add_argument(
        "--http-seconds", type=int, default=1, help="seconds of load per scenario per round (default 1)"
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--large", type=int, default=1_000_000, help="sign-ins in the large store (default 1e6)")
    parser.add_argument("--small", type=int, default=1_000, help="sign-ins in the small store (default 1000)")
    parser.add_argument("--listed", type=int, default=10_000, help="sign-ins of the listed user (default 10000)")
    parser.add_argument("--pairs", type=int, default=16, help="head-to-head pairs per target (default 16)")
    parser.add_argument("--only", default="", help="comma-separated scenario keys (with their baselines)")
    parser.add_argument("--stored", type=int, default=2_000, help="sign-ins per kind for the storage figures")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: inprocess, http, scale, storage")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    started = time.monotonic()
    setup_django()

    import django_redis
    from django.db import connection

    from bench import http, inprocess, report, scale, site, storage
    from bench.scenarios import BASELINES, SCENARIOS

    skip = set(filter(None, args.skip.split(",")))
    keys = list(SCENARIOS)
    if args.only:
        wanted = set(args.only.split(","))
        wanted |= {SCENARIOS[key].baseline for key in wanted if SCENARIOS[key].baseline} | {"floor"}
        keys = [key for key in keys if key in wanted]
    scenarios = [SCENARIOS[key] for key in keys]

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {message}", flush=True)

    user = site.reset()
    redis_client = django_redis.get_redis_connection("default")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    data: dict[str, Any] = {
        "command": "make bench" if not argv else "python -m bench " + " ".join(argv),
        "environment": report.environment(
            {"PostgreSQL": pg_version.split()[0], "Redis": redis_client.info("server")["redis_version"]}
        ),
        "parameters": vars(args),
        "head_to_head": {},
    }
    sections: list[tuple[str, str]] = []
    verdicts: list[tuple[str, str, bool]] = []
    progress(f"{len(scenarios)} scenarios")

    if "inprocess" not in skip:
        runners = [inprocess.Runner(scenario, site.credential(scenario, user)) for scenario in scenarios]
        measured = inprocess.measure(
            runners,
            rounds=args.rounds,
            requests=args.requests,
            warmup=50,
            redis_commands=lambda: int(redis_client.info("stats")["total_commands_processed"]),
            progress=progress,
        )
        floor = measured.get("floor")
        baselines = [key for key in BASELINES if key in measured]
        rows = []
        for key, result in measured.items():
            ratios = [inprocess.paired_ratio(result, measured[base]) for base in baselines]
            rows.append(
                [
                    SCENARIOS[key].title,
                    f"{result.median:.0f}",
                    f"{result.median - floor.median:.0f}" if floor else "",
                    f"{result.queries:g}",
                    f"{result.writes:g}",
                    f"{result.redis_commands:g}",
                    *[report.ratio(value) for value in ratios],
                ]
            )
        headers = ["scenario", "µs/request", "µs over floor", "SQL", "SQL writes", "Redis cmds"]
        headers += [f"× {SCENARIOS[base].title.replace('simplejwt ', '').replace('DRF ', '')}" for base in baselines]
        sections.append(
            (
                f"In-process: one GET, median of {args.rounds} rounds of {args.requests} requests",
                report.table(headers, rows),
            )
        )
        data["inprocess"] = {
            key: {
                "median_us": result.median,
                "samples_us": result.samples,
                "queries": result.queries,
                "writes": result.writes,
                "redis_commands": result.redis_commands,
                "ratios": {base: inprocess.paired_ratio(result, measured[base]) for base in baselines},
            }
            for key, result in measured.items()
        }
        by_key = {runner.scenario.key: runner for runner in runners}
        for key, base, limit, what in IN_PROCESS_TARGETS:
            if {key, base} <= by_key.keys():
                ratios = inprocess.head_to_head(by_key[key], by_key[base], pairs=args.pairs, requests=150, warmup=20)
                value = statistics.median(ratios)
                data["head_to_head"][f"{key} / {base}"] = ratios
                table_value = inprocess.paired_ratio(measured[key], measured[base])
                verdicts.append(
                    (
                        f"{what} ≤ {limit:.2f}× (in-process)",
                        f"{value:.2f}× (median of {args.pairs} head-to-head pairs; {table_value:.2f}× in the table)",
                        value <= limit,
                    )
                )
                progress(f"  head to head {key} / {base}: {value:.2f}×")
        writes = {key: result.writes for key, result in measured.items() if SCENARIOS[key].is_dualauth}
        verdicts.append(
            (
                "no SQL write on a request within ACTIVITY_UPDATE_INTERVAL (every dualauth scenario)",
                f"{max(writes.values(), default=0):g} writes/request at most",
                not any(writes.values()),
            )
        )

    if "http" not in skip:
        progress("starting a gunicorn per scenario")
        with http.servers(scenarios) as servers:
            targets = [(server, http.headers_of(site.credential(server.scenario, user))) for server in servers]
            loaded = http.measure(
                targets,
                rounds=args.http_rounds,
                seconds=args.http_seconds,
                connections=args.connections,
                progress=progress,
            )
            by_key = {server.scenario.key: (server, headers) for server, headers in targets}
            http_pairs = []
            if {"jwt-header-redis", "simplejwt"} <= by_key.keys():
                http_pairs = http.head_to_head(
                    by_key["jwt-header-redis"],
                    by_key["simplejwt"],
                    pairs=max(args.pairs // 2, 2),
                    seconds=args.http_seconds,
                    connections=args.connections,
                )
                progress(f"  head to head over HTTP: {statistics.median(http_pairs):.2f}×")
        rows = []
        for key, result in loaded.items():
            base = SCENARIOS[key].baseline
            rows.append(
                [
                    SCENARIOS[key].title,
                    f"{result.median('rps'):.0f}",
                    f"{result.median('p50_us') / 1000:.1f}",
                    f"{result.median('p99_us') / 1000:.1f}",
                    result.errors,
                    report.ratio(http.paired_rps_ratio(result, loaded["simplejwt"]) if "simplejwt" in loaded else None),
                    f"{report.ratio(http.paired_rps_ratio(result, loaded[base]))} ({base})" if base in loaded else "",
                ]
            )
        sections.append(
            (
                f"HTTP: gunicorn ({http.WORKERS} workers) on loopback, wrk with {args.connections} connections, "
                f"median of {args.http_rounds} rounds of {args.http_seconds:g} s",
                report.table(
                    [
                        "scenario",
                        "requests/s",
                        "p50 ms",
                        "p99 ms",
                        "errors",
                        "req/s × simplejwt",
                        "req/s × its baseline",
                    ],
                    rows,
                ),
            )
        )
        data["http"] = {key: {"rounds": result.rounds} for key, result in loaded.items()}
        if {"jwt-header-redis", "simplejwt"} <= loaded.keys():
            value = statistics.median(http_pairs)
            table_value = http.paired_rps_ratio(loaded["jwt-header-redis"], loaded["simplejwt"])
            data["head_to_head"]["http jwt-header-redis / simplejwt"] = http_pairs
            verdicts.append(
                (
                    "jwt, Redis store, revocation checked ≥ 1.00× simplejwt JWTAuthentication's requests/s (HTTP)",
                    f"{value:.2f}× (median of {len(http_pairs)} head-to-head pairs; {table_value:.2f}× in the table)",
                    value >= 1.0,
                )
            )
        errors = sum(result.errors for result in loaded.values())
        verdicts.append(("no HTTP request refused or failed", f"{errors} errors", errors == 0))

    if "scale" not in skip:
        sizes = [args.small, args.large]
        sized = scale.per_request(
            user,
            sizes,
            rounds=args.pairs,
            requests=100,
            checks=500,
            credential=site.credential,
            progress=progress,
        )
        rows = []
        for result in sized.values():
            rows.append(
                [
                    result.label,
                    f"{statistics.median(result.request_us):.0f}",
                    f"{statistics.median(result.check_us):.0f}",
                ]
            )
        for store in ("database", "redis"):
            small, large = (sized[f"{store} store, {size:,} sign-ins"] for size in sizes)
            value = statistics.median(b / a for a, b in zip(small.check_us, large.check_us, strict=True))
            request_ratio = statistics.median(b / a for a, b in zip(small.request_us, large.request_us, strict=True))
            rows.append(
                [f"{store} store: {args.large:,} ÷ {args.small:,}", report.ratio(request_ratio), report.ratio(value)]
            )
            verdicts.append(
                (
                    f"revocation check, {store} store: {args.large:,} sign-ins within 10% of {args.small:,}",
                    f"{value:.2f}×",
                    abs(value - 1) <= 0.10,
                )
            )
        sections.append(
            (
                "Scale: a jwt request and a bare services.check(), half the stored sign-ins revoked",
                report.table(["store and size", "µs/request", "µs/check"], rows),
            )
        )
        listed = scale.listing(user, [10, args.listed], repeat=5, progress=progress)
        admin = scale.admin_changelist(user, sizes, repeat=5, progress=progress)
        sections.append(
            (
                "Scale: GET /api/auth/sessions/ for one user, median of 5",
                report.table(
                    ["the user has", "rows returned", "ms"],
                    [[t.label, t.rows, f"{t.median:.1f}"] for t in listed.values()],
                ),
            )
        )
        sections.append(
            (
                "Scale: the admin's sign-ins changelist as a superuser, median of 5",
                report.table(["page", "ms"], [[t.label, f"{t.median:.1f}"] for t in admin.values()]),
            )
        )
        data["scale"] = {
            "per_request": {label: vars(result) for label, result in sized.items()},
            "listing": {label: vars(result) for label, result in listed.items()},
            "admin": {label: vars(result) for label, result in admin.items()},
        }

    if "storage" not in skip:
        stored = storage.per_sign_in(user, count=args.stored, progress=progress)
        places = list(stored["jwt"])
        sections.append(
            (
                f"Storage: bytes per sign-in, from {args.stored:,} real sign-ins of each kind "
                "(PostgreSQL: growth of table + indexes; Redis: median MEMORY USAGE of an entry)",
                report.table(
                    ["kept in", "jwt sign-in", "session sign-in (db sessions)"],
                    [[place, f"{stored['jwt'][place]:.0f}", f"{stored['session'][place]:.0f}"] for place in places],
                ),
            )
        )
        data["storage"] = stored

    if verdicts:
        sections.append(
            (
                "Targets (issue 6)",
                report.table(
                    ["target", "measured", "holds"], [[n, v, "yes" if ok else "**no**"] for n, v, ok in verdicts]
                ),
            )
        )
    data["targets"] = [{"target": n, "measured": v, "holds": ok} for n, v, ok in verdicts]
    md_path, json_path = report.write(sections, data)
    print(md_path.read_text())
    progress(f"written {md_path.relative_to(md_path.parent.parent)} and {json_path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
