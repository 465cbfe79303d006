"""`jira-sync demo`: the whole product on a laptop. Starts the Jira emulator and the embedded warehouse,
runs the initial load, changes Jira (updates, creates, a move, a deletion, a comment, time logged, a status
transition), runs an incremental load, and
checks the tables against the emulator's ground truth. Local only: imports the emulator lazily."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.entities import ENTITY_TABLES
from jira_sync.local_warehouse import embedded_session
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

Echo = Callable[[str], None]


def _report(echo: Echo, title: str, summary: dict[str, Any]) -> None:
    source = summary["sources"][0]
    echo(f"\n== {title}: {source['status']} in {source['duration_seconds']} s")
    echo(
        f"   fetched {source['issues_fetched']}, inserted {source['issues_inserted']}, "
        f"updated {source['issues_updated']}, deleted {source['issues_deleted']}; "
        f"{source['requests']} requests, {source['retries']} retries"
    )
    echo(
        f"   watermark {source['watermark_before']} -> {source['watermark_after']} "
        f"(account time zone {source['account_time_zone']})"
    )
    if source["error"]:
        echo(f"   error: {source['error']}")


def change_jira(jira: Any, echo: Echo) -> dict[str, list[str]]:
    """Make the kinds of change a connector must not miss, and say what they were."""
    truth = [issue for issue in jira.ground_truth() if not issue["deleted"]]
    projects = sorted({issue["project"] for issue in truth})
    updated = [issue["key"] for issue in truth[:5]]
    for key in updated:
        jira.update_issue(key, {"summary": f"Edited by the demo at {datetime.now(UTC):%H:%M:%S}"})
    created = [
        jira.create_issue(projects[0], {"summary": f"Created by the demo #{n}"})["key"] for n in (1, 2, 3)
    ]
    moved_from = truth[5]["key"]
    target = next(p for p in projects if p != truth[5]["project"])
    moved_to = jira.move_issue(moved_from, target)["key"]
    deleted = truth[6]["key"]
    jira.delete_issue(deleted)
    commented, worked, moved_on = truth[7]["key"], truth[8]["key"], truth[9]["key"]
    jira.add_comment(commented, "A comment from the demo")
    jira.add_worklog(worked, 5400, "Time logged by the demo")
    jira.update_issue(moved_on, {"status": "Done"})
    echo(
        f"\n== Changed Jira: updated {', '.join(updated)}; created {', '.join(created)}; "
        f"moved {moved_from} -> {moved_to}; deleted {deleted}; commented on {commented}; "
        f"logged time on {worked}; moved {moved_on} to Done"
    )
    return {"updated": updated, "created": created, "moved": [moved_to], "deleted": [deleted]}


def run_demo(*, issues: int, seed: int, folder: str, time_zone: str, echo: Echo = print) -> dict[str, Any]:
    from fakejira import FakeJira

    shutil.rmtree(folder, ignore_errors=True)
    Path(folder).mkdir(parents=True)
    with FakeJira(issues=issues, seed=seed, time_zone=time_zone) as jira, embedded_session(folder) as session:
        echo(f"Jira emulator at {jira.url} ({issues} issues, account time zone {time_zone})")
        echo(f"Embedded warehouse in {Path(folder).resolve()}")
        warehouse = Warehouse(session)
        warehouse.ensure_tables()
        projects = sorted({issue["project"] for issue in jira.ground_truth()})
        warehouse.upsert_source(
            SourceConfig(
                name="demo",
                site_url=jira.url,
                projects=tuple(projects),
                email=jira.email,
                search_lag=timedelta(seconds=0),
                overlap=timedelta(minutes=1),
            )
        )
        credentials = static_credentials(jira.token, jira.email)
        initial = run_sync(warehouse, credentials, source="demo")
        _report(echo, "Initial load", initial)
        changes = change_jira(jira, echo)
        # The changes were made this very minute; a clock one minute ahead puts them inside this run's window
        # instead of the next one's. Safe: the one-minute overlap makes the next run re-read that minute.
        ahead = lambda: datetime.now(UTC) + timedelta(minutes=1)  # noqa: E731
        incremental = run_sync(warehouse, credentials, source="demo", now=ahead)
        _report(echo, "Incremental load", incremental)

        keys = changes["updated"][:2] + changes["created"][:1] + changes["moved"]
        echo("\n== A few rows of JIRA_ISSUES")
        for row in session.sql(
            "SELECT KEY, PROJECT_KEY, STATUS, SUMMARY, UPDATED, IS_DELETED FROM JIRA_ISSUES "
            "WHERE KEY IN (" + ", ".join("?" for _ in keys) + ") ORDER BY KEY",
            params=keys,
        ).collect():
            echo("   " + json.dumps(row.as_dict(), default=str, ensure_ascii=False))
        truth = {int(i["id"]): i for i in jira.ground_truth() if not i["deleted"]}
        stored = {
            int(r["ID"]): r["KEY"]
            for r in session.sql("SELECT ID, KEY FROM JIRA_ISSUES WHERE NOT IS_DELETED").collect()
        }
        same = stored == {issue_id: issue["key"] for issue_id, issue in truth.items()}
        counts = ", ".join(
            f"{table.name} {session.sql(f'SELECT COUNT(*) FROM {table.name} WHERE NOT IS_DELETED').collect()[0][0]}"
            for table in ENTITY_TABLES
        )
        echo(f"\n== The rest of the Jira picture (live rows): {counts}")
        echo(
            f"\n== Tables equal Jira's ground truth: {'yes' if same else 'NO'} "
            f"({len(stored)} live issues stored, {len(truth)} in Jira)"
        )
        return {"initial": initial, "incremental": incremental, "matches_ground_truth": same}
