"""Per-source knobs: `add_jira_source` sets them within the bounds a run applies, refusing anything else with
one line before writing; a knob set out of range with UPDATE fails only its source's run, with the same line;
and the largest batch keeps the warehouse's MERGE under Snowflake's expression-list limit."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from snowflake.snowpark import Session

from jira_sync import procedure
from jira_sync.config import KNOBS, MAX_BATCH_SIZE, MAX_EXPRESSIONS_IN_LIST, ConfigError
from jira_sync.entities import issue_links
from jira_sync.sync import SyncError
from jira_sync.warehouse import Warehouse

AT = datetime(2026, 1, 1, tzinfo=UTC)

SITE = "https://acme.atlassian.net"
ROOT = Path(__file__).resolve().parents[2]
OUT_OF_RANGE = [(knob, value) for knob in KNOBS for value in (knob.low - 1, knob.high + 1)]


def out_of_range_line(knob: Any, value: int) -> str:
    unit = f" {knob.unit}" if knob.unit else ""
    return f"{knob.column} = {value} is out of range ({knob.low} to {knob.high}{unit})"


def test_add_jira_source_refuses_a_knob_out_of_range_before_writing(snowpark_session: Session) -> None:
    assert procedure.add_jira_source(snowpark_session, "acme", SITE, projects=["ENG"])["status"] == "SAVED"
    before = Warehouse(snowpark_session).read_source("acme")
    for knob, value in [*OUT_OF_RANGE, (KNOBS[0], 2.5)]:
        for name in ("acme", "newcomer"):  # an existing source, and one the call would create
            with pytest.raises(ConfigError) as refused:
                procedure.add_jira_source(
                    snowpark_session, name, SITE, projects=["ENG"], **{knob.column.lower(): value}
                )
            line = str(refused.value)
            assert "\n" not in line and f"Source '{name}'" in line and knob.column in line
            expected = "is not a whole number" if value == 2.5 else out_of_range_line(knob, value)
            assert expected in line, line
    warehouse = Warehouse(snowpark_session)
    assert warehouse.read_source("acme") == before and warehouse.read_source("newcomer") is None


def test_add_jira_source_stores_knobs_in_range_and_null_keeps_them(snowpark_session: Session) -> None:
    edges = {"batch_size": MAX_BATCH_SIZE, "workers": 1, "overlap_minutes": 0, "time_budget_seconds": 86400}
    saved = procedure.add_jira_source(snowpark_session, "acme", SITE, projects=["ENG"], **edges)
    assert saved["status"] == "SAVED"
    warehouse = Warehouse(snowpark_session)
    row = warehouse.read_source("acme")
    assert row is not None
    assert {name: row[name.upper()] for name in edges} == edges
    assert (row["PAGE_SIZE"], row["SEARCH_LAG_SECONDS"]) == (5000, 60), "a knob not given took no default"
    snowpark_session.sql("UPDATE JIRA_SOURCES SET PAGE_SIZE = 700 WHERE NAME = 'acme'").collect()
    # knobs NULL (not given): the stored values stay, whether set by add_jira_source or by UPDATE
    again = procedure.add_jira_source(snowpark_session, "acme", SITE, projects=["ENG", "OPS"])
    assert again["status"] == "SAVED"
    row = warehouse.read_source("acme")
    assert row is not None and row["PROJECTS"] == ["ENG", "OPS"]
    assert {name: row[name.upper()] for name in edges} == edges and row["PAGE_SIZE"] == 700
    same = procedure.add_jira_source(snowpark_session, "acme", SITE, projects=["ENG", "OPS"], workers=1)
    assert same["status"] == "UNCHANGED" and warehouse.read_source("acme") == row


def test_a_knob_set_out_of_range_with_update_fails_only_that_source_naming_column_and_range(
    snowpark_session: Session,
) -> None:
    """The row is refused before any request, so no Jira is needed; the run log keeps the same line."""
    procedure.add_jira_source(snowpark_session, "acme", SITE, projects=["ENG"])
    warehouse = Warehouse(snowpark_session)
    for knob in KNOBS:
        value = knob.high + 1
        snowpark_session.sql(f"UPDATE JIRA_SOURCES SET {knob.column} = {value} WHERE NAME = 'acme'").collect()
        stored = warehouse.read_source("acme")
        with pytest.raises(SyncError) as failed:
            procedure.sync_jira(snowpark_session, "acme")
        (source,) = failed.value.summary["sources"]
        assert source["status"] == "FAILED" and out_of_range_line(knob, value) in source["error"]
        assert f"UPDATE JIRA_SOURCES SET {knob.column} = <{knob.low}..{knob.high}>" in source["error"]
        logged = warehouse.read_run(source["run_id"])
        assert logged is not None and logged.error_message == source["error"]
        assert warehouse.read_source("acme") == stored, "the bad row was rewritten"
        snowpark_session.sql(
            f"UPDATE JIRA_SOURCES SET {knob.column} = {knob.low} WHERE NAME = 'acme'"
        ).collect()


def test_the_knob_arguments_match_the_columns_and_snowflake_yml() -> None:
    parameters = list(inspect.signature(procedure.add_jira_source).parameters)[1:]  # after the session
    assert parameters[-1] == "entities"  # the last argument: what to sync besides issues
    knobs = parameters[-len(KNOBS) - 1 : -1]
    assert knobs == [knob.column.lower() for knob in KNOBS]
    definition = yaml.safe_load((ROOT / "snowflake.yml").read_text())
    signature = definition["entities"]["add_jira_source"]["signature"]
    assert [argument["name"] for argument in signature] == parameters
    for argument in signature[-len(KNOBS) - 1 : -1]:
        assert (argument["type"], argument["default"]) == ("int", "NULL")
    assert (signature[-1]["type"], signature[-1]["default"]) == ("array", "NULL")


class RecordingSession:
    """Stands in for a Snowpark session: keeps each statement and its binds, answers nothing."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def sql(self, text: str, params: list[Any] | None = None) -> RecordingSession:
        self.statements.append((text, list(params or [])))  # a copy: the warehouse empties its list after
        return self

    def collect(self) -> list[Any]:
        return []


@pytest.mark.parametrize("warehouse_batch", [None, MAX_BATCH_SIZE])
def test_the_largest_batch_keeps_each_merge_under_the_expression_list_limit(
    warehouse_batch: int | None,
) -> None:
    assert MAX_BATCH_SIZE < MAX_EXPRESSIONS_IN_LIST and KNOBS[0].high == MAX_BATCH_SIZE
    session = RecordingSession()
    warehouse = Warehouse(session, **({"batch_size": warehouse_batch} if warehouse_batch else {}))
    rows = [
        {"SOURCE": "acme", "ID": n, "KEY": f"ENG-{n}", "UPDATED": "2024-01-01T00:00:00+00:00"}
        for n in range(MAX_BATCH_SIZE)
    ]
    warehouse.merge_issues(rows)
    merges = [(text, binds) for text, binds in session.statements if text.startswith("merge into")]
    # the rows travel as one JSON array a MERGE (no list of expressions at all), whatever their number
    assert sum(len(json.loads(binds[0])) for _, binds in merges) == MAX_BATCH_SIZE
    for text, binds in merges:
        assert len(binds) == text.count("?") == 1 < MAX_EXPRESSIONS_IN_LIST


def test_statements_on_any_number_of_departing_or_asked_ids_bind_them_as_one_value_each() -> None:
    """A sweep may find tens of thousands of departures (a project moved out of scope): marking their rows,
    links included, and asking which ids are stored are one statement each, the ids one JSON-array bind."""
    session = RecordingSession()
    warehouse = Warehouse(session)
    ids = list(range(10_000, 60_000))
    for any_end in (False, True):
        warehouse.mark_owned_deleted(
            issue_links.TABLE, "acme", ids, issue_links.ENTITY.owner_columns, AT, any_end=any_end
        )
    warehouse.live_issue_ids_among("acme", ids)
    assert len(session.statements) == 3
    for text, binds in session.statements:
        assert len(binds) == text.count("?") <= 6
        assert max(len(json.loads(b)) for b in binds if isinstance(b, str) and b.startswith("[")) == len(ids)
