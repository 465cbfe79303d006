"""Scale-out: sources synced at the same time, as the task graph of sql/task.sql runs them (one child task per
source, each `CALL sync_jira(source => ...)` in a session of its own), each end equal to Jira's ground truth for
its projects; and a source split by project counts no issue twice.

The concurrency is real: two threads, each with its own Snowpark session, write to one embedded warehouse (one
fakesnow server and one DuckDB database: sessions on the server's shared in-memory store each get their own
DuckDB cursor, and the server runs every statement in its thread pool, so the two runs' statements execute at
once, under DuckDB's MVCC) while one emulator answers both. The folder-backed warehouse of `jira-sync run`
cannot be opened twice at once, which is why these sessions use the in-memory store: fakesnow's server gives
every login a DuckDB instance of its own, which ATTACHes the folder's DB.db, and DuckDB refuses a file another
instance holds, "Unique file handle conflict" in one process and "IO Error: Could not set lock on file ...
Conflicting lock is held" from another. So two local runs on one folder cannot overlap; in Snowflake, which
queues concurrent DML on one table, the graph's children do.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from snowflake.snowpark import Session
from test_sync import add_source, ahead, assert_no_duplicates, live, stored

from fakejira import FakeJira
from jira_sync.credentials import static_credentials
from jira_sync.model import parse_jira_timestamp
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

README = Path(__file__).resolve().parents[2] / "README.md"
SOURCES = {"eng-ops": ("ENG", "OPS"), "the-rest": ("DATA", "SUP", "MKT")}  # one site split by project


def truth_of(jira: FakeJira, projects: tuple[str, ...]) -> dict[int, tuple[str, datetime]]:
    """The live issues of these projects, as Jira has them: id -> (key, updated)."""
    return {
        int(issue["id"]): (issue["key"], parse_jira_timestamp(issue["updated"]))
        for issue in jira.ground_truth()
        if not issue["deleted"] and issue["project"] in projects
    }


def lone_issue(jira: FakeJira, project: str) -> dict[str, Any]:
    """A live issue of the project that is neither a sub-task nor has any: it moves alone."""
    for issue in jira.ground_truth():
        fields = (jira.get_issue(issue["key"]) or {}).get("fields", {})
        if (
            issue["project"] == project
            and not issue["deleted"]
            and not fields.get("parent")
            and not fields.get("subtasks")
        ):
            return issue
    raise AssertionError(f"no lone issue in {project}")


def current_rows(session: Session) -> int:
    return int(session.sql("SELECT COUNT(*) AS N FROM JIRA_ISSUES_CURRENT").collect()[0]["N"])


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=400, seed=29, latency_ms=10) as emulator:
        yield emulator


@pytest.fixture
def shared(make_snowpark_session: Callable[..., Session]) -> Callable[[], Session]:
    """Sessions on one embedded warehouse: the same database of the server's shared store."""
    database = f"SCALE_{uuid.uuid4().hex[:10].upper()}"
    return lambda: make_snowpark_session(database=database, shared=True)


def sync_at_once(jira: FakeJira, sessions: dict[str, Session]) -> dict[str, dict[str, Any]]:
    """Each source synced in a thread of its own, on its own session, all started together: the summary of
    each, with the monotonic times its run started and ended."""
    start = threading.Barrier(len(sessions))
    results: dict[str, dict[str, Any]] = {}

    def child(source: str, session: Session) -> None:
        start.wait()
        began = time.monotonic()
        try:
            summary = run_sync(
                Warehouse(session), static_credentials(jira.token, jira.email), source=source, now=ahead()
            )
            results[source] = {**summary["sources"][0], "span": (began, time.monotonic())}
        except BaseException as exc:  # reported below, in the test's thread
            results[source] = {"status": "RAISED", "error": repr(exc), "span": (began, time.monotonic())}

    threads = [threading.Thread(target=child, args=item) for item in sessions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert results.keys() == sessions.keys(), "a run did not finish"
    for source, result in results.items():
        assert result["status"] == "SUCCEEDED", (source, result["error"])
    (first_start, first_end), (second_start, second_end) = (r["span"] for r in results.values())
    assert max(first_start, second_start) < min(first_end, second_end), "the runs did not overlap"
    return results


def test_two_sources_synced_at_once_each_end_equal_to_ground_truth(
    jira: FakeJira, shared: Callable[[], Session]
) -> None:
    """Initial loads at once, then incremental runs at once after edits, creates, a deletion and a move from
    one source's project to the other's: each source's rows are Jira's issues of its projects, no issue is
    live twice, and each source has its own watermark and run log."""
    reader = shared()
    warehouse = Warehouse(reader)
    for name, projects in SOURCES.items():
        add_source(warehouse, jira, name, projects=projects, batch_size=40)
    sessions = {name: shared() for name in SOURCES}

    first = sync_at_once(jira, sessions)
    for name, projects in SOURCES.items():
        assert live(reader, name) == truth_of(jira, projects), name
        assert first[name]["batches"] > 2  # several commits each, interleaved with the other's
    assert_no_duplicates(reader)

    issues = [issue for issue in jira.ground_truth() if not issue["deleted"]]
    for project in ("ENG", "DATA"):
        for issue in [i for i in issues if i["project"] == project][:3]:
            jira.update_issue(issue["key"], {"summary": "changed while both run"})
        jira.create_issue(project, {"summary": "new in " + project})
    jira.delete_issue(next(i for i in issues if i["project"] == "SUP")["key"])
    mover = lone_issue(jira, "OPS")
    moved = jira.move_issue(mover["key"], "MKT")  # out of eng-ops, into the-rest

    second = sync_at_once(jira, sessions)
    for name, projects in SOURCES.items():
        assert live(reader, name) == truth_of(jira, projects), name
    assert stored(reader, "eng-ops")[int(mover["id"])][2] is True  # marked out of scope where it was
    assert live(reader, "the-rest")[int(moved["id"])][0] == moved["key"]
    assert second["eng-ops"]["issues_deleted"] >= 1 and second["the-rest"]["issues_inserted"] >= 2
    assert_no_duplicates(reader)
    everything = sum(len(truth_of(jira, projects)) for projects in SOURCES.values())
    assert current_rows(reader) == everything  # each live issue once across the split
    for name in SOURCES:
        state = warehouse.read_state(name)
        assert state is not None and state.watermark == datetime.fromisoformat(
            second[name]["watermark_after"]
        )
        runs = reader.sql("SELECT STATUS FROM JIRA_SYNC_RUNS WHERE SOURCE = ?", params=[name]).collect()
        assert [r["STATUS"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"], name


def readme_query(marker: str) -> str:
    """The README's SQL block holding `marker` (the query the FAQ gives for counting across sources)."""
    blocks = re.findall(r"^```sql\n(.*?)^```", README.read_text(), re.S | re.M)
    (block,) = [block for block in blocks if marker in block]
    return block.strip().rstrip(";")


def test_the_readme_query_counts_an_issue_moved_between_sub_sources_once(
    jira: FakeJira, shared: Callable[[], Session]
) -> None:
    """Between sweeps (DELETION_SWEEP_MINUTES, daily by default) an issue moved from one sub-source's project
    to another's is live under both, so JIRA_ISSUES_CURRENT has it twice; the FAQ's query keeps its latest
    row only, under the source that has it now."""
    session = shared()
    warehouse = Warehouse(session)
    daily = timedelta(days=1)
    for name, projects in SOURCES.items():
        add_source(warehouse, jira, name, projects=projects, deletion_sweep=daily)
    credentials = static_credentials(jira.token, jira.email)
    for name in SOURCES:
        assert run_sync(warehouse, credentials, source=name, now=ahead())["status"] == "SUCCEEDED"
    mover = lone_issue(jira, "ENG")
    moved = jira.move_issue(mover["key"], "DATA")
    for name in SOURCES:
        assert run_sync(warehouse, credentials, source=name, now=ahead())["status"] == "SUCCEEDED"

    everything = sum(len(truth_of(jira, projects)) for projects in SOURCES.values())
    assert live(session, "eng-ops")[int(mover["id"])][0] == mover["key"]  # not swept yet
    assert current_rows(session) == everything + 1
    rows = session.sql(readme_query("QUALIFY ROW_NUMBER()")).collect()
    assert len(rows) == everything
    assert [(r["SOURCE"], r["KEY"]) for r in rows if r["KEY"] in (mover["key"], moved["key"])] == [
        ("the-rest", moved["key"])
    ]


def test_a_source_split_by_project_counts_each_issue_once(
    jira: FakeJira, shared: Callable[[], Session]
) -> None:
    """The FAQ's split: a synced source narrowed to some of its projects, a new source for the others, both
    run at once. The narrowed one marks the issues it gave away out of its scope while the new one loads them:
    afterwards every issue of the site is live exactly once, under the source that lists its project."""
    reader = shared()
    warehouse = Warehouse(reader)
    everything = tuple(sorted({issue["project"] for issue in jira.ground_truth()}))
    add_source(warehouse, jira, "acme", projects=everything, batch_size=60)
    sessions = {"acme": shared(), "acme-ops": shared()}
    summary = run_sync(Warehouse(sessions["acme"]), static_credentials(jira.token, jira.email), source="acme")
    assert summary["status"] == "SUCCEEDED"
    kept = tuple(p for p in everything if p != "OPS")
    add_source(warehouse, jira, "acme", projects=kept, batch_size=60)
    add_source(warehouse, jira, "acme-ops", projects=("OPS",), batch_size=60)

    results = sync_at_once(jira, sessions)
    assert results["acme"]["issues_deleted"] == len(truth_of(jira, ("OPS",))) > 0
    assert live(reader, "acme") == truth_of(jira, kept)
    assert live(reader, "acme-ops") == truth_of(jira, ("OPS",))
    assert current_rows(reader) == len(truth_of(jira, everything))
