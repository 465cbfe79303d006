"""End to end: an initial load from the emulator into the embedded warehouse, our sync against the baseline
shape most connectors have (search pages of 100 full issues, one write per page), same data, same run.

    .venv/bin/python -m bench.bench_sync --issues 3000 --latency-ms 250
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime, timedelta

from bench.common import Emulator, emulator_process, measure, print_table
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.jira import JiraClient, JiraCredentials, iter_search_pages, source_jql, story_points_field_ids
from jira_sync.local_warehouse import embedded_session
from jira_sync.model import flatten_issue
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse


def baseline_load(jira: Emulator, folder: str, jql: str) -> int:
    """Sequential search pages of 100 with every field, each page merged as it arrives."""
    with (
        embedded_session(folder) as session,
        JiraClient(jira.url, JiraCredentials(jira.token, jira.email)) as client,
    ):
        warehouse = Warehouse(session)
        warehouse.ensure_tables()
        story = story_points_field_ids(client.fields())
        count = 0
        for page in iter_search_pages(client, jql, fields=["*all"], max_results=100):
            now = datetime.now(UTC)
            rows = [
                flatten_issue(i, source="baseline", story_points_fields=story, synced_at=now, run_id="bench")
                for i in page["issues"]
            ]
            count += warehouse.merge_issues(rows).inserted
        return count


def jira_sync_load(jira: Emulator, folder: str, projects: list[str], workers: int) -> int:
    with embedded_session(folder) as session:
        warehouse = Warehouse(session)
        warehouse.ensure_tables()
        warehouse.upsert_source(
            SourceConfig(name="bench", site_url=jira.url, projects=tuple(projects), email=jira.email,
                         search_lag=timedelta(0), workers=workers)
        )  # fmt: skip
        summary = run_sync(warehouse, static_credentials(jira.token, jira.email), source="bench")
        return summary["sources"][0]["issues_inserted"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--issues", type=int, default=3000)
    parser.add_argument("--latency-ms", type=int, default=250, help="added to every emulator response")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    with (
        emulator_process(args.issues, latency_ms=args.latency_ms) as jira,
        tempfile.TemporaryDirectory() as tmp,
    ):
        projects = jira.projects()
        jql = source_jql(None, projects)
        baseline = measure(
            "baseline: pages of 100, merge per page", lambda: baseline_load(jira, f"{tmp}/a", jql)
        )
        ours = measure(
            f"jira-sync: sync_jira, {args.workers} workers",
            lambda: jira_sync_load(jira, f"{tmp}/b", projects, args.workers),
        )
    runs = [baseline, ours]
    base = baseline
    print_table(
        f"Initial load of {args.issues:,} issues into the embedded warehouse, {args.latency_ms} ms per request",
        ["pipeline", "rows", "seconds", "issues/s", "peak MiB", "speed-up"],
        [
            (m.label, m.result, m.seconds, m.result / m.seconds, m.peak_mib, base.seconds / m.seconds)
            for m in runs
        ],
    )


if __name__ == "__main__":
    main()
