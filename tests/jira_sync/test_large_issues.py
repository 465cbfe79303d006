"""End to end: an issue with a 20 MB description, made over the emulator's HTTP control API, among normal ones.

A real sync into the embedded warehouse stores it trimmed (typed columns whole, RAW under Snowflake's value
limit and marked), says in the run log what it cut, and goes on: the other issues are stored whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from snowflake.snowpark import Session

from fakejira import FakeJira
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.model import (
    CUT_MARKER,
    MAX_VALUE_BYTES,
    TRIMMED_KEY,
    adf_to_text,
    json_size,
    parse_jira_timestamp,
)
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

# 20 MiB of log text with non-ASCII letters and line breaks (more bytes of JSON than characters).
LINE = "2026-12-01T10:00:00Z ERROR Größe der Nachricht überschritten, retrying\n"
DESCRIPTION = (LINE * (20 * 1024 * 1024 // len(LINE) + 1))[: 20 * 1024 * 1024]


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=30, seed=5) as emulator:
        yield emulator


def test_an_issue_too_large_for_snowflake_is_stored_trimmed_logged_and_the_sync_goes_on(
    snowpark_session: Session, jira: FakeJira
) -> None:
    created = requests.post(
        f"{jira.url}/_fakejira/issues",
        json={
            "project": "ENG",
            "fields": {"summary": "Huge log", "status": "In Progress", "description": DESCRIPTION},
        },
        timeout=120,
    )
    assert created.status_code == 201, created.text[:300]
    big = created.json()["key"]
    del created
    truth = {issue["key"]: issue for issue in jira.ground_truth() if not issue["deleted"]}
    warehouse = Warehouse(snowpark_session)
    warehouse.ensure_tables()
    projects = tuple(sorted({issue["project"] for issue in truth.values()}))
    warehouse.upsert_source(
        SourceConfig(
            name="big", site_url=jira.url, projects=projects, email=jira.email, search_lag=timedelta(0)
        )
    )

    summary = run_sync(warehouse, static_credentials(jira.token, jira.email), source="big")
    result = summary["sources"][0]

    assert result["status"] == "SUCCEEDED", result["error"]
    rows = {row["KEY"]: row for row in warehouse.read_issues("big")}
    assert rows.keys() == truth.keys()
    assert all(row["UPDATED"] == parse_jira_timestamp(truth[key]["updated"]) for key, row in rows.items())
    huge = rows.pop(big)
    assert (huge["SUMMARY"], huge["STATUS"], huge["STATUS_CATEGORY"], huge["PROJECT_KEY"]) == (
        "Huge log",
        "In Progress",
        "In Progress",
        "ENG",
    )
    assert huge["DESCRIPTION"].startswith(DESCRIPTION[:10_000]) and huge["DESCRIPTION"].endswith(
        "too large for Snowflake]"
    )
    assert json_size(huge["RAW"]) < MAX_VALUE_BYTES and json_size(huge["DESCRIPTION"]) < MAX_VALUE_BYTES
    assert huge["RAW"]["key"] == big and huge["RAW"]["fields"]["description"] == CUT_MARKER
    assert list(huge["RAW"][TRIMMED_KEY]) == ["fields.description", "DESCRIPTION"]
    assert huge["RAW"]["fields"]["summary"] == "Huge log"

    logged = warehouse.read_run(result["run_id"])
    assert logged is not None and logged.status == "SUCCEEDED" and logged.summary is not None
    notes = [note for note in logged.summary["notes"] if big in note]
    assert len(notes) == 1 and "fields.description" in notes[0] and "DESCRIPTION" in notes[0]

    for key, row in rows.items():  # the others: whole
        description = jira.get_issue(key)["fields"].get("description")
        assert TRIMMED_KEY not in row["RAW"] and row["RAW"]["fields"].get("description") == description
        assert row["DESCRIPTION"] == (None if description is None else adf_to_text(description))
