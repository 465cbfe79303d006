"""The history views and the wide view, end to end: the emulator over real HTTP, a sync of every entity into
the embedded warehouse, then each view compared with what the emulator's complete changelog replays to.

The oracle here is written apart from the SQL: it replays each issue's histories (`issue_truth`) in Python,
field by field, by the rule jira_sync.history documents. Fix-version items (one per version added or
removed, as Jira writes them) are not in the emulator's generated changelog, so they, and the corner cases
of the rule, are checked on rows written straight into the tables.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlglot
from snowflake.snowpark import Session
from sqlglot import exp
from test_sync import add_source, sync

from fakejira import FakeJira
from jira_sync.entities.base import Stamp
from jira_sync.entities.changelog import TABLE as CHANGELOG
from jira_sync.entities.fields import TABLE as FIELDS
from jira_sync.entities.fields import column_names
from jira_sync.entities.issue_sprints import TABLE as ISSUE_SPRINTS
from jira_sync.entities.statuses import TABLE as STATUSES
from jira_sync.history import (
    FIELD_HISTORY_VIEW,
    HISTORY_FIELDS,
    HISTORY_VIEWS,
    STATUS_PERIODS_VIEW,
    WIDE_VIEW,
    wide_view_select,
)
from jira_sync.jira.search import story_points_field_ids
from jira_sync.model import ISSUES, flatten_issue, parse_jira_timestamp, story_points
from jira_sync.schema import MANAGED_TABLES
from jira_sync.warehouse import Warehouse

SINGLE_VALUED = tuple(f for f in HISTORY_FIELDS if f != "fix_versions")
DDL = re.compile(r"^\s*(create|alter|drop)\b", re.IGNORECASE)

Row = tuple[Any, ...]
"""(FIELD, VALUE_ID, VALUE, VALID_FROM, VALID_TO, HISTORY_ID); story points: VALUE as a float, VALUE_ID None."""


@pytest.fixture
def warehouse(snowpark_session: Session) -> Warehouse:
    return Warehouse(snowpark_session)


def site() -> FakeJira:
    """60 issues, one of them with hundreds of histories (the emulator's "busy" issue)."""
    return FakeJira(issues=60, seed=23, time_zone="Europe/Berlin")


def load(warehouse: Warehouse, jira: FakeJira) -> None:
    """The initial load of every entity (changelog, statuses, fields, sprints...)."""
    add_source(warehouse, jira, entities=None)
    result = sync(warehouse, jira)
    assert result["status"] == "SUCCEEDED", result["error"]


@pytest.fixture(scope="module")
def loaded(fakesnow_conn_kwargs: dict[str, Any]) -> Iterator[tuple[Warehouse, FakeJira, Session]]:
    """One initial load shared by the tests below that take it (an initial load is most of their time).
    Each compares the views with the emulator as it is when it runs, and the one that changes the emulator
    syncs right after, so they hold in any order."""
    params = {
        **fakesnow_conn_kwargs["session_parameters"],
        "nop_regexes": [r"select system\$cancel_all_queries"],
        "FAKESNOW_DB_PATH": ":isolated:",
    }
    config = {**fakesnow_conn_kwargs, "server_session_keep_alive": True, "session_parameters": params}
    session = Session.builder.configs({**config, "database": "HISTORY_VIEWS", "schema": "SYNC"}).create()
    try:
        with site() as emulator:
            warehouse = Warehouse(session)
            load(warehouse, emulator)
            yield warehouse, emulator, session
    finally:
        session.close()


# --- the oracle: each issue's changelog replayed in Python -------------------------------------------------


def field_of(item: Mapping[str, Any]) -> str | None:
    """Which history field a changelog item changes (None: one the views do not track)."""
    name = str(item.get("field") or "")
    field_id = item.get("fieldId") or name
    if field_id in ("status", "assignee", "priority"):
        return str(field_id)
    if field_id == "fixVersions" or name == "Fix Version":
        return "fix_versions"
    if name == "Sprint":
        return "sprint"
    if name.strip().lower() in ("story points", "story point estimate"):
        return "story_points"
    return None


def number(text: Any) -> float | None:
    return None if text is None else float(text)


def values_now(jira: FakeJira, fields: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """(VALUE_ID, VALUE) of each single-valued field as the issue has it now (story points: (None, float))."""
    assignee, sprints = (
        fields.get("assignee") or {},
        sorted(fields.get("customfield_10020") or [], key=lambda s: s["id"]),
    )
    points = story_points(fields, story_points_field_ids(jira.site.fields))
    return {
        "status": (fields["status"]["id"], fields["status"]["name"]),
        "assignee": (assignee.get("accountId"), assignee.get("displayName")),
        "priority": (fields["priority"]["id"], fields["priority"]["name"]),
        "story_points": (None, points),
        "sprint": (
            ", ".join(str(s["id"]) for s in sprints) or None,
            ", ".join(s["name"] for s in sprints) or None,
        ),
    }


def replay(histories: Sequence[Mapping[str, Any]], fields: Mapping[str, Any], jira: FakeJira) -> list[Row]:
    """Every interval of every tracked field of one issue, by the rule in jira_sync.history."""
    created = parse_jira_timestamp(fields["created"])
    changes: dict[str, list[tuple[datetime, int, int, Mapping[str, Any]]]] = defaultdict(list)
    for history in histories:
        at = parse_jira_timestamp(history["created"])
        for index, item in enumerate(history["items"]):
            if (field := field_of(item)) is not None:
                assert at is not None
                changes[field].append((at, int(history["id"]), index, item))
    now = values_now(jira, fields)
    rows: list[Row] = []
    for field in SINGLE_VALUED:
        seq = sorted(changes[field], key=lambda change: change[:3])
        if not seq:
            rows.append((field, *now[field], created, None, None))
            continue
        convert = number if field == "story_points" else (lambda v: v)
        first = seq[0][3]
        rows.append((field, None if field == "story_points" else first.get("from"),
                     convert(first.get("fromString")), created, seq[0][0], None))  # fmt: skip
        for (at, hid, _, item), after in zip(seq, [*seq[1:], None], strict=True):
            value_id = None if field == "story_points" else item.get("to")
            rows.append((field, value_id, convert(item.get("toString")), at, after and after[0], hid))
    rows += replay_fix_versions(changes["fix_versions"], fields, created)
    return rows


def replay_fix_versions(
    changes: list[tuple[datetime, int, int, Mapping[str, Any]]], fields: Mapping[str, Any], created: Any
) -> list[Row]:
    """One row per membership of a version: an add opens one, a remove closes it (or, first, one since
    creation); a version on the issue that no item names has been there since creation."""
    events: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for at, hid, _, item in sorted(changes, key=lambda change: change[:3]):
        if item.get("from") is not None:
            events[item["from"]].append((at, hid, False, item.get("fromString")))
        if item.get("to") is not None:
            events[item["to"]].append((at, hid, True, item.get("toString")))
    rows: list[Row] = []
    for version_id, seq in events.items():
        opened: tuple[Any, ...] | None = None
        for position, (at, hid, added, name) in enumerate(seq):
            if added and opened is None:
                opened = (at, hid, name)
            elif not added and opened is not None:
                rows.append(("fix_versions", version_id, opened[2], opened[0], at, opened[1]))
                opened = None
            elif not added and position == 0:
                rows.append(("fix_versions", version_id, name, created, at, None))
        if opened is not None:
            rows.append(("fix_versions", version_id, opened[2], opened[0], None, opened[1]))
    for version in fields.get("fixVersions") or []:
        if version["id"] not in events:
            rows.append(("fix_versions", version["id"], version["name"], created, None, None))
    return rows


def expected_history(jira: FakeJira) -> dict[int, list[Row]]:
    """Each live issue's intervals, replayed from its complete changelog and its fields now."""
    out = {}
    for issue in jira.ground_truth():
        if not issue["deleted"]:
            current = jira.get_issue(issue["id"])
            assert current is not None
            out[int(issue["id"])] = sorted_rows(
                replay(jira.issue_truth(issue["id"])["changelog"], current["fields"], jira)
            )
    return out


def sorted_rows(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def by_issue(session: Session, sql: str, source: str, row: Callable[[Any], Row]) -> dict[int, list[Row]]:
    """The answer to `sql` (its first column the issue id, one `?` for the source) as rows by issue."""
    out: dict[int, list[Row]] = defaultdict(list)
    for r in session.sql(sql, params=[source]).collect():
        out[int(r[0])].append(row(r))
    return dict(out)


def stored_history(session: Session, source: str = "test") -> dict[int, list[Row]]:
    def row(r: Any) -> Row:
        assert r["IS_CURRENT"] == (r["VALID_TO"] is None)
        value = r["VALUE_NUMBER"] if r["FIELD"] == "story_points" else r["VALUE"]
        history = None if r["HISTORY_ID"] is None else int(r["HISTORY_ID"])
        return (r["FIELD"], r["VALUE_ID"], value, r["VALID_FROM"], r["VALID_TO"], history)

    sql = (
        'select "ISSUE_ID", "FIELD", "VALUE_ID", "VALUE", "VALUE_NUMBER", "VALID_FROM", "VALID_TO", "HISTORY_ID", '
        f'"IS_CURRENT" from {FIELD_HISTORY_VIEW} where "SOURCE" = ?'
    )
    return {issue: sorted_rows(found) for issue, found in by_issue(session, sql, source, row).items()}


def expected_periods(jira: FakeJira, history: Mapping[int, list[Row]]) -> dict[int, list[Row]]:
    """(PERIOD_INDEX, STATUS_ID, STATUS, STATUS_CATEGORY, ENTERED_AT, LEFT_AT) of each issue, from its replayed
    status intervals (in order: they tile its life) and the emulator's statuses."""
    statuses = {s["id"]: s for s in jira.reference_truth()["statuses"]}
    out = {}
    for issue_id, rows in history.items():
        stays = sorted(
            (r for r in rows if r[0] == "status"), key=lambda r: (r[3], r[5] is not None, r[5] or 0)
        )
        out[issue_id] = [
            (i + 1, int(r[1]), statuses[r[1]]["name"], statuses[r[1]]["statusCategory"]["name"], r[3], r[4])
            for i, r in enumerate(stays)
        ]
    return out


def stored_periods(session: Session, source: str = "test") -> dict[int, list[Row]]:
    sql = (
        'select "ISSUE_ID", "PERIOD_INDEX", "STATUS_ID", "STATUS", "STATUS_CATEGORY", "ENTERED_AT", "LEFT_AT" '
        f'from {STATUS_PERIODS_VIEW} where "SOURCE" = ? order by "ISSUE_ID", "PERIOD_INDEX"'
    )
    return by_issue(session, sql, source, lambda r: tuple(r)[1:])


def assert_same(got: Mapping[int, list[Row]], wanted: Mapping[int, list[Row]], what: str) -> None:
    assert got.keys() == wanted.keys(), f"{what}: issues differ"
    for issue_id in wanted:
        assert got[issue_id] == wanted[issue_id], f"{what} of issue {issue_id}"


def assert_views_replay_the_changelog(session: Session, jira: FakeJira) -> dict[int, list[Row]]:
    history = expected_history(jira)
    assert_same(stored_history(session), history, FIELD_HISTORY_VIEW)
    assert_same(stored_periods(session), expected_periods(jira, history), STATUS_PERIODS_VIEW)
    return history


def assert_periods_add_up_to_age(session: Session) -> None:
    """Every issue's DURATION_SECONDS add up to its age, both measured in the same statement (one now)."""
    rows = session.sql(
        'select p."SOURCE", p."ISSUE_ID", sum(p."DURATION_SECONDS") "TOTAL", '
        'max(datediff(second, convert_timezone(\'UTC\', i."CREATED")::timestamp_ntz, sysdate())) "AGE", '
        'count(*) "PERIODS", count(p."LEFT_AT") "CLOSED" '
        f'from {STATUS_PERIODS_VIEW} p join JIRA_ISSUES i on i."SOURCE" = p."SOURCE" and i."ID" = p."ISSUE_ID" '
        'group by p."SOURCE", p."ISSUE_ID"'
    ).collect()
    assert rows
    for r in rows:
        assert r["TOTAL"] == r["AGE"] > 0, f"issue {r['ISSUE_ID']}"
        assert r["CLOSED"] == r["PERIODS"] - 1  # one current period each
    closed = session.sql(
        f'select "ENTERED_AT", "LEFT_AT", "DURATION_SECONDS" from {STATUS_PERIODS_VIEW} where "LEFT_AT" is not null'
    ).collect()
    for r in closed:  # whole seconds crossed, as DATEDIFF counts them
        assert r["DURATION_SECONDS"] == seconds(r["LEFT_AT"]) - seconds(r["ENTERED_AT"])


def seconds(moment: datetime) -> int:
    return int(moment.timestamp() // 1)


# --- end to end ---------------------------------------------------------------------------------------------


def test_status_periods_and_field_history_equal_the_changelog_replayed(
    loaded: tuple[Warehouse, FakeJira, Session],
) -> None:
    _, jira, snowpark_session = loaded

    history = assert_views_replay_the_changelog(snowpark_session, jira)
    assert_periods_add_up_to_age(snowpark_session)

    busiest = max(history, key=lambda i: len(jira.issue_truth(i)["changelog"]))
    histories = jira.issue_truth(busiest)["changelog"]
    assert len(histories) > 100  # past one changelog page, and far past the 40 search embeds
    moves = sum(1 for h in histories for item in h["items"] if item.get("fieldId") == "status")
    assert len(stored_periods(snowpark_session)[busiest]) == moves + 1
    seen = {row[0] for rows in history.values() for row in rows if row[5] is not None}
    assert {"status", "assignee", "priority", "sprint"} <= seen  # changes replayed, not only current values
    assert any(row[0] == "fix_versions" for rows in history.values() for row in rows)


def test_a_transition_adds_a_period_and_changes_add_intervals_after_an_incremental_run(
    loaded: tuple[Warehouse, FakeJira, Session],
) -> None:
    warehouse, jira, snowpark_session = loaded
    issue = next(i for i in jira.ground_truth() if not i["deleted"])
    before = stored_periods(snowpark_session)[int(issue["id"])]
    current = jira.get_issue(issue["id"])["fields"]  # type: ignore[index]
    target = "Blocked" if current["status"]["name"] != "Blocked" else "In Progress"
    someone = next(
        u for u in jira.site.users if u["accountId"] != (current["assignee"] or {}).get("accountId")
    )
    moved = jira.update_issue(
        issue["key"], {"status": target, "assignee": someone["accountId"], "customfield_10028": 21.0}
    )
    sprint = next(s for s in jira.reference_truth()["sprints"] if s["state"] == "active")
    jira.move_to_sprint(issue["key"], sprint["id"])

    result = sync(warehouse, jira)
    assert result["status"] == "SUCCEEDED", result["error"]

    after = stored_periods(snowpark_session)[int(issue["id"])]
    entered = parse_jira_timestamp(moved["fields"]["updated"])
    assert after[:-2] == before[:-1]
    assert after[-2][:5] == before[-1][:5] and after[-2][5] == entered  # the stay it left is closed...
    status = moved["fields"]["status"]
    assert after[-1][1:] == (int(status["id"]), target, status["statusCategory"]["name"], entered, None)
    assert after[-1][0] == len(before) + 1  # ...and a new one opens
    history = assert_views_replay_the_changelog(snowpark_session, jira)
    mine = history[int(issue["id"])]
    assert ("story_points", None, 21.0) in {r[:3] for r in mine if r[4] is None}
    assert ("assignee", someone["accountId"], someone["displayName"]) in {r[:3] for r in mine if r[4] is None}
    assert any(r[0] == "sprint" and r[4] is None and str(sprint["id"]) in str(r[1]).split(", ") for r in mine)
    assert_periods_add_up_to_age(snowpark_session)


# --- the wide view ------------------------------------------------------------------------------------------

# How each of the emulator's custom fields reads in JIRA_ISSUES_WIDE (written out, not derived from the code).
WIDE_VALUE = {
    "customfield_10014": "json",  # Epic Link (any)
    "customfield_10016": "float",  # Story point estimate
    "customfield_10019": "json",  # Rank (any)
    "customfield_10020": "json",  # Sprint (array)
    "customfield_10028": "float",  # Story Points
    "customfield_10030": "value",  # Team Area (option)
    "customfield_10031": "json",  # Affected Platforms (multi-select)
    "customfield_10032": "displayName",  # Reviewer (user)
    "customfield_10033": "date",  # Target date
    "customfield_10034": "json",  # Acceptance Criteria (textarea: ADF)
    "customfield_10035": "json",  # Region (cascading select)
    "customfield_10036": "float",  # Customer Impact Score
    "customfield_10037": "text",  # Release Notes URL
    "customfield_10038": "timestamp",  # Deployed At
    "customfield_10039": "json",  # Contributors (users)
    "customfield_10040": "json",  # Environment Tags (labels)
    "customfield_10041": "text",  # Budget Code
}


def wide_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "float":
        return float(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "timestamp":
        return parse_jira_timestamp(value)
    if kind in ("value", "displayName"):
        return value[kind]
    return value


def stored_wide(session: Session) -> dict[int, dict[str, Any]]:
    return {int(r["ID"]): r.as_dict() for r in session.sql(f"select * from {WIDE_VIEW}").collect()}


def wide_columns(session: Session) -> list[str]:
    return [str(r[0]) for r in session.sql(f"describe view {WIDE_VIEW}").collect()]


def test_the_wide_view_has_a_column_per_custom_field_with_its_value(
    loaded: tuple[Warehouse, FakeJira, Session],
) -> None:
    warehouse, jira, snowpark_session = loaded
    names = column_names(jira.site.fields)
    assert names.keys() == WIDE_VALUE.keys(), "a custom field the test does not know"
    wide = stored_wide(snowpark_session)
    issues = {row["ID"]: row for row in warehouse.read_issues("test")}
    assert wide.keys() == issues.keys()
    assert wide_columns(snowpark_session) == [*ISSUES.names, *sorted(names.values())]
    filled: dict[str, int] = defaultdict(int)
    for issue_id, row in wide.items():
        assert row["KEY"] == issues[issue_id]["KEY"] and row["STATUS_ID"] == issues[issue_id]["STATUS_ID"]
        fields = jira.get_issue(issue_id)["fields"]  # type: ignore[index]
        for field_id, kind in WIDE_VALUE.items():
            got = row[names[field_id]]
            if kind == "json" and got is not None:
                got = json.loads(got)
            assert got == wide_value(kind, fields.get(field_id)), f"{names[field_id]} of issue {issue_id}"
            filled[field_id] += got is not None
    assert all(filled[f] for f in WIDE_VALUE if f != "customfield_10014"), filled  # every kind with values


def test_changed_fields_regenerate_the_wide_view_and_a_quiet_run_does_not(
    loaded: tuple[Warehouse, FakeJira, Session],
) -> None:
    warehouse, jira, snowpark_session = loaded
    assert sync(warehouse, jira)["status"] == "SUCCEEDED"  # settles the state (first complete window)
    quiet = statements(snowpark_session, lambda: sync(warehouse, jira))
    assert not [s for s in quiet if DDL.match(s)], quiet
    team_before = {i: r["TEAM_AREA"] for i, r in stored_wide(snowpark_session).items()}
    fields = jira.site.fields
    risk = {
        "id": "customfield_10099",
        "key": "customfield_10099",
        "name": "Risk level",
        "custom": True,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": ["cf[10099]", "Risk level"],
        "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
    }
    try:
        jira.site.fields = [  # a field renamed, one added (a new list: the catalog's is shared)
            *({**f, "name": "Team"} if f["id"] == "customfield_10030" else f for f in fields),
            risk,
        ]
        sent = statements(snowpark_session, lambda: sync(warehouse, jira))

        ddl = [s for s in sent if DDL.match(s)]
        assert len(ddl) == 1 and WIDE_VIEW in ddl[0], ddl
        assert ddl[0].lower().startswith("create or replace view"), ddl
        wide = stored_wide(snowpark_session)
        some = next(iter(wide.values()))
        assert "TEAM_AREA" not in some and "RISK_LEVEL" in some
        assert {i: r["TEAM"] for i, r in wide.items()} == team_before
        assert {r["RISK_LEVEL"] for r in wide.values()} == {
            None
        }  # the emulator's issues carry no value for it
    finally:  # the site as the other tests of `loaded` know it: the field gone, the name back
        jira.site.fields = fields
        assert sync(warehouse, jira)["status"] == "SUCCEEDED"
    assert wide_columns(snowpark_session) == [*ISSUES.names, *sorted(column_names(fields).values())]


def statements(session: Session, action: Any) -> list[str]:
    with session.query_history() as history:
        action()
    return [query.sql_text for query in history.queries]


# --- the rule's corner cases, on rows written straight into the tables ------------------------------------

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def issue_json(issue_id: int, key: str, **fields: Any) -> dict[str, Any]:
    base = {
        "project": {"key": key.split("-")[0], "name": "Alpha"},
        "issuetype": {"name": "Story", "subtask": False},
        "status": {"id": "2", "name": "Custom Status", "statusCategory": {"name": "In Progress"}},
        "priority": {"id": "3", "name": "Medium"},
        "created": T0.isoformat(),
        "updated": at(9).isoformat(),
        "fixVersions": [],
    }
    return {"id": str(issue_id), "key": key, "fields": {**base, **fields}}


def item_row(
    stamp: Stamp, issue_id: int, history: int, hours: float, field: str, field_id: str | None,
    old: tuple[str | None, str | None], new: tuple[str | None, str | None], *, index: int = 0,
    deleted: bool = False,
) -> dict[str, Any]:  # fmt: skip
    return {
        **stamp.frame({"field": field}),
        "ISSUE_ID": issue_id,
        "HISTORY_ID": history,
        "ITEM_INDEX": index,
        "CREATED_AT": at(hours).isoformat(),
        "AUTHOR_ACCOUNT_ID": "author-1",
        "FIELD": field,
        "FIELD_ID": field_id,
        "FIELD_TYPE": "custom" if field_id and field_id.startswith("customfield_") else "jira",
        "FROM_VALUE": old[0],
        "FROM_STRING": old[1],
        "TO_VALUE": new[0],
        "TO_STRING": new[1],
        "IS_DELETED": deleted,
    }


def test_the_replay_rule_on_hand_written_changelog_rows(
    warehouse: Warehouse, snowpark_session: Session
) -> None:
    """Fix versions as Jira writes them (one item per version added or removed, a repeated add, a removal of
    a version the issue was created with), items in one instant, story points in either field, a status
    JIRA_STATUSES lacks, a deleted changelog row and a deleted issue, two sources with the same issue id."""
    warehouse.ensure_tables()
    s1, s2 = Stamp("s1", "run", at(10)), Stamp("s2", "run", at(10))
    assignee = {"accountId": "acc-c", "displayName": "Cleo"}
    issues = [
        issue_json(1, "A-1", assignee=assignee, customfield_10028=8.0,
                   fixVersions=[{"id": "10", "name": "1.0"}, {"id": "12", "name": "2.0"}]),
        issue_json(2, "A-2"),
        issue_json(1, "B-1", status={"id": "1", "name": "Open", "statusCategory": {"name": "To Do"}}),
    ]  # fmt: skip
    rows = [
        flatten_issue(issue, source=source, story_points_fields=["customfield_10028", "customfield_10016"],
                      synced_at=at(10), run_id="run")
        for issue, source in zip(issues, ("s1", "s1", "s2"), strict=True)
    ]  # fmt: skip
    warehouse.merge_issues(rows)
    warehouse.mark_deleted("s1", [2], at(10))
    fix = ("Fix Version", "fixVersions")
    items = [
        item_row(s1, 1, 101, 1, *fix, ("11", "0.9"), (None, None)),  # created with 0.9, removed
        item_row(s1, 1, 102, 2, *fix, (None, None), ("12", "2.0")),  # 2.0 added...
        item_row(s1, 1, 103, 3, *fix, (None, None), ("12", "2.0")),  # ...added again: no change
        item_row(s1, 1, 104, 4, *fix, ("12", "2.0"), (None, None)),  # removed
        item_row(s1, 1, 105, 5, *fix, (None, None), ("12", "2.0")),  # and back
        item_row(s1, 1, 106, 6, "fixVersions", "fixVersions", (None, "1.0"), (None, "1.0 3.0")),  # no ids
        item_row(s1, 1, 100, 1, "status", "status", ("1", "Open"), ("2", "Custom Status")),
        item_row(s1, 1, 107, 7, "status", "status", ("2", "Custom Status"), ("1", "Open"), deleted=True),
        item_row(s1, 1, 30, 3, "assignee", "assignee", ("acc-a", "Ann"), ("acc-b", "Bo")),
        item_row(s1, 1, 31, 3, "assignee", "assignee", ("acc-b", "Bo"), ("acc-c", "Cleo")),
        item_row(s1, 1, 20, 2, "Story point estimate", "customfield_10016", (None, "3"), (None, "5")),
        item_row(s1, 1, 40, 4, "Points", "customfield_10028", (None, "5"), (None, "8")),  # renamed since
        item_row(s1, 2, 200, 1, "status", "status", ("1", "Open"), ("2", "Custom Status")),
    ]
    warehouse.merge_entity_rows(CHANGELOG, items)
    warehouse.merge_entity_rows(FIELDS, [
        {**s1.frame({}), "ID": "customfield_10028", "NAME": "Story Points", "IS_CUSTOM": True},
    ])  # fmt: skip
    warehouse.merge_entity_rows(STATUSES, [
        {**stamp.frame({}), "ID": 1, "NAME": "Open", "CATEGORY_NAME": "To Do"} for stamp in (s1, s2)
    ])  # fmt: skip
    warehouse.merge_entity_rows(ISSUE_SPRINTS, [
        {**s2.frame({}), "ISSUE_ID": 1, "SPRINT_ID": 5, "SPRINT_NAME": "S5"},
        {**s2.frame({}), "ISSUE_ID": 1, "SPRINT_ID": 3, "SPRINT_NAME": "S3"},
    ])  # fmt: skip

    assert stored_history(snowpark_session, "s1") == {1: sorted_rows([
        ("status", "1", "Open", T0, at(1), None),
        ("status", "2", "Custom Status", at(1), None, 100),
        ("assignee", "acc-a", "Ann", T0, at(3), None),
        ("assignee", "acc-b", "Bo", at(3), at(3), 30),  # held for no time: kept, as the changelog says
        ("assignee", "acc-c", "Cleo", at(3), None, 31),
        ("priority", "3", "Medium", T0, None, None),
        ("sprint", None, None, T0, None, None),
        ("story_points", None, 3.0, T0, at(2), None),
        ("story_points", None, 5.0, at(2), at(4), 20),
        ("story_points", None, 8.0, at(4), None, 40),
        ("fix_versions", "11", "0.9", T0, at(1), None),
        ("fix_versions", "12", "2.0", at(2), at(4), 102),
        ("fix_versions", "12", "2.0", at(5), None, 105),
        ("fix_versions", "10", "1.0", T0, None, None),
    ])}  # fmt: skip
    assert stored_history(snowpark_session, "s2") == {1: sorted_rows([
        ("status", "1", "Open", T0, None, None),
        ("assignee", None, None, T0, None, None),
        ("priority", "3", "Medium", T0, None, None),
        ("sprint", "3, 5", "S3, S5", T0, None, None),
        ("story_points", None, None, T0, None, None),
    ])}  # fmt: skip
    assert stored_periods(snowpark_session, "s1") == {1: [
        (1, 1, "Open", "To Do", T0, at(1)),
        (2, 2, "Custom Status", "In Progress", at(1), None),  # not in JIRA_STATUSES: the issue's category
    ]}  # fmt: skip
    assert stored_periods(snowpark_session, "s2") == {1: [(1, 1, "Open", "To Do", T0, None)]}
    author = snowpark_session.sql(
        f'select distinct "CHANGED_BY_ACCOUNT_ID" from {FIELD_HISTORY_VIEW} where "HISTORY_ID" is not null'
    ).collect()
    assert [r[0] for r in author] == ["author-1"]
    assert_periods_add_up_to_age(snowpark_session)


# --- the SQL itself -----------------------------------------------------------------------------------------

FIELD_ROWS = [
    {"SOURCE": "a", "ID": "customfield_10016", "COLUMN_NAME": "STORY_POINT_ESTIMATE", "SCHEMA_TYPE": "number"},
    {"SOURCE": "b", "ID": "customfield_10030", "COLUMN_NAME": "STORY_POINT_ESTIMATE", "SCHEMA_TYPE": "number"},
    {"SOURCE": "a", "ID": "customfield_10030", "COLUMN_NAME": "TEAM", "SCHEMA_TYPE": "option"},
    {"SOURCE": "b", "ID": "customfield_10031", "COLUMN_NAME": "TEAM", "SCHEMA_TYPE": "string"},
    {"SOURCE": "a", "ID": "customfield_10038", "COLUMN_NAME": "DEPLOYED_AT", "SCHEMA_TYPE": "datetime"},
    {"SOURCE": "a", "ID": "customfield_10034", "COLUMN_NAME": "NOTES", "SCHEMA_TYPE": "string",
     "SCHEMA_CUSTOM": "com.atlassian.jira.plugin.system.customfieldtypes:textarea"},
    {"SOURCE": "a", "ID": "customfield_10050", "COLUMN_NAME": "GONE", "SCHEMA_TYPE": "number", "IS_DELETED": True},
    {"SOURCE": "a", "ID": "customfield_1; drop", "COLUMN_NAME": "BAD_ID", "SCHEMA_TYPE": "number"},
    {"SOURCE": "a", "ID": "customfield_10051", "COLUMN_NAME": "bad name", "SCHEMA_TYPE": "number"},
    {"SOURCE": "a", "ID": "customfield_10052", "COLUMN_NAME": "SUMMARY", "SCHEMA_TYPE": "string"},
    {"SOURCE": "a", "ID": "summary", "COLUMN_NAME": None, "IS_CUSTOM": False},
]  # fmt: skip


def test_wide_view_select_reads_each_sources_own_field_under_one_name() -> None:
    select = wide_view_select(FIELD_ROWS)
    parsed = sqlglot.parse_one(select.replace("{JIRA_ISSUES}", '"JIRA_ISSUES"'), read="snowflake")
    names = [e.alias_or_name for e in parsed.expressions]  # type: ignore[attr-defined]

    assert names == [*ISSUES.names, "DEPLOYED_AT", "NOTES", "STORY_POINT_ESTIMATE", "TEAM"]
    spe, team = (parsed.expressions[len(ISSUES.names) + i] for i in (2, 3))  # type: ignore[attr-defined]
    assert "'a'" in spe.sql() and "'b'" in spe.sql() and "customfield_10030" in spe.sql()
    assert spe.sql("snowflake").count("TRY_CAST") == 2  # both sources' fields are numbers: FLOAT
    assert "CAST" not in team.sql("snowflake").upper()  # an option here, a string there: VARIANT
    bare = "select " + ", ".join(f'i."{n}"' for n in ISSUES.names) + " from {JIRA_ISSUES} i"
    assert wide_view_select([]) == bare
    assert wide_view_select(reversed(FIELD_ROWS)) == select  # the order rows come in does not matter


def test_every_view_parses_as_snowflake_sql_with_upper_case_quoted_identifiers(
    warehouse: Warehouse, snowpark_session: Session
) -> None:
    names = {table.name: f'"{table.name}"' for table in MANAGED_TABLES}
    selects = {view.name: view.select for view in HISTORY_VIEWS} | {WIDE_VIEW: wide_view_select(FIELD_ROWS)}
    for name, select in selects.items():
        parsed = sqlglot.parse_one(select.format(**names), read="snowflake")
        for identifier in parsed.find_all(exp.Identifier):
            if identifier.quoted:
                assert identifier.name == identifier.name.upper(), f"{identifier.name!r} in {name}"
    warehouse.ensure_tables()  # a fresh warehouse: the wide view is there before any field is read
    assert wide_columns(snowpark_session) == list(ISSUES.names)
    warehouse.replace_view(WIDE_VIEW, selects[WIDE_VIEW])  # and every SELECT runs on the embedded warehouse
    for name in selects:
        snowpark_session.sql(f"select * from {name}").collect()
