"""The warehouse layer against a real Snowpark session on the embedded warehouse (fakesnow)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException

from jira_sync import warehouse as warehouse_module
from jira_sync.config import SourceConfig
from jira_sync.model import ISSUES, RUN_LOG, SOURCES, STATE, TABLES, flatten_issue
from jira_sync.warehouse import (
    ISSUE_LABELS_VIEW,
    ISSUES_CURRENT_VIEW,
    ROW_COLUMNS_KEY,
    MergeCounts,
    Scope,
    State,
    Warehouse,
    json_array,
    json_row_chunks,
    quote_identifier,
)

T0 = datetime(2024, 3, 5, 14, 7, 33, 123000, tzinfo=UTC)
SYNCED = datetime(2024, 3, 6, 8, 0, tzinfo=UTC)


def jira_time(moment: datetime) -> str:
    """A datetime the way Jira writes it: `2024-03-05T14:07:33.123+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def issue_row(
    issue_id: int, updated: datetime = T0, *, source: str = "acme", run_id: str = "run-1", **fields: Any
) -> dict[str, Any]:
    issue = {
        "id": str(issue_id),
        "key": f"ALPHA-{issue_id}",
        "fields": {
            "summary": f"Issue {issue_id}",
            "project": {"key": "ALPHA", "name": "Alpha"},
            "status": {"name": "To Do", "statusCategory": {"name": "To Do"}},
            "created": jira_time(T0 - timedelta(days=30)),
            "updated": jira_time(updated),
            **fields,
        },
    }
    return flatten_issue(
        issue, source=source, story_points_fields=["customfield_10016"], synced_at=SYNCED, run_id=run_id
    )


@pytest.fixture
def session(make_snowpark_session) -> Session:
    return make_snowpark_session(database="WH_TEST", schema="SYNC")


@pytest.fixture
def wh(session: Session) -> Warehouse:
    """Lower-case names on purpose: they mean what they would unquoted in Snowflake (WH_TEST.SYNC)."""
    warehouse = Warehouse(session, "wh_test", "sync")
    warehouse.ensure_tables()
    return warehouse


def stored(wh: Warehouse, source: str = "acme") -> dict[int, dict[str, Any]]:
    return {row["ID"]: row for row in wh.read_issues(source)}


# --- DDL -----------------------------------------------------------------------------------------------


def test_ensure_tables_is_idempotent_and_matches_the_model(wh: Warehouse, session: Session) -> None:
    wh.merge_issues([issue_row(1, labels=["a", "b"])])
    wh.ensure_tables()
    wh.ensure_tables()

    for table in TABLES:
        assert wh.table_columns(table) == list(table.names)
    assert len(wh.read_issues("acme")) == 1
    current = session.sql(f"select * from {wh.qualified(ISSUES_CURRENT_VIEW)}").collect()
    assert [r["KEY"] for r in current] == ["ALPHA-1"]
    labels = session.sql(f'select "LABEL" from {wh.qualified(ISSUE_LABELS_VIEW)} order by 1').collect()
    assert [r[0] for r in labels] == ["a", "b"]


def test_ensure_tables_adds_columns_added_to_the_model(wh: Warehouse, session: Session) -> None:
    session.sql('drop table "WH_TEST"."SYNC"."JIRA_ISSUES"').collect()
    session.sql(
        'create table "WH_TEST"."SYNC"."JIRA_ISSUES" ("SOURCE" varchar not null, "ID" number(38,0) not null, '
        '"UPDATED" timestamp_tz)'
    ).collect()
    session.sql('insert into "WH_TEST"."SYNC"."JIRA_ISSUES" values (\'acme\', 7, null)').collect()

    wh.ensure_tables()

    assert sorted(wh.table_columns(ISSUES)) == sorted(ISSUES.names)
    assert wh.live_issue_ids("acme") == {7}
    assert wh.merge_issues([issue_row(7)]) == MergeCounts(inserted=0, updated=1)  # stored UPDATED was NULL
    assert stored(wh)[7]["KEY"] == "ALPHA-7"


def test_unqualified_warehouse_uses_the_session_schema(session: Session) -> None:
    wh = Warehouse(session)
    wh.ensure_tables()
    wh.merge_issues([issue_row(1)])

    assert session.sql("select count(*) from JIRA_ISSUES").collect()[0][0] == 1
    assert wh.qualified("JIRA_ISSUES") == '"JIRA_ISSUES"'


def test_identifiers_are_validated_and_quoted(session: Session) -> None:
    assert quote_identifier("jira_db") == '"JIRA_DB"'
    assert quote_identifier("A$1") == '"A$1"'
    for bad in ("", "1abc", 'x"; drop table t; --', "a-b", "a.b", None):
        with pytest.raises(ValueError, match="invalid identifier"):
            quote_identifier(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid identifier"):
        Warehouse(session, "jira-db", "sync")
    with pytest.raises(ValueError, match="needs a schema"):
        Warehouse(session, "wh_test", None)
    with pytest.raises(ValueError, match="batch_size"):
        Warehouse(session, batch_size=0)


# --- issues --------------------------------------------------------------------------------------------


def test_values_come_back_with_their_types(wh: Warehouse, session: Session) -> None:
    row = issue_row(
        10042,
        summary="Ünïcödé — 日本語 🚀 'quotes' \"double\" \\ back",
        labels=["backend", "naïve"],
        components=[{"name": "API"}],
        fixVersions=[],
        duedate="2024-02-29",
        customfield_10016=5.5,
        issuetype={"name": "Sub-task", "subtask": True},
        parent={"id": "10040", "key": "ALPHA-40"},
        resolutiondate=None,
        description={
            "type": "doc",
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": "é"}]}],
        },
        customfield_99999={"nested": [None, {"x": None}], "n": 1.5},
    )
    assert wh.merge_issues([row]) == MergeCounts(inserted=1, updated=0)

    (back,) = wh.read_issues("acme")
    assert back["SUMMARY"] == row["SUMMARY"]
    assert back["ID"] == 10042 and back["PARENT_ID"] == 10040 and back["IS_SUBTASK"] is True
    assert (
        back["LABELS"] == ["backend", "naïve"]
        and back["COMPONENTS"] == ["API"]
        and back["FIX_VERSIONS"] == []
    )
    assert back["DUE_DATE"] == date(2024, 2, 29)
    assert back["STORY_POINTS"] == 5.5
    assert back["UPDATED"] == T0 and back["UPDATED"].tzinfo is not None
    assert back["SYNCED_AT"] == SYNCED
    assert back["RESOLVED"] is None and back["DELETED_AT"] is None  # not 1970-01-01
    assert back["IS_DELETED"] is False
    assert back["DESCRIPTION"] == "é"
    assert back["RAW"] == row["RAW"]  # nested JSON nulls survive inside the VARIANT

    raw = session.sql(
        'select "ID", "IS_SUBTASK", "STORY_POINTS", "DUE_DATE", "UPDATED", "RESOLVED" is null from '
        f"{wh.qualified(ISSUES.name)}"
    ).collect()[0]
    assert [type(v) for v in raw] == [int, bool, float, date, datetime, bool]
    assert raw[4] == T0 and raw[5] is True


def test_insert_then_update_counts(wh: Warehouse) -> None:
    assert wh.merge_issues([issue_row(i) for i in range(1, 6)]) == MergeCounts(inserted=5, updated=0)

    later = T0 + timedelta(minutes=1)
    batch = [issue_row(i, later, run_id="run-2") for i in (1, 2)] + [issue_row(6, later, run_id="run-2")]
    assert wh.merge_issues(batch) == MergeCounts(inserted=1, updated=2)

    rows = stored(wh)
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    assert {i for i, r in rows.items() if r["RUN_ID"] == "run-2"} == {1, 2, 6}
    assert rows[1]["UPDATED"] == later and rows[3]["UPDATED"] == T0


def test_a_statement_lets_go_of_its_rows_once_run(wh: Warehouse, session: Session) -> None:
    """A Snowpark plan is a reference cycle, freed only when the cycle collector runs (rarely, during a
    sync: jira_sync.collector); the rows a MERGE was given (up to 8 MB) must not wait for it."""
    handed: list[list[Any]] = []
    run = session.sql

    def sql(query: str, params: list[Any] | None = None) -> Any:
        if params:
            handed.append(params)
        return run(query, params=params)

    session.sql = sql  # type: ignore[method-assign]
    try:
        assert wh.merge_issues([issue_row(i) for i in range(1, 4)]) == MergeCounts(inserted=3, updated=0)
    finally:
        del session.sql
    assert handed and all(params == [] for params in handed)
    assert sorted(stored(wh)) == [1, 2, 3]


def test_same_updated_again_writes_nothing(wh: Warehouse) -> None:
    wh.merge_issues([issue_row(1)])
    again = issue_row(1, summary="changed without a newer UPDATED", run_id="run-2")

    assert wh.merge_issues([again]) == MergeCounts(inserted=0, updated=0)
    row = stored(wh)[1]
    assert (row["SUMMARY"], row["RUN_ID"]) == ("Issue 1", "run-1")


def test_older_copy_never_overwrites_newer(wh: Warehouse) -> None:
    newer = T0 + timedelta(hours=1)
    wh.merge_issues([issue_row(1, newer, summary="new")])

    assert wh.merge_issues([issue_row(1, T0, summary="old")]) == MergeCounts(inserted=0, updated=0)
    assert wh.merge_issues([issue_row(1, T0, summary="old")], force=True) == MergeCounts(
        inserted=0, updated=0
    )
    assert stored(wh)[1]["SUMMARY"] == "new"
    assert stored(wh)[1]["UPDATED"] == newer


def test_force_rewrites_equal_copies(wh: Warehouse) -> None:
    wh.merge_issues([issue_row(1), issue_row(2)])

    counts = wh.merge_issues([issue_row(1, summary="re-flattened", run_id="full")], force=True)

    assert counts == MergeCounts(inserted=0, updated=1)
    assert stored(wh)[1]["SUMMARY"] == "re-flattened"


def test_one_updated_millisecond_is_newer(wh: Warehouse) -> None:
    wh.merge_issues([issue_row(1)])

    counts = wh.merge_issues([issue_row(1, T0 + timedelta(milliseconds=1), summary="ms later")])

    assert counts == MergeCounts(inserted=0, updated=1)
    assert stored(wh)[1]["SUMMARY"] == "ms later"


def test_duplicates_in_a_batch_collapse_to_the_newest(wh: Warehouse) -> None:
    batch = [
        issue_row(1, T0 + timedelta(minutes=2), summary="newest"),
        issue_row(1, T0, summary="oldest"),
        issue_row(1, T0 + timedelta(minutes=1), summary="middle"),
    ]

    assert wh.merge_issues(batch) == MergeCounts(inserted=1, updated=0)
    assert stored(wh)[1]["SUMMARY"] == "newest"


def test_rows_without_a_key_are_refused(wh: Warehouse) -> None:
    bad = issue_row(1)
    bad["ID"] = None
    with pytest.raises(ValueError, match="without SOURCE or ID"):
        wh.merge_issues([bad])


def test_sources_keep_the_same_issue_id_apart(wh: Warehouse) -> None:
    wh.merge_issues([issue_row(1, source="acme"), issue_row(1, source="globex", summary="other site")])

    assert stored(wh, "acme")[1]["SUMMARY"] == "Issue 1"
    assert stored(wh, "globex")[1]["SUMMARY"] == "other site"
    wh.mark_deleted("globex", [1], SYNCED)
    assert wh.live_issue_ids("acme") == {1} and wh.live_issue_ids("globex") == set()


def test_batches_split_by_count_and_by_bytes(session: Session) -> None:
    wh = Warehouse(session, "wh_test", "sync", batch_size=3, max_bind_bytes=3_000)
    wh.ensure_tables()
    big = [issue_row(i, summary="x" * 600) for i in range(1, 6)]  # ~1.4 kB each: two per 3 kB chunk

    assert wh.merge_issues(big) == MergeCounts(inserted=5, updated=0)
    later = T0 + timedelta(seconds=1)
    assert wh.merge_issues([issue_row(i, later) for i in range(1, 6)], batch_size=2) == MergeCounts(0, 5)
    assert wh.live_issue_ids("acme") == set(range(1, 6))
    assert all(r["UPDATED"] == later for r in wh.read_issues("acme"))


class NoSession:
    """A session any use of which fails: what may run off the sync's thread must not touch it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"session.{name} used")


def test_rows_encoded_off_the_sync_thread_merge_as_the_rows_themselves(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`encode_issues` uses no session (the preparing thread calls it), collapses copies as the MERGE does,
    and merging what it made stores what merging the rows stores, writing no document again; a statement of
    another shape (another batch size) writes its own documents."""
    offline = Warehouse(NoSession(), "wh_test", "sync", max_bind_bytes=wh.max_bind_bytes)  # type: ignore[arg-type]
    older, newer = issue_row(1, T0, summary="older"), issue_row(1, T0 + timedelta(seconds=1), summary="newer")
    encoded = offline.encode_issues([newer, older, issue_row(2), issue_row(3, summary="é 😀")])
    assert [row["SUMMARY"] for row in encoded] == ["newer", "Issue 2", "é 😀"]
    with monkeypatch.context() as patch:  # the MERGE sends the documents written, writing none
        patch.setattr(warehouse_module, "json_row_chunks", NoSession())
        assert wh.merge_issues(encoded) == MergeCounts(inserted=3, updated=0)
    assert {r["ID"]: r["SUMMARY"] for r in wh.read_issues("acme")} == {1: "newer", 2: "Issue 2", 3: "é 😀"}
    later = offline.encode_issues([issue_row(i, T0 + timedelta(minutes=1)) for i in (1, 2, 3)])
    assert wh.merge_issues(later, batch_size=2) == MergeCounts(inserted=0, updated=3)  # re-encoded, 2 a MERGE


def test_json_row_chunks() -> None:
    rows = [{"A": i, "B": None, "C": "é" * 10} for i in range(5)]
    assert [len(c) for c in json_row_chunks(rows, batch_size=2, max_bytes=10_000)] == [2, 2, 1]
    one = len(('{"A":0,"C":"' + "é" * 10 + '"}').encode())  # UTF-8 bytes: text in any script keeps its size
    assert [len(c) for c in json_row_chunks(rows, batch_size=10, max_bytes=2 * one)] == [2, 2, 1]
    assert [len(c) for c in json_row_chunks(rows, batch_size=10, max_bytes=1)] == [1] * 5  # never empty
    first = next(json_row_chunks(rows, 1, 100))
    assert first == [('{"A":0,"C":"' + "é" * 10 + '"}').encode()]  # None left out, UTF-8 kept
    assert json_array(first) == '[{"A":0,"C":"' + "é" * 10 + '"}]'
    (emoji,) = next(json_row_chunks([{"A": "ok 😀", "B": "Кириллица ✓"}], 1, 100))
    assert emoji == '{"A":"ok \\ud83d\\ude00","B":"Кириллица ✓"}'.encode()  # only beyond U+FFFF escaped
    with pytest.raises(ValueError, match="batch_size"):
        list(json_row_chunks(rows, 0, 100))


JSON_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)  # surrogates, astral, controls
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["ID", "SUMMARY", "RAW", "LABELS"]), JSON_VALUES, min_size=1))
def test_a_row_document_holds_no_character_beyond_u_ffff_and_reads_back_as_the_row(row: dict[str, Any]) -> None:
    """Whatever its text (accents, other scripts, emoji beyond U+FFFF, lone surrogates, control characters), a
    row's bind text has no character beyond U+FFFF and no lone surrogate (Python holds it at 1 or 2 bytes a
    character, and UTF-8 carries it), and JSON reads it back as the row (None-valued columns left out), apart
    columns included."""
    for apart in ((), ("RAW",)):
        (document,) = next(json_row_chunks([row], 1, 1_000_000, apart))
        text = json_array([document])
        assert all(ord(char) <= 0xFFFF and not 0xD800 <= ord(char) <= 0xDFFF for char in text)
        wanted = {k: v for k, v in row.items() if v is not None}
        read = json.loads(text)[0]
        if apart:
            read = {**read.pop(ROW_COLUMNS_KEY), **read}
        assert read == wanted


# --- deletions -----------------------------------------------------------------------------------------


def test_mark_deleted_soft_deletes_once(wh: Warehouse, session: Session) -> None:
    wh.merge_issues([issue_row(i) for i in (1, 2, 3)])

    assert wh.mark_deleted("acme", [2, 3, 99], SYNCED) == 2  # 99 is unknown: nothing to mark
    assert wh.mark_deleted("acme", [2], SYNCED + timedelta(hours=1)) == 0
    assert wh.mark_deleted("acme", [], SYNCED) == 0

    rows = stored(wh)
    assert sorted(rows) == [1, 2, 3]
    assert [(rows[i]["IS_DELETED"], rows[i]["DELETED_AT"]) for i in (1, 2)] == [(False, None), (True, SYNCED)]
    assert wh.live_issue_ids("acme") == {1}
    assert [r["ID"] for r in wh.read_issues("acme", include_deleted=False)] == [1]
    current = session.sql(f'select "ID" from {wh.qualified(ISSUES_CURRENT_VIEW)}').collect()
    assert [r[0] for r in current] == [1]


def test_deleted_issue_comes_back_with_an_equal_or_newer_copy_not_an_older_one(wh: Warehouse) -> None:
    wh.merge_issues([issue_row(1), issue_row(2)])
    wh.mark_deleted("acme", [1, 2], SYNCED)

    assert wh.merge_issues([issue_row(1, T0 - timedelta(seconds=1))]) == MergeCounts(0, 0)
    assert wh.merge_issues([issue_row(1), issue_row(2, T0 + timedelta(days=1))]) == MergeCounts(0, 2)

    rows = stored(wh)
    assert all(rows[i]["IS_DELETED"] is False and rows[i]["DELETED_AT"] is None for i in (1, 2))
    assert wh.live_issue_ids("acme") == {1, 2}


# --- checkpoints ----------------------------------------------------------------------------------------


def test_commit_batch_moves_the_watermark_with_the_batch(wh: Warehouse) -> None:
    counts = wh.commit_batch(
        [issue_row(1), issue_row(2)],
        source="acme",
        watermark=T0,
        time_zone="Europe/Berlin",
        run_id="run-1",
        at=SYNCED,
    )

    assert counts == MergeCounts(inserted=2, updated=0)
    assert wh.read_state("acme") == State(
        source="acme", watermark=T0, account_time_zone="Europe/Berlin", last_run_id="run-1", updated_at=SYNCED
    )


def test_commit_batch_failing_at_the_state_step_leaves_the_watermark_behind(wh: Warehouse) -> None:
    """The watermark step fails after the MERGE: the rows are in, the watermark has not moved past them, and
    repeating the batch (what the next run does) writes nothing more and then moves the watermark."""
    wh.commit_batch([issue_row(1)], source="acme", watermark=T0, time_zone="UTC", run_id="run-1")
    later = T0 + timedelta(hours=1)
    batch = [issue_row(1, later), issue_row(2)]

    with pytest.raises(SnowparkSQLException) as failure:
        wh.commit_batch(
            batch,
            source="acme",
            watermark="not a timestamp",  # type: ignore[arg-type]  # fails in SQL, after the issue MERGE
            time_zone="UTC",
            run_id="run-2",
        )

    assert "not a timestamp" in str(failure.value)
    assert wh.read_state("acme").watermark == T0
    assert wh.commit_batch(
        batch, source="acme", watermark=later, time_zone="UTC", run_id="run-3"
    ) == MergeCounts(0, 0)
    assert wh.read_state("acme").watermark == later
    assert {r["ID"]: r["UPDATED"] for r in wh.read_issues("acme")} == {1: later, 2: T0}


def test_complete_window_deletes_and_moves_the_watermark_together(wh: Warehouse) -> None:
    wh.commit_batch(
        [issue_row(i) for i in (1, 2, 3)], source="acme", watermark=T0, time_zone="UTC", run_id="r1"
    )
    end = T0 + timedelta(hours=2)

    at, upper = end + timedelta(minutes=1), end + timedelta(minutes=2)
    deleted = wh.complete_window(
        source="acme",
        watermark=end,
        time_zone="Europe/Berlin",
        run_id="r1-end",
        deleted_ids={2, 3},
        deleted_at=SYNCED,
        at=at,
        scope=Scope("project = ACME", "project in (ACME, OPS)", 17),
        window_upper=upper,
    )

    assert deleted == 2
    assert wh.live_issue_ids("acme") == {1}
    assert {r["ID"]: r["DELETED_AT"] for r in wh.read_issues("acme") if r["IS_DELETED"]} == {
        2: SYNCED,
        3: SYNCED,
    }
    assert wh.read_state("acme") == State(
        source="acme",
        watermark=end,
        account_time_zone="Europe/Berlin",
        window_upper=upper,
        last_run_id="r1-end",
        updated_at=at,
        scope_jql="project = ACME",
        backfill_jql="project in (ACME, OPS)",
        backfill_after_id=17,
    )
    assert (
        wh.complete_window(source="acme", watermark=end, time_zone="UTC", run_id="r2", deleted_at=SYNCED) == 0
    )


def test_a_batch_checkpoint_keeps_the_scope_and_window_end_the_state_holds(wh: Warehouse) -> None:
    """A batch moves the watermark and says nothing of the scope or of the last window's end: what the state
    holds of them stays (a backfill under way must not be forgotten by the next batch of the window walk)."""
    scope = Scope("project = ACME", "project in (ACME, OPS)", 17)
    upper = T0 + timedelta(hours=1)
    wh.complete_window(
        source="acme",
        watermark=T0,
        time_zone="UTC",
        run_id="r1",
        deleted_at=SYNCED,
        scope=scope,
        window_upper=upper,
    )
    later = T0 + timedelta(minutes=30)
    wh.commit_batch([issue_row(1, later)], source="acme", watermark=later, time_zone="UTC", run_id="r2")
    state = wh.read_state("acme")
    assert state is not None and state.watermark == later and state.last_run_id == "r2"
    assert (state.scope, state.window_upper) == (scope, upper)


def test_a_full_refresh_batch_rewrites_rows_as_new_as_the_stored_ones(wh: Warehouse) -> None:
    """`force` (full refresh) reaches the MERGE: an equally new copy replaces the stored row, e.g. after a
    change to the flattening; without it, it does not."""
    wh.commit_batch([issue_row(1, T0)], source="acme", watermark=T0, time_zone="UTC", run_id="r1")
    changed = issue_row(1, T0, summary="flattened anew")
    wh.commit_batch([changed], source="acme", watermark=T0, time_zone="UTC", run_id="r2")
    assert wh.read_issues("acme")[0]["SUMMARY"] == "Issue 1"
    wh.commit_batch([changed], source="acme", watermark=T0, time_zone="UTC", run_id="r3", force=True)
    assert wh.read_issues("acme")[0]["SUMMARY"] == "flattened anew"


# --- state, run log, sources ---------------------------------------------------------------------------


def test_state_round_trip_keeps_nulls_and_microseconds(wh: Warehouse) -> None:
    assert wh.read_state("acme") is None
    wh.write_state(State(source="acme"))
    assert wh.read_state("acme") == State(source="acme")  # a NULL watermark is not 1970-01-01

    precise = datetime(2024, 3, 5, 14, 7, 33, 123456, tzinfo=UTC)
    full = State("acme", precise, "America/Los_Angeles", precise + timedelta(hours=1), "run-9", SYNCED)
    wh.write_state(full)
    assert wh.read_state("acme") == full
    wh.write_state(dataclasses.replace(full, watermark=None))
    assert wh.read_state("acme") == dataclasses.replace(full, watermark=None)
    assert wh.read_state("other") is None


def test_run_log_records_start_and_outcome(wh: Warehouse) -> None:
    wh.start_run("run-1", "acme", T0, watermark_before=None)
    started = wh.read_run("run-1")
    assert started is not None
    assert (started.status, started.started_at, started.ended_at, started.watermark_before) == (
        "RUNNING",
        T0,
        None,
        None,
    )

    summary = {
        "source": "acme",
        "run_id": "run-1",
        "status": "SUCCEEDED",
        "issues_fetched": 12,
        "issues_inserted": 10,
        "issues_updated": 2,
        "issues_deleted": 1,
        "batches": 1,
        "requests": 7,
        "retries": 1,
        "watermark_before": None,
        "watermark_after": "2024-03-05T14:00:00+00:00",
        "duration_seconds": 1.25,
        "error": None,
    }
    wh.finish_run("run-1", T0 + timedelta(seconds=2), summary)

    run = wh.read_run("run-1")
    assert run is not None
    assert (run.source, run.status, run.ended_at) == ("acme", "SUCCEEDED", T0 + timedelta(seconds=2))
    assert (run.issues_fetched, run.issues_inserted, run.issues_updated, run.issues_deleted) == (12, 10, 2, 1)
    assert (run.requests, run.retries, run.error_message) == (7, 1, None)
    assert run.watermark_after == datetime(2024, 3, 5, 14, tzinfo=UTC)
    assert run.summary == summary


def test_run_log_failed_runs_and_ordering(wh: Warehouse) -> None:
    wh.start_run("run-1", "acme", T0)
    wh.start_run("run-2", "acme", T0 + timedelta(minutes=15), watermark_before=T0)
    wh.start_run("run-3", "globex", T0 + timedelta(minutes=20))
    wh.finish_run(
        "run-2", T0 + timedelta(minutes=16), {"status": "FAILED", "error": "HTTP 401 ü " + "x" * 20_000}
    )

    failed = wh.read_run("run-2")
    assert failed is not None and failed.status == "FAILED" and failed.watermark_before == T0
    assert failed.error_message is not None and failed.error_message.startswith("HTTP 401 ü ")
    assert len(failed.error_message) == 10_000 and failed.error_message.endswith("...")
    assert [r.run_id for r in wh.recent_runs("acme")] == ["run-2", "run-1"]
    assert [r.run_id for r in wh.recent_runs(limit=2)] == ["run-3", "run-2"]
    assert wh.read_run("nope") is None
    with pytest.raises(ValueError, match="status"):
        wh.finish_run("run-1", T0, {"status": "DONE"})


def test_sources_round_trip_through_source_config(wh: Warehouse) -> None:
    assert wh.read_sources() == []
    first = SourceConfig(
        name="acme",
        site_url="https://acme.atlassian.net",
        projects=("ENG", "OPS"),
        email="bot@acme.io",
        overlap=timedelta(minutes=3),
        search_lag=timedelta(seconds=90),
        batch_size=250,
    )
    second = SourceConfig(
        name="globex",
        site_url="https://api.atlassian.com/ex/jira/abc",
        jql="project = X AND labels = 'ü'",
        auth="bearer",
        secret_alias="jira_globex",
        enabled=False,
    )
    wh.upsert_source(first, now=T0)
    wh.upsert_source(second, now=T0)

    rows = wh.read_sources()
    assert [r["NAME"] for r in rows] == ["acme", "globex"]
    assert [SourceConfig.from_row(r) for r in rows] == [first, second]
    assert rows[0]["PROJECTS"] == ["ENG", "OPS"] and rows[1]["PROJECTS"] is None
    assert (rows[0]["OVERLAP_MINUTES"], rows[0]["SEARCH_LAG_SECONDS"], rows[0]["BATCH_SIZE"]) == (3, 90, 250)

    changed = dataclasses.replace(first, projects=("ENG",), enabled=False)
    wh.upsert_source(changed, now=T0 + timedelta(days=1))
    row = wh.read_source("acme")
    assert row is not None and SourceConfig.from_row(row) == changed
    assert (row["CREATED_AT"], row["UPDATED_AT"]) == (T0, T0 + timedelta(days=1))
    assert wh.read_source("nope") is None


def test_table_dataclasses_match_their_tables() -> None:
    from jira_sync.warehouse import RunRecord

    assert [f.name.upper() for f in dataclasses.fields(State)] == list(STATE.names)
    assert [f.name.upper() for f in dataclasses.fields(RunRecord)] == list(RUN_LOG.names)
    assert SOURCES.column("PROJECTS").sql_type == "ARRAY"
