"""The dashboard's queries and figures, without a browser: they read only the connector's tables and views, parse
as Snowflake SQL, and cycle time (the one query whose view another part of the connector creates) measures
what it says on controlled data, says "not there yet" for a missing view and nothing else. The page itself,
on a real sync, is tests/jira_sync/test_dashboard.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import sqlglot
from click.testing import CliRunner
from snowflake.snowpark import Session
from snowflake.snowpark.exceptions import SnowparkSQLException
from sqlglot import exp

from jira_sync.cli import main
from jira_sync.dashboard import charts, queries, serve
from jira_sync.model import TABLES
from jira_sync.schema import VIEWS

CONNECTOR_OBJECTS = {t.name for t in TABLES} | {v.name for v in VIEWS} | {queries.STATUS_PERIODS_VIEW}
PERIOD_COLUMNS = (
    '"SOURCE" varchar, "ISSUE_ID" number, "ISSUE_KEY" varchar, "PROJECT_KEY" varchar, "PERIOD_INDEX" number, '
    '"STATUS" varchar, "STATUS_CATEGORY" varchar, "ENTERED_AT" timestamp_tz, "LEFT_AT" timestamp_tz, '
    '"DURATION_SECONDS" number'
)  # the view's columns, as the changelog part of the connector defines them


@pytest.mark.parametrize("name", sorted(queries.QUERIES))
def test_each_query_is_snowflake_sql_on_the_connectors_objects_only(name: str) -> None:
    parsed = sqlglot.parse_one(queries.QUERIES[name], read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert isinstance(parsed, exp.Select), type(parsed)
    ctes = {cte.alias_or_name for cte in parsed.find_all(exp.CTE)}
    read = {table.name for table in parsed.find_all(exp.Table)} - ctes
    assert read and read <= CONNECTOR_OBJECTS, sorted(read - CONNECTOR_OBJECTS)


def _periods(session: Session, rows: list[tuple[str, int, str, str, datetime, datetime | None]]) -> None:
    """A stand-in for JIRA_ISSUE_STATUS_PERIODS: (key, index, status, category, entered, left) per row."""
    session.sql(f"create table {queries.STATUS_PERIODS_VIEW} ({PERIOD_COLUMNS})").collect()
    values = []
    for key, index, status, category, entered, left in rows:
        ended = "null" if left is None else f"'{left.isoformat()}'::timestamp_tz"
        values.append(
            f"('acme', {int(key.split('-')[1])}, '{key}', '{key.split('-')[0]}', {index}, '{status}', "
            f"'{category}', '{entered.isoformat()}'::timestamp_tz, {ended}, null)"
        )
    if values:
        session.sql(f"insert into {queries.STATUS_PERIODS_VIEW} values {', '.join(values)}").collect()


def test_cycle_time_runs_from_the_first_start_to_the_first_done_after_it(snowpark_session: Session) -> None:
    monday = (datetime.now(UTC) - timedelta(weeks=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday())
    day = timedelta(days=1)
    east = timezone(timedelta(hours=5))
    _periods(
        snowpark_session,
        [
            # ENG-1: to do, in progress, in review (also in progress), done: 4 days from the first start
            ("ENG-1", 1, "Open", "To Do", monday, monday + day),
            ("ENG-1", 2, "In Progress", "In Progress", monday + day, monday + 3 * day),
            ("ENG-1", 3, "In Review", "In Progress", monday + 3 * day, monday + 5 * day),
            ("ENG-1", 4, "Done", "Done", monday + 5 * day, None),
            # ENG-2: done, reopened, done again: the cycle ends at the first done (1 day)
            ("ENG-2", 1, "In Progress", "In Progress", monday, monday + day),
            ("ENG-2", 2, "Done", "Done", monday + day, monday + 2 * day),
            ("ENG-2", 3, "In Progress", "In Progress", monday + 2 * day, monday + 4 * day),
            ("ENG-2", 4, "Done", "Done", monday + 4 * day, None),
            # ENG-3: reopened and in progress now: not resolved, no row
            ("ENG-3", 1, "In Progress", "In Progress", monday, monday + day),
            ("ENG-3", 2, "Done", "Done", monday + day, monday + 2 * day),
            ("ENG-3", 3, "In Progress", "In Progress", monday + 2 * day, None),
            # ENG-4: never in progress: no row
            ("ENG-4", 1, "Open", "To Do", monday, monday + day),
            ("ENG-4", 2, "Done", "Done", monday + day, None),
            # OPS-5: done before it was ever started, then started and done: from the start, 2 days; done on a
            # Monday 01:00 at +05:00, which is Sunday 20:00 UTC: the week before, in UTC
            ("OPS-5", 1, "Done", "Done", monday, monday + day),
            (
                "OPS-5",
                2,
                "In Progress",
                "In Progress",
                monday + 5 * day,
                monday + 7 * day + timedelta(hours=-4),
            ),
            ("OPS-5", 3, "Done", "Done", (monday + 7 * day + timedelta(hours=-4)).astimezone(east), None),
            # OPS-6: done three years ago: outside the window
            ("OPS-6", 1, "In Progress", "In Progress", monday - 156 * 7 * day, monday - 155 * 7 * day),
            ("OPS-6", 2, "Done", "Done", monday - 155 * 7 * day, None),
        ],
    )
    cycles = queries.load_cycle_times(snowpark_session)
    assert cycles is not None
    found = {row.ISSUE_KEY: row for row in cycles.itertuples(index=False)}
    days = {key: row.CYCLE_DAYS for key, row in found.items()}
    assert days == pytest.approx({"ENG-1": 4, "ENG-2": 1, "OPS-5": 2 - 4 / 24})
    assert found["OPS-5"].PROJECT_KEY == "OPS"
    assert pd.Timestamp(found["ENG-1"].WEEK) == pd.Timestamp(monday.replace(tzinfo=None))
    assert pd.Timestamp(found["OPS-5"].WEEK) == pd.Timestamp(monday.replace(tzinfo=None))  # Sunday, UTC
    table = charts.cycle_time_percentiles(cycles).set_index("Project")
    assert table.loc["ENG", "Issues"] == 2 and table.loc["ENG", "p50 days"] == pytest.approx(2.5)


def test_a_missing_periods_view_is_no_data_yet_and_other_errors_show(
    snowpark_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert queries.load_cycle_times(snowpark_session) is None  # a schema without the view
    _periods(snowpark_session, [])
    empty = queries.load_cycle_times(snowpark_session)
    assert empty is not None and empty.empty
    for broken in (
        f'select "NO_SUCH_COLUMN" from {queries.STATUS_PERIODS_VIEW}',
        f"select * from {queries.STATUS_PERIODS_VIEW}_OLD",  # another object that does not exist
        f"select no_such_function(1) from {queries.STATUS_PERIODS_VIEW}",
    ):
        monkeypatch.setitem(queries.QUERIES, "cycle_time", broken)
        with pytest.raises(SnowparkSQLException):
            queries.load_cycle_times(snowpark_session)


def test_created_and_resolved_count_weeks_with_neither_as_zero() -> None:
    weekly = pd.DataFrame(
        {
            "SOURCE": ["a", "b", "a"],
            "WEEK": pd.to_datetime(["2026-01-05", "2026-01-05", "2026-01-26"]),
            "CREATED": [2, 1, 0],
            "RESOLVED": [0, 1, 4],
        }
    )
    data = charts.created_vs_resolved(weekly).to_dict()["datasets"]
    (rows,) = data.values()
    counts = {(row["WEEK"][:10], row["KIND"]): row["ISSUES"] for row in rows}
    assert counts == {
        ("2026-01-05", "Created"): 3, ("2026-01-12", "Created"): 0, ("2026-01-19", "Created"): 0,
        ("2026-01-26", "Created"): 0, ("2026-01-05", "Resolved"): 1, ("2026-01-12", "Resolved"): 0,
        ("2026-01-19", "Resolved"): 0, ("2026-01-26", "Resolved"): 4,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "never"), (float("nan"), "never"), (-3, "0 s"), (45, "45 s"), (60, "1 min"), (5400, "90 min"),
     (7200, "2 h"), (9000, "2.5 h"), (172800, "2 days"), (200000, "2.3 days")],
)  # fmt: skip
def test_lags_read_as_people_say_them(seconds: float | None, shown: str) -> None:
    assert charts.duration(seconds) == shown


def test_the_dashboard_command_refuses_a_folder_without_a_warehouse(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dashboard", "--warehouse", f"local:{tmp_path}"])
    assert result.exit_code == 2
    assert f"There is no warehouse in {tmp_path} yet" in result.output
    assert "jira-sync demo fills local:.jira-sync/demo" in result.output


def test_an_error_message_shows_as_it_is_not_as_markdown() -> None:
    """st.error reads Markdown: an error's `*`, `_`, `$` (LaTeX to Streamlit) or `<` must show as written."""
    import html

    import markdown_it  # rich's Markdown parser (CommonMark), the grammar Streamlit's renderer follows

    message = 'JQL "a_b*" <x> $1 + [c](d) # e\\f `g` ~h~ 1. i & j'
    rendered = markdown_it.MarkdownIt("commonmark").render(charts.plain(message))
    assert rendered == f"<p>{html.escape(message)}</p>\n"


@pytest.mark.parametrize(("value", "shown"), [(None, "–"), (float("nan"), "–"), (0, "0"), (12345, "12,345")])
def test_counts_read_as_people_say_them_and_null_is_a_dash(value: float | None, shown: str) -> None:
    assert charts.count(value) == shown


def test_the_app_is_told_where_to_read_and_refuses_to_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    """`jira-sync dashboard` hands the app one place to read (a stale variable of the other kind is dropped);
    an app started some other way, outside Snowflake, says how to start it instead of opening a default."""
    monkeypatch.setenv(serve.CONNECTION_VARIABLE, "stale")
    local = serve.app_environment("local:/data/wh", None)
    assert local[serve.WAREHOUSE_VARIABLE] == "local:/data/wh" and serve.CONNECTION_VARIABLE not in local
    remote = serve.app_environment(None, "prod")
    assert remote[serve.CONNECTION_VARIABLE] == "prod" and serve.WAREHOUSE_VARIABLE not in remote
    with pytest.raises(RuntimeError, match="jira-sync dashboard"):
        serve.local_session({})
