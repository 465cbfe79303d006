"""What runs cost, counted rather than timed: the warehouse statements a run sends (Snowpark's own query history)
and the Jira requests it makes (the emulator's request log), for an initial load, then runs with nothing new,
with every entity and with issues alone side by side.

    .venv/bin/python -m bench.bench_run_cost --issues 3000

Counts do not depend on how loaded the machine is; they are what a Snowflake account bills (statements keep
a warehouse or serverless compute busy) and what Jira's rate limit counts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bench.common import print_table
from fakejira import FakeJira
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.entities import ISSUES_ONLY
from jira_sync.local_warehouse import embedded_session
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

RUNS = ("initial load", "settling run", "nothing new")


def measure(issues: int, entities: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Statements and requests of each run in RUNS, for one source on a fresh site and warehouse."""
    with FakeJira(issues=issues, seed=3) as jira, embedded_session(tempfile.mkdtemp()) as session:
        warehouse = Warehouse(session)
        projects = tuple(sorted({issue["project"] for issue in jira.ground_truth()}))
        warehouse.ensure_tables()
        source = SourceConfig(
            name="bench",
            site_url=jira.url,
            projects=projects,
            email=jira.email,
            entities=entities,
            search_lag=timedelta(0),
            time_budget=timedelta(hours=5),
        )
        warehouse.upsert_source(source)
        found = []
        for label in RUNS:
            jira.reset_request_log()
            started = time.perf_counter()
            with session.query_history() as history:
                summary = run_sync(warehouse, static_credentials(jira.token, jira.email), source="bench")
            source = summary["sources"][0]
            paths = Counter(r["endpoint"] for r in jira.request_log()["requests"])
            found.append(
                {
                    "run": label,
                    "status": source["status"],
                    "statements": len(history.queries),
                    "requests": sum(paths.values()),
                    "seconds": time.perf_counter() - started,
                    "endpoints": paths,
                }
            )
        return found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=3000)
    args = parser.parse_args(argv)
    every = measure(args.issues, None)
    alone = measure(args.issues, ISSUES_ONLY)
    rows = [
        [
            f"{a['run']} ({args.issues:,} issues)",
            f"{b['statements']} statements, {b['requests']} requests",
            f"{a['statements']} statements, {a['requests']} requests",
            f"{a['status']}, {a['seconds']:.1f} s",
        ]
        for a, b in zip(every, alone, strict=True)
    ]
    print_table("What runs cost (counts)", ["run", "issues alone", "every entity", "status, wall"], rows)
    quiet = ", ".join(f"{name} {count}" for name, count in sorted(every[-1]["endpoints"].items()))
    print(f"\nrequests of a run with nothing new, every entity: {quiet}")


if __name__ == "__main__":
    main()
