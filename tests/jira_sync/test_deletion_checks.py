"""How a source finds issues that left it, and what that costs a run with nothing new.

The sweep (every id the source matches, listed and compared with the stored ones) runs on the source's
cadence, DELETION_SWEEP_MINUTES (a day by default), and at once for a new source; between sweeps Jira's audit
log names the issues deleted, in one request, when the account may read it. A move out of the source's scope
leaves no audit record: it is found by the next sweep. Jira's clock is what the cadence is measured on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snowflake.snowpark import Session
from test_sync import add_source, stored, sync, truth

from fakejira import FakeJira
from jira_sync.credentials import static_credentials
from jira_sync.deletions import AUDIT_PATH, absent_from
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

DAY = timedelta(days=1)


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=40, seed=21) as server:
        yield server


@pytest.fixture
def warehouse(snowpark_session: Session) -> Warehouse:
    return Warehouse(snowpark_session)


def jira_at(jira: FakeJira, later: timedelta = timedelta(0)) -> Any:
    """Jira's clock, `later` on: the cadence is measured on it."""
    return lambda: jira.now() + later


def statements(session: Session, action: Any) -> list[str]:
    with session.query_history() as history:
        action()
    return [query.sql_text for query in history.queries]


def requests(jira: FakeJira) -> list[dict[str, Any]]:
    return jira.request_log()["requests"]


def id_listings(jira: FakeJira) -> int:
    """Search requests that list ids alone, as the sweep does (the window's search asks for more)."""
    return sum(1 for r in requests(jira) if r["path"].endswith("/search/jql") and "updated" not in r.get("jql", ""))


def test_between_sweeps_deletions_come_from_the_audit_log_and_a_quiet_run_reads_no_ids(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira, deletion_sweep=DAY)
    assert sync(warehouse, jira, jira_clock=jira_at(jira))["status"] == "SUCCEEDED"  # a new source: swept
    state = warehouse.read_state("test")
    assert state is not None and state.last_sweep_at is not None and state.audit_checked_at is not None
    assert sync(warehouse, jira, jira_clock=jira_at(jira))["status"] == "SUCCEEDED"

    jira.reset_request_log()
    quiet = statements(snowpark_session, lambda: sync(warehouse, jira, jira_clock=jira_at(jira)))
    assert len(quiet) == 2, quiet  # the plan and the run's log row: no read of every stored id, no state
    assert not [s for s in quiet if '"ID" from' in s]
    assert id_listings(jira) == 0
    assert sum(r["path"] == AUDIT_PATH for r in requests(jira)) == 1

    doomed = jira.ground_truth()[3]
    jira.delete_issue(doomed["key"])
    result = sync(warehouse, jira, jira_clock=jira_at(jira, timedelta(minutes=1)))
    assert result["status"] == "SUCCEEDED" and result["issues_deleted"] >= 1
    assert stored(snowpark_session)[int(doomed["id"])][2] is True
    assert id_listings(jira) == 0  # found without a sweep


def test_a_move_out_of_scope_waits_for_the_sweep_which_runs_on_its_cadence(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    projects = sorted({issue["project"] for issue in jira.ground_truth()})
    add_source(warehouse, jira, projects=tuple(projects[:2]), deletion_sweep=DAY)
    assert sync(warehouse, jira, jira_clock=jira_at(jira))["status"] == "SUCCEEDED"
    leaving = next(i for i in jira.ground_truth() if i["project"] == projects[0] and not i["deleted"])
    jira.move_issue(leaving["key"], projects[-1])

    soon = sync(warehouse, jira, jira_clock=jira_at(jira, timedelta(hours=1)))
    assert soon["status"] == "SUCCEEDED" and soon["issues_deleted"] == 0
    assert stored(snowpark_session)[int(leaving["id"])][2] is False  # not yet: no audit record for a move

    jira.reset_request_log()
    later = sync(warehouse, jira, jira_clock=jira_at(jira, DAY + timedelta(hours=1)))
    assert later["status"] == "SUCCEEDED" and later["issues_deleted"] == 1
    assert id_listings(jira) >= 1
    assert stored(snowpark_session)[int(leaving["id"])][2] is True
    live = {i for i, (_, _, deleted) in stored(snowpark_session).items() if not deleted}
    in_scope = {i for i, (_, _) in truth(jira).items()} & {
        int(i["id"]) for i in jira.ground_truth() if i["project"] in projects[:2]
    }
    assert live == in_scope


def test_an_account_that_may_not_read_the_audit_log_relies_on_the_sweep_alone(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    member = jira.add_account("member@example.com", "member-token", admin=False)
    source = add_source(warehouse, jira, deletion_sweep=DAY)
    warehouse.upsert_source(dataclasses.replace(source, email=member.email))

    def run(later: timedelta) -> dict[str, Any]:
        summary = run_sync(
            warehouse,
            static_credentials("member-token", member.email),
            source="test",
            jira_clock=jira_at(jira, later),
            now=lambda: datetime.now(UTC) + timedelta(minutes=5),
        )
        return summary["sources"][0]

    assert run(timedelta(0))["status"] == "SUCCEEDED"
    state = warehouse.read_state("test")
    assert state is not None and state.audit_checked_at is None  # 403 at the sweep's probe: remembered
    jira.reset_request_log()
    doomed = jira.ground_truth()[5]
    jira.delete_issue(doomed["key"])
    assert run(timedelta(hours=1))["issues_deleted"] == 0
    assert not [r for r in requests(jira) if r["path"] == AUDIT_PATH]  # not asked again until the next sweep
    assert run(DAY + timedelta(hours=1))["issues_deleted"] >= 1
    assert stored(snowpark_session)[int(doomed["id"])][2] is True


# --- the sweep's comparison, streamed (deletions.absent_from) ----------------------------------------------

ASCENDING_IDS = st.lists(st.integers(min_value=1, max_value=300), unique=True).map(sorted)


@given(stored=ASCENDING_IDS, listed=ASCENDING_IDS)
def test_the_streamed_comparison_finds_exactly_the_stored_ids_jira_no_longer_lists(
    stored: list[int], listed: list[int]
) -> None:
    """Two ascending streams merged like sorted files give what the set difference gives, in order, and
    each side is read once, front to back (so neither has to be held whole)."""
    reads: list[str] = []

    def stream(ids: list[int], side: str) -> Iterator[int]:
        for i in ids:
            reads.append(side)
            yield i

    assert list(absent_from(stream(stored, "stored"), stream(listed, "listed"))) == sorted(set(stored) - set(listed))
    assert reads.count("stored") == len(stored) and reads.count("listed") <= len(listed)


def test_live_ids_stream_ascending_from_the_warehouse(warehouse: Warehouse) -> None:
    warehouse.ensure_tables()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"SOURCE": "acme", "ID": i, "KEY": f"A-{i}", "UPDATED": now, "IS_DELETED": i == 40, "SYNCED_AT": now}
        for i in (300, 7, 40, 1000, 12)
    ]
    warehouse.merge_issues(rows)
    assert list(warehouse.iter_live_issue_ids("acme")) == [7, 12, 300, 1000]
    assert list(warehouse.iter_live_issue_ids("globex")) == []
