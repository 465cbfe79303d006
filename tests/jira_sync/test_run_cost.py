"""What a run costs the warehouse: every statement Snowpark sends is counted (its own query history).

A run with nothing new must cost at most 3 statements (it costs 2: read the plan, write the run's log row;
the deletion sweep reads the live ids only on its cadence, tests/jira_sync/test_deletion_checks.py); DDL runs
only when the code's schema differs from the one recorded, and a view whose definition did not change is
never replaced (a replaced view breaks the streams on it). Sources share
one time budget: those it did not reach wait, and go first next time.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlglot
from snowflake.snowpark import Session
from sqlglot import exp
from test_sync import add_source, stored, sync, truth

from fakejira import FakeJira
from jira_sync.schema import SCHEMA_VERSIONS, VIEWS, code_versions
from jira_sync.warehouse import Warehouse

DDL = re.compile(r"^\s*(create|alter|drop|describe)\b", re.IGNORECASE)


@pytest.fixture
def warehouse(snowpark_session: Session) -> Warehouse:
    return Warehouse(snowpark_session)


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=30, seed=11) as server:
        yield server


def statements(session: Session, action) -> list[str]:
    """The SQL text of every statement `action()` sends through the session."""
    with session.query_history() as history:
        action()
    return [query.sql_text for query in history.queries]


def test_a_run_with_nothing_new_costs_three_statements_and_no_ddl(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    # every entity (reference lists, children, the worklog feed), the default deletion sweep (daily)
    add_source(warehouse, jira, entities=None, deletion_sweep=timedelta(days=1))
    assert sync(warehouse, jira)["status"] == "SUCCEEDED"
    assert sync(warehouse, jira)["status"] == "SUCCEEDED"  # settles the state (first complete window)
    jira.reset_request_log()

    sent = statements(snowpark_session, lambda: sync(warehouse, jira))

    assert len(sent) <= 3, "\n".join(sent)
    assert not [s for s in sent if DDL.match(s)]
    last = warehouse.recent_runs("test", limit=1)[0]
    assert last.status == "SUCCEEDED" and last.issues_fetched == 0 and last.started_at is not None
    # Jira: no per-issue request (no issue, changelog, comment or worklog read), the worklog feed twice
    paths = [r["path"] for r in jira.request_log()["requests"]]
    per_issue = ("/issue/bulkfetch", "/changelog/bulkfetch", "/comment", "/worklog/list")
    assert not [p for p in paths if p.endswith(per_issue)], paths
    assert sum(p.endswith(("/worklog/updated", "/worklog/deleted")) for p in paths) == 2, paths


def test_a_run_with_changes_still_runs_no_ddl(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira)
    sync(warehouse, jira)
    jira.update_issue(jira.ground_truth()[0]["key"], {"summary": "changed"})

    sent = statements(snowpark_session, lambda: sync(warehouse, jira))

    assert not [s for s in sent if DDL.match(s)]
    assert {i: k for i, (k, _, _) in stored(snowpark_session).items()} == {
        i: k for i, (k, _) in truth(jira).items()
    }


def test_the_first_run_creates_the_schema_and_records_its_versions(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira)
    snowpark_session.sql(f"drop table {warehouse.qualified(SCHEMA_VERSIONS.name)}").collect()
    for view in VIEWS:
        snowpark_session.sql(f"drop view {warehouse.qualified(view.name)}").collect()

    assert sync(warehouse, jira)["status"] == "SUCCEEDED"

    assert warehouse.schema_versions() == code_versions()
    for view in VIEWS:  # re-created
        snowpark_session.sql(f"select count(*) from {warehouse.qualified(view.name)}").collect()


def test_after_a_deploy_only_the_changed_objects_run_ddl(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    """A deploy that changed one view and one table (here: their recorded versions are old, and the table
    lacks a column the code has) re-creates that view and adds that column, and touches nothing else."""
    add_source(warehouse, jira)
    sync(warehouse, jira)
    changed_view, *unchanged_views = VIEWS
    state = warehouse.qualified("JIRA_SYNC_STATE")
    snowpark_session.sql(f'alter table {state} drop column "BACKFILL_AFTER_ID"').collect()
    snowpark_session.sql(
        f"update {warehouse.qualified(SCHEMA_VERSIONS.name)} set \"VERSION\" = 'old' "
        f"where \"OBJECT\" in ('{changed_view.name}', 'JIRA_SYNC_STATE')"
    ).collect()

    sent = statements(snowpark_session, lambda: sync(warehouse, jira))

    ddl = [s for s in sent if DDL.match(s)]
    assert any(changed_view.name in s and s.lower().startswith("create or replace view") for s in ddl), ddl
    assert not any(view.name in s for view in unchanged_views for s in ddl), ddl
    assert any("BACKFILL_AFTER_ID" in s and s.lower().startswith("alter table") for s in ddl), ddl
    assert not any("JIRA_ISSUES\"" in s and s.lower().startswith("alter") for s in ddl), ddl
    assert warehouse.schema_versions() == code_versions()
    assert len(statements(snowpark_session, lambda: sync(warehouse, jira))) <= 3


def test_sources_share_the_run_budget_and_those_that_waited_go_first(
    warehouse: Warehouse, jira: FakeJira
) -> None:
    for name in ("alpha", "beta", "gamma"):
        add_source(warehouse, jira, name=name)
    ticks = itertools.count(step=1000.0)  # every look at the clock is 1,000 s later: the budget runs out at once

    first = sync_all(warehouse, jira, monotonic=lambda: next(ticks))

    assert first["status"] == "PARTIAL"
    assert [s["source"] for s in first["sources"]] == ["alpha"]
    assert first["waiting"] == ["beta", "gamma"]

    second = sync_all(warehouse, jira, monotonic=lambda: next(ticks))
    assert [s["source"] for s in second["sources"]] == ["beta"]
    assert second["waiting"] == ["gamma", "alpha"]

    third = sync_all(warehouse, jira, time_budget=timedelta(hours=1))
    assert [s["source"] for s in third["sources"]] == ["gamma", "alpha", "beta"]
    assert third["waiting"] == []


def sync_all(warehouse: Warehouse, jira: FakeJira, **kwargs) -> dict:
    from jira_sync.credentials import static_credentials
    from jira_sync.sync import run_sync

    kwargs.setdefault("time_budget", timedelta(seconds=1))
    return run_sync(warehouse, static_credentials(jira.token, jira.email), **kwargs)



def test_every_quoted_identifier_is_upper_case_as_snowflake_reads_it(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    """The embedded warehouse (DuckDB) matches quoted identifiers whatever their case; Snowflake does not
    ("source" is not "SOURCE"). Every statement a sync and the state and log reads send is parsed as
    Snowflake SQL, and each quoted identifier must be upper case, as the tables' names and columns are."""

    def everything() -> None:
        add_source(warehouse, jira, entities=None)
        sync(warehouse, jira)
        jira.delete_issue(jira.ground_truth()[0]["key"])
        sync(warehouse, jira)
        warehouse.read_state("test")
        warehouse.recent_runs("test")
        warehouse.read_issues("test")

    sent = statements(snowpark_session, everything)
    assert len(sent) > 10
    for sql in sent:
        for identifier in sqlglot.parse_one(sql, read="snowflake").find_all(exp.Identifier):
            if identifier.quoted:
                assert identifier.name == identifier.name.upper(), f"{identifier.name!r} in {sql[:300]}"
