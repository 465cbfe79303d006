"""Download throughput, requests and memory: our window walk (ids 5,000 a page, bulk fetch calls kept in flight
by the adaptive limit) against the baseline most connectors use (sequential search pages of 100 full issues)
and against the API-bound limit for the same worker count, all measured in one run.

    .venv/bin/python -m bench.bench_fetch --issues 50000 --latency-ms 100

The API-bound limit is what Jira's latency alone allows: every id page one after the other, and every bulk
fetch call of 100 issues on `workers` connections that are never idle: (N/5000 + N/100/workers) × latency.
Targets (issue 9): the default workers within 1.5× of that limit, and at least 8× faster than the baseline.
Memory is each strategy's peak RSS in this process (the emulator runs in its own).

The client has a floor of its own: every issue's JSON is decoded on one core (the GIL), however many requests
are in flight. The "decode floor" is that time, N × the time to decode one bulk fetch answer of 100 issues
(the median of 20 answers of this site, decoded as the client decodes them), measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.common import emulator_process, measure, print_table
from jira_sync import fastjson
from jira_sync.config import SourceConfig
from jira_sync.incremental import ID_PAGE_SIZE, WindowWalk
from jira_sync.jira import JiraClient, JiraCredentials, iter_search_pages, source_jql
from jira_sync.jira.search import BULK_FETCH_LIMIT

DEFAULT_WORKERS = SourceConfig.__dataclass_fields__["workers"].default
DEFAULT_BATCH = SourceConfig.__dataclass_fields__["batch_size"].default


def api_bound_seconds(issues: int, workers: int, latency_s: float) -> float:
    """Jira's latency alone: id pages in sequence, bulk fetch calls on `workers` connections never idle."""
    return (issues / ID_PAGE_SIZE + issues / BULK_FETCH_LIMIT / workers) * latency_s


def decode_floor_seconds(client: JiraClient, jql: str, issues: int, samples: int = 20) -> float:
    """N issues × the median time to decode one answer of 100 issues, on this site's own answers."""
    ids = [issue["id"] for issue in client.search_page(jql, max_results=samples * BULK_FETCH_LIMIT)["issues"]]
    session = client._session()  # the client's own HTTP session: the same bytes its bulk fetch decodes
    timings = []
    for start in range(0, len(ids), BULK_FETCH_LIMIT):
        body = {"issueIdsOrKeys": ids[start : start + BULK_FETCH_LIMIT], "fields": ["*all"]}
        answer = session.post(f"{client.base_url}/rest/api/3/issue/bulkfetch", json=body).content
        started = time.perf_counter()
        fastjson.loads(answer)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * issues / BULK_FETCH_LIMIT


def baseline_sequential_search(client: JiraClient, jql: str) -> int:
    count = 0
    for page in iter_search_pages(client, jql, fields=["*all"], max_results=100):
        count += len(page["issues"])
    return count


def window_walk(client: JiraClient, jql: str, batch_size: int) -> int:
    upper = datetime.now(UTC).replace(second=0, microsecond=0)
    walk = WindowWalk(client, jql, lower=None, upper=upper, time_zone=ZoneInfo("UTC"), batch_size=batch_size)
    return sum(len(batch.issues) for batch in walk.batches())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=100, help="added to every emulator response")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="ceiling of requests in flight")
    parser.add_argument("--fixed", type=int, nargs="*", default=[4], help="also fixed worker counts")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000

    with emulator_process(args.issues, latency_ms=args.latency_ms) as jira:
        jql = source_jql(None, jira.projects())
        credentials = JiraCredentials(token=jira.token, email=jira.email)
        runs: list[tuple[str, int, float, int, float]] = []  # label, workers, seconds, requests, MiB

        def run(label: str, workers: int, adaptive: bool, job: str) -> None:
            with JiraClient(jira.url, credentials, workers=workers, adaptive=adaptive) as client:
                if job == "baseline":
                    m = measure(label, lambda: baseline_sequential_search(client, jql))
                else:
                    m = measure(label, lambda: window_walk(client, jql, DEFAULT_BATCH))
                assert m.result == args.issues, f"{label} fetched {m.result} of {args.issues}"
                runs.append((label, workers, m.seconds, client.stats.requests, m.peak_mib))

        with JiraClient(jira.url, credentials) as client:
            floor = decode_floor_seconds(client, jql, args.issues)
        if not args.skip_baseline:
            run("baseline: search pages of 100 full issues, sequential", 1, False, "baseline")
        run(f"jira-sync, adaptive up to {args.workers} in flight (default)", args.workers, True, "walk")
        for fixed in args.fixed:
            run(f"jira-sync, fixed {fixed} in flight", fixed, False, "walk")

    base = runs[0][2] if not args.skip_baseline else None
    rows = []
    for label, workers, seconds, requests, mib in runs:
        limit = api_bound_seconds(args.issues, workers, latency)
        speedup = f"{base / seconds:.1f}×" if base else "-"
        rows.append(
            (
                label,
                seconds,
                args.issues / seconds,
                requests,
                mib,
                limit,
                f"{seconds / limit:.2f}×",
                floor,
                speedup,
            )
        )
    print_table(
        f"Fetch {args.issues:,} issues at {args.latency_ms} ms per request "
        "(targets: default within 1.5× of its limit, 8× the baseline)",
        [
            "strategy",
            "seconds",
            "issues/s",
            "requests",
            "peak RSS MiB",
            "API-bound s",
            "× limit",
            "decode floor s",
            "vs baseline",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
