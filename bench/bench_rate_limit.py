"""Adaptive concurrency under Jira's rate limit: the default (an adaptive limit up to WORKERS in flight) against
every fixed worker count, on one emulator with a token-bucket rate limit, in one run.

    .venv/bin/python -m bench.bench_rate_limit --issues 20000 --rate-limit 10/10 --latency-ms 100

Each strategy walks the whole window of a 20,000-issue site, the path an initial load takes (ids, then bulk
fetch calls), with the client a run uses (its retries, Retry-After, backoff). A strategy whose retries run out
fails, as its run would. The limit is what the rate allows: (id pages + bulk fetch calls) / rate. Target
(issue 9): the adaptive default never fails and is within 1.2× of the best fixed worker count.
"""

from __future__ import annotations

import argparse
import logging
import time

from bench.bench_fetch import DEFAULT_BATCH, DEFAULT_WORKERS, window_walk
from bench.common import emulator_process, print_table
from jira_sync.incremental import ID_PAGE_SIZE
from jira_sync.jira import JiraClient, JiraCredentials, JiraError, source_jql
from jira_sync.jira.search import BULK_FETCH_LIMIT


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=20000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--rate-limit", default="10/10", help="the emulator's RATE/CAPACITY (requests per second)"
    )
    parser.add_argument("--fixed", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="the adaptive limit's ceiling")
    args = parser.parse_args(argv)
    logging.getLogger("jira_sync").setLevel(logging.ERROR)  # each retry's warning: counted in the table instead
    rate = float(args.rate_limit.partition("/")[0])
    calls = -(-args.issues // ID_PAGE_SIZE) + 1 + -(-args.issues // BULK_FETCH_LIMIT)  # + the probe
    options = ["--rate-limit", args.rate_limit]

    rows = []
    with emulator_process(args.issues, latency_ms=args.latency_ms, options=options) as jira:
        jql = source_jql(None, jira.projects())
        credentials = JiraCredentials(token=jira.token, email=jira.email)
        strategies = [(f"adaptive up to {args.workers} (default)", args.workers, True)]
        strategies += [(f"fixed {n}", n, False) for n in args.fixed]
        for label, workers, adaptive in strategies:
            time.sleep(2)  # let the bucket refill between strategies
            with JiraClient(jira.url, credentials, workers=workers, adaptive=adaptive) as client:
                started = time.perf_counter()
                try:
                    fetched, outcome = window_walk(client, jql, DEFAULT_BATCH), "ok"
                except JiraError as exc:
                    fetched, outcome = 0, f"FAILED: {str(exc)[:60]}"
                seconds = time.perf_counter() - started
                stats = client.stats.as_dict()
            if outcome == "ok" and fetched != args.issues:
                outcome = f"FAILED: {fetched} of {args.issues}"
            rows.append(
                [label, outcome, seconds, stats["requests"], stats["rate_limited"], stats["most_in_flight"]]
            )

    best = min((row[2] for row in rows[1:] if row[1] == "ok"), default=float("nan"))
    limit = calls / rate
    for row in rows:
        row += [limit, f"{row[2] / limit:.2f}×", f"{row[2] / best:.2f}×"]
    print_table(
        f"Load {args.issues:,} issues under a rate limit of {args.rate_limit} requests/s, "
        f"{args.latency_ms} ms latency (target: adaptive never fails, within 1.2× of the best fixed)",
        ["strategy", "outcome", "seconds", "requests", "429s", "most in flight", "rate-bound s", "× limit",
         "× best fixed"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
