"""Fetch throughput, requests and memory: our window walk (ids 5,000 a page, then parallel bulk fetch)
against the baseline most connectors use (sequential search pages of 100 full issues).

    .venv/bin/python -m bench.bench_fetch --issues 5000 --latency-ms 20
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bench.common import emulator_process, measure, print_table
from jira_sync.incremental import WindowWalk
from jira_sync.jira import JiraClient, JiraCredentials, iter_search_pages, source_jql


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=3000)
    parser.add_argument("--latency-ms", type=int, default=20, help="added to every emulator response")
    parser.add_argument("--workers", type=int, nargs="+", default=[4, 8])
    args = parser.parse_args(argv)

    with emulator_process(args.issues, latency_ms=args.latency_ms) as jira:
        projects = jira.projects()
        jql = source_jql(None, projects)
        credentials = JiraCredentials(token=jira.token, email=jira.email)
        runs = []
        with JiraClient(jira.url, credentials, workers=1) as client:
            runs.append(
                (
                    measure(
                        "baseline: search pages of 100, sequential",
                        lambda c=client: baseline_sequential_search(c, jql),
                    ),
                    client.stats.requests,
                )
            )
        for workers in args.workers:
            with JiraClient(jira.url, credentials, workers=workers) as client:
                label = f"jira-sync: ids + bulk fetch, {workers} workers"
                runs.append(
                    (measure(label, lambda c=client: window_walk(c, jql, 500)), client.stats.requests)
                )

    base = runs[0][0]
    rows = [
        (m.label, m.result, m.seconds, m.result / m.seconds, requests, m.peak_mib, base.seconds / m.seconds)
        for m, requests in runs
    ]
    print_table(
        f"Fetch {args.issues:,} issues, {args.latency_ms} ms added latency per request",
        ["strategy", "issues", "seconds", "issues/s", "requests", "peak MiB", "speed-up"],
        rows,
    )


if __name__ == "__main__":
    main()
