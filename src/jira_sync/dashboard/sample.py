"""A warehouse with something to show on every panel: local only (the browser test and the README's screenshot).

Like `jira-sync demo` (the same emulator, the same sync code, the demo's own changes to Jira: an initial and an
incremental load), and then what a demo has no reason to do: Jira fails two requests of the incremental run (so
it retries), and a second source names a project Jira does not have, so its only run FAILED, with the error
the dashboard must show. Issues, changelogs and statuses only: what the dashboard reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.dashboard import charts, queries
from jira_sync.demo import change_jira
from jira_sync.local_warehouse import embedded_session
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

SOURCE = "acme"
BROKEN_SOURCE = "legacy"
MISSING_PROJECT = "LEGACY"
"""The project the broken source names: the emulator has none by that key, so Jira refuses its JQL."""
ENTITIES = ("changelog", "statuses")
"""What the sample syncs besides issues: what the dashboard reads (the status periods view is made of them)."""


@dataclass(frozen=True)
class Sample:
    """What `fill` put in the warehouse, for a test to look for on the page."""

    folder: Path
    projects: tuple[str, ...]
    runs: int
    live_issues: int
    error: str  # the failed run's message, as the run log holds it
    open_groups: int  # rows of the open-issues query: (source, project, status category) with open issues
    cycles: int | None  # issues in the cycle-time chart (its first window); None: no status periods view


def fill(folder: Path, *, issues: int = 150, seed: int = 7) -> Sample:
    """Sync an emulated Jira into a new embedded warehouse in `folder` (which must not hold one yet)."""
    from fakejira import FakeJira

    if (folder / "JIRA_SYNC.db").exists():
        raise FileExistsError(f"{folder} already holds a warehouse; give an empty folder")
    with FakeJira(issues=issues, seed=seed) as jira, embedded_session(folder) as session:
        warehouse = Warehouse(session)
        warehouse.ensure_tables()
        projects = tuple(sorted({issue["project"] for issue in jira.ground_truth()}))
        credentials = static_credentials(jira.token, jira.email)
        # retries back off for milliseconds, not the production half second
        options = {"backoff_seconds": 0.01}

        def sync(name: str, now: datetime | None = None) -> dict[str, object]:
            clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
            summary = run_sync(warehouse, credentials, source=name, now=clock, client_options=options)
            return summary["sources"][0]

        for name, keys in ((SOURCE, projects), (BROKEN_SOURCE, (MISSING_PROJECT,))):
            warehouse.upsert_source(
                SourceConfig(
                    name=name,
                    site_url=jira.url,
                    projects=keys,
                    email=jira.email,
                    search_lag=timedelta(0),
                    overlap=timedelta(minutes=1),
                    entities=ENTITIES,
                )
            )
        sync(SOURCE)
        change_jira(jira, echo=lambda _line: None)
        jira.app.faults.configure(script=["500", "503"])  # the incremental run retries twice
        # a clock a minute ahead reads this minute's changes now (as the demo does; the overlap re-reads it)
        ahead = datetime.now(UTC) + timedelta(minutes=1)
        sync(SOURCE, now=ahead)
        failed = sync(BROKEN_SOURCE)
        if failed["status"] != "FAILED":
            raise RuntimeError(f"the {BROKEN_SOURCE} source was meant to fail, and {failed['status']}")
        live = session.sql("select count(*) from JIRA_ISSUES_CURRENT").collect()[0][0]
        runs = session.sql("select count(*) from JIRA_SYNC_RUNS").collect()[0][0]
        open_groups = len(queries.load(session, "open_issues"))
        cycles = queries.load_cycle_times(session)
        if cycles is not None:
            now = pd.Timestamp.now(tz="UTC")
            cycles = charts.within_weeks(cycles, "WEEK", charts.DEFAULT_WEEKS, now)
    return Sample(
        folder,
        projects,
        runs=int(runs),
        live_issues=int(live),
        error=str(failed["error"]),
        open_groups=open_groups,
        cycles=None if cycles is None else len(cycles),
    )
