"""JIRA_SYNC_STATUS and `jira-sync status`, after a demo-like sync into the embedded warehouse.

Two sources: `acme` loads, loses one issue in Jira and syncs again (one row marked deleted); `ghost` names a
project Jira does not have, so its only run FAILED. The view and the command must show each one's watermark
and lag, its last run and error, and its live and deleted rows, the NULLs of the failed source as NULL.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_sync import add_source, sync, truth

from fakejira import FakeJira
from jira_sync.cli import fetch, main
from jira_sync.local_warehouse import embedded_session
from jira_sync.schema import STATUS_VIEW
from jira_sync.warehouse import Warehouse

STATUS_COLUMNS = [
    "SOURCE", "ENABLED", "WATERMARK", "LAG_SECONDS", "LAST_RUN_STATUS", "LAST_RUN_STARTED_AT",
    "LAST_RUN_ENDED_AT", "LAST_ERROR_MESSAGE", "LAST_ERROR_AT", "ISSUES_LIVE", "ISSUES_DELETED",
    "ROWS_BY_TABLE",
]  # fmt: skip


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The warehouse folder after the syncs, the view's rows as read then, and what they should say."""
    folder = tmp_path_factory.mktemp("status") / "wh"
    with FakeJira(issues=30, seed=3) as jira, embedded_session(folder) as session:
        warehouse = Warehouse(session)
        add_source(warehouse, jira, name="acme", entities=("comments",))
        assert sync(warehouse, jira, source="acme")["status"] == "SUCCEEDED"
        jira.delete_issue(jira.ground_truth()[0]["key"])
        second = sync(warehouse, jira, source="acme")
        assert (second["status"], second["issues_deleted"]) == ("SUCCEEDED", 1)
        add_source(warehouse, jira, name="ghost", projects=("NOPE",))
        failed = sync(warehouse, jira, source="ghost")
        assert failed["status"] == "FAILED" and "NOPE" in failed["error"]
        before = datetime.now(UTC)
        columns, rows = fetch(session, f'select * from {STATUS_VIEW} order by "SOURCE"')
        after = datetime.now(UTC)
        found = {
            "folder": folder,
            "view": [dict(zip(columns, row, strict=True)) for row in rows],
            "columns": columns,
            "watermark": warehouse.read_state("acme").watermark,
            "live": len(truth(jira)),
            "comments": sum(len(jira.issue_truth(i)["comments"]) for i in truth(jira)),
            "error": failed["error"],
            "runs": {r.source: r for r in reversed(warehouse.recent_runs())},  # the latest run of each
            "clock": (before, after),
        }
    return found  # the session is closed: the CLI can open the folder


def lag_bounds(watermark: datetime, clock: tuple[datetime, datetime]) -> tuple[int, int]:
    """The LAG_SECONDS a query between `clock[0]` and `clock[1]` may show (whole seconds, either rounding)."""
    earliest, latest = ((moment - watermark).total_seconds() for moment in clock)
    return math.floor(earliest) - 1, math.ceil(latest) + 1


def test_the_view_shows_each_sources_state_last_run_error_and_rows(synced: dict[str, Any]) -> None:
    assert synced["columns"] == STATUS_COLUMNS
    acme, ghost = synced["view"]
    run = synced["runs"]["acme"]
    assert acme["SOURCE"] == "acme" and acme["ENABLED"] is True
    assert acme["WATERMARK"] == synced["watermark"]
    low, high = lag_bounds(synced["watermark"], synced["clock"])
    assert low <= acme["LAG_SECONDS"] <= high
    assert (acme["LAST_RUN_STATUS"], acme["LAST_RUN_STARTED_AT"], acme["LAST_RUN_ENDED_AT"]) == (
        "SUCCEEDED", run.started_at, run.ended_at,
    )  # fmt: skip
    assert acme["LAST_ERROR_MESSAGE"] is None and acme["LAST_ERROR_AT"] is None
    assert (acme["ISSUES_LIVE"], acme["ISSUES_DELETED"]) == (synced["live"], 1)
    assert json.loads(acme["ROWS_BY_TABLE"]) == {"JIRA_COMMENTS": synced["comments"]}

    failed = synced["runs"]["ghost"]
    assert ghost["SOURCE"] == "ghost" and ghost["ENABLED"] is True
    assert ghost["WATERMARK"] is None and ghost["LAG_SECONDS"] is None  # NULL, not 1970
    assert (ghost["LAST_RUN_STATUS"], ghost["LAST_RUN_STARTED_AT"]) == ("FAILED", failed.started_at)
    assert ghost["LAST_ERROR_MESSAGE"] == synced["error"] and ghost["LAST_ERROR_AT"] == failed.started_at
    assert (ghost["ISSUES_LIVE"], ghost["ISSUES_DELETED"], ghost["ROWS_BY_TABLE"]) == (0, 0, None)


def status(folder: Path, *more: str) -> list[str]:
    result = CliRunner(mix_stderr=False).invoke(main, ["status", "--warehouse", f"local:{folder}", *more])
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def test_the_command_prints_the_view_with_the_next_scheduled_run(synced: dict[str, Any]) -> None:
    acme, ghost = (json.loads(line) for line in status(synced["folder"], "--format", "json"))
    assert list(acme) == [*STATUS_COLUMNS, "NEXT_SCHEDULED_RUN"]
    assert acme["NEXT_SCHEDULED_RUN"] is None  # the embedded warehouse schedules nothing
    assert datetime.fromisoformat(acme["WATERMARK"]) == synced["watermark"]
    low, _high = lag_bounds(synced["watermark"], synced["clock"])
    assert acme["LAG_SECONDS"] >= low  # later than the view's read: the lag only grew
    assert acme["LAST_RUN_STATUS"] == "SUCCEEDED"
    assert (acme["ISSUES_LIVE"], acme["ISSUES_DELETED"]) == (synced["live"], 1)
    assert ghost == {
        **{key: None for key in ghost},
        "SOURCE": "ghost",
        "ENABLED": True,
        "LAST_RUN_STATUS": "FAILED",
        "LAST_RUN_STARTED_AT": synced["runs"]["ghost"].started_at.isoformat(),
        "LAST_RUN_ENDED_AT": synced["runs"]["ghost"].ended_at.isoformat(),
        "LAST_ERROR_MESSAGE": synced["error"],
        "LAST_ERROR_AT": synced["runs"]["ghost"].started_at.isoformat(),
        "ISSUES_LIVE": 0,
        "ISSUES_DELETED": 0,
    }

    header, _rule, acme_line, ghost_line, count = status(synced["folder"])  # the table
    assert header.split() == [*STATUS_COLUMNS, "NEXT_SCHEDULED_RUN"] and count == "(2 rows)"
    assert ghost_line.split()[:5] == ["ghost", "TRUE", "NULL", "NULL", "FAILED"]
    assert "does not exist" in ghost_line and acme_line.split()[-1] == "NULL"


def test_status_on_a_folder_without_a_warehouse_says_so_and_creates_nothing(tmp_path: Path) -> None:
    result = CliRunner(mix_stderr=False).invoke(main, ["status", "--warehouse", f"local:{tmp_path / 'none'}"])
    assert result.exit_code == 2
    assert "There is no warehouse in" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "none").exists()
