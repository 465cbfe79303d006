"""The emulator's JQL: parsing, Jira's error wording, time-zone reading of dates, field semantics, ORDER BY.

Issues are small hand-built dicts in Jira REST shape; every date expectation is written out in UTC so a reader
can check the time-zone arithmetic by hand.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from fakejira.jql import EvalContext, JqlError, parse

CATEGORY_KEYS = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
USERS = {
    "acc-ann": {"accountId": "acc-ann", "displayName": "Ann Smith", "emailAddress": "ann@example.com"},
    "acc-bob": {"accountId": "acc-bob", "displayName": "Bob Jones", "emailAddress": "bob@example.com"},
}
INVALID_DATE_TAIL = (
    "is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'."
)
VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)


def ctx(tz: str = "UTC", now: dt.datetime = NOW, me: str = "acc-ann") -> EvalContext:
    return EvalContext(tz=ZoneInfo(tz), now=now, current_account_id=me, users=USERS)


def issue(
    key: str,
    issue_id: int,
    *,
    updated: str = "2024-01-01T00:00:00.000+0000",
    resolved: str | None = None,
    status: str = "To Do",
    category: str = "To Do",
    assignee: str | None = None,
    labels: tuple[str, ...] = (),
    priority: tuple[str, str] | None = ("3", "Medium"),
    summary: str = "",
    issuetype: str = "Task",
) -> dict:
    project = key.rsplit("-", 1)[0]
    return {
        "id": str(issue_id),
        "key": key,
        "fields": {
            "project": {
                "id": str(10000 + sum(map(ord, project))),
                "key": project,
                "name": f"{project.title()} Team",
            },
            "issuetype": {"id": "10001" if issuetype == "Task" else "10004", "name": issuetype},
            "status": {
                "id": {"To Do": "1", "In Progress": "3", "Done": "10000"}.get(status, "99"),
                "name": status,
                "statusCategory": {"id": 2, "key": CATEGORY_KEYS[category], "name": category},
            },
            "assignee": USERS[assignee] if assignee else None,
            "labels": list(labels),
            "priority": {"id": priority[0], "name": priority[1]} if priority else None,
            "summary": summary,
            "created": "2023-01-01T00:00:00.000+0000",
            "updated": updated,
            "resolutiondate": resolved,
        },
    }


def keys(jql: str, issues: list[dict], context: EvalContext | None = None) -> list[str]:
    """Keys of the issues `jql` matches, in the query's order."""
    query = parse(jql)
    context = context or ctx()
    return [i["key"] for i in query.sort(query.filter(issues, context), context)]


def error(jql: str) -> list[str]:
    with pytest.raises(JqlError) as caught:
        parse(jql)
    return caught.value.messages


def at(updated: str) -> dict:
    """An issue updated at `updated` (UTC, millisecond precision) — for the date tests."""
    return issue("T-1", 1, updated=updated)


def matches_at(jql: str, updated: str, tz: str = "UTC", now: dt.datetime = NOW) -> bool:
    return parse(jql).matches(at(updated), ctx(tz, now))


# ---------------------------------------------------------------------------------------------- parser

BOARD = [
    issue("ALPHA-1", 10001, status="Done", category="Done", labels=("x",), assignee="acc-ann"),
    issue("ALPHA-2", 10002, status="In Progress", category="In Progress", assignee="acc-bob"),
    issue("ALPHA-10", 10010, status="To Do", labels=("x", "Y")),
    issue("BETA-5", 10005, status="Done", category="Done", labels=("z",), assignee="acc-bob"),
]


def test_and_binds_tighter_than_or() -> None:
    assert keys("status = Done OR status = 'To Do' AND labels = x", BOARD) == [
        "ALPHA-10",
        "BETA-5",
        "ALPHA-1",
    ]
    assert keys("(status = Done OR status = 'To Do') AND labels = x", BOARD) == ["ALPHA-10", "ALPHA-1"]


def test_not_binds_tighter_than_and() -> None:
    assert keys("NOT project = BETA AND labels = x", BOARD) == ["ALPHA-10", "ALPHA-1"]
    assert keys("NOT (project = BETA AND labels = z)", BOARD) == ["ALPHA-10", "ALPHA-2", "ALPHA-1"]
    assert keys("NOT NOT project = BETA", BOARD) == ["BETA-5"]
    assert keys("! project = ALPHA && labels = z || key = ALPHA-2", BOARD) == ["BETA-5", "ALPHA-2"]


def test_nested_parentheses() -> None:
    jql = "((project = ALPHA) AND ((labels = x) OR (assignee = acc-bob))) OR key = BETA-5"
    assert keys(jql, BOARD) == ["ALPHA-10", "BETA-5", "ALPHA-2", "ALPHA-1"]


def test_keywords_and_field_names_are_case_insensitive() -> None:
    jql = "PROJECT = alpha and STATUS In (done, 'IN PROGRESS') Or LaBeLs iS eMpTy Order By KEY desc"
    assert keys(jql, BOARD) == ["ALPHA-2", "ALPHA-1"]
    assert keys("Key NOT IN (alpha-1, Alpha-2) ORDER BY Key", BOARD) == ["ALPHA-10", "BETA-5"]


def test_quoting_and_escapes() -> None:
    board = [
        issue("Q-1", 1, status='In "Progress"'),
        issue("Q-2", 2, status="it's"),
        issue("Q-3", 3, status="A\tB"),
    ]
    assert keys(r'status = "In \"Progress\""', board) == ["Q-1"]
    assert keys(r"status = 'it\'s'", board) == ["Q-2"]
    assert keys(r'status = "it\u0027s"', board) == ["Q-2"]
    assert keys(r'status = "A\tB"', board) == ["Q-3"]
    assert keys('"status" = "it\'s"', board) == ["Q-2"]


def test_in_and_not_in_with_empty() -> None:
    assert keys("assignee in (EMPTY, acc-ann)", BOARD) == ["ALPHA-10", "ALPHA-1"]
    assert keys("assignee not in (acc-ann, null)", BOARD) == ["BETA-5", "ALPHA-2"]
    assert keys("assignee = EMPTY", BOARD) == ["ALPHA-10"]
    assert keys("assignee != EMPTY", BOARD) == ["BETA-5", "ALPHA-2", "ALPHA-1"]
    assert keys("assignee is not empty AND assignee is not null", BOARD) == ["BETA-5", "ALPHA-2", "ALPHA-1"]


def test_unbounded_queries() -> None:
    assert parse("").is_unbounded
    assert parse("   ").is_unbounded
    assert parse("ORDER BY updated DESC").is_unbounded
    assert not parse("project = ALPHA ORDER BY updated").is_unbounded
    assert keys("order by key", BOARD) == ["ALPHA-1", "ALPHA-2", "ALPHA-10", "BETA-5"]


def test_referenced_fields_are_canonical() -> None:
    query = parse(
        "key > A-1 AND type = Bug OR NOT resolutiondate is EMPTY ORDER BY statuscategory, updatedDate"
    )
    assert query.referenced_fields() == {"issuekey", "issuetype", "resolved", "statusCategory", "updated"}


# ---------------------------------------------------------------------------------------------- errors


SYNTAX = "Error in the JQL Query: "


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project ENG", f"Expecting operator but got 'ENG'. {VALID_OPERATORS} (line 1, character 9)"),
        ("project", f"Expecting operator before the end of the query. {VALID_OPERATORS}"),
        ('summary ~ "abc', "The quoted string 'abc' has not been completed. (line 1, character 11)"),
        (
            "project = A status = Done",
            "Expecting either 'OR' or 'AND' but got 'status'. (line 1, character 13)",
        ),
        ("project = ENG)", "Expecting either 'OR' or 'AND' but got ')'. (line 1, character 14)"),
        ("(project = ENG", "Expecting ')' before the end of the query."),
        ("project = ENG AND", "Expecting a field name before the end of the query."),
        ("NOT", "Expecting a field name before the end of the query."),
        ("project =", "Expecting either a value, list or function before the end of the query."),
        ("project = )", "Expecting either a value, list or function but got ')'. (line 1, character 11)"),
        ("project in (A, B", "Expecting ')' before the end of the query."),
        ("project in (A B)", "Expecting ')' but got 'B'. (line 1, character 15)"),
        ("status not Done", "Expecting 'IN' but got 'Done'. (line 1, character 12)"),
        ("project = ENG\nAND ) ", "Expecting a field name but got ')'. (line 2, character 5)"),
        (
            "assignee = ann@example.com",
            "The character '@' is a reserved JQL character. You must enclose it in a string or use the "
            "escape '\\u0040' instead. (line 1, character 15)",
        ),
        (
            "status = and",
            "'and' is a reserved JQL word. You must surround it in quotation marks to use it in a query. "
            "(line 1, character 10)",
        ),
        (
            "labels = x AND order = 1",
            "'order' is a reserved JQL word. You must surround it in quotation marks to use it in a query. "
            "(line 1, character 16)",
        ),
        (r'status = "a\qb"', "The escape sequence '\\q' in the string is illegal. (line 1, character 12)"),
        ("project = A ORDER created", "Expecting 'BY' but got 'created'. (line 1, character 19)"),
        ("ORDER BY", "Expecting a field name before the end of the query."),
        (
            "ORDER BY created sideways",
            "Expecting either 'ASC' or 'DESC' but got 'sideways'. (line 1, character 18)",
        ),
        (
            "ORDER BY created ASC key",
            "Expecting either ',' or the end of the query but got 'key'. (line 1, character 22)",
        ),
    ],
)
def test_syntax_errors_carry_jira_wording_and_position(jql: str, message: str) -> None:
    assert error(jql) == [SYNTAX + message]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("bogus = 1", "Field 'bogus' does not exist or you do not have permission to view it."),
        ("cf[10020] > 3", "Field 'cf[10020]' does not exist or you do not have permission to view it."),
        ("ORDER BY rank", "Field 'rank' does not exist or you do not have permission to view it."),
        ("updated > '2024-13-45'", f"Date value '2024-13-45' for field 'updated' {INVALID_DATE_TAIL}"),
        ("created < yesterday", f"Date value 'yesterday' for field 'created' {INVALID_DATE_TAIL}"),
        (
            'resolved >= "2024/02/30 10:00"',
            f"Date value '2024/02/30 10:00' for field 'resolved' {INVALID_DATE_TAIL}",
        ),
        ('updated > "1704103200000"', f"Date value '1704103200000' for field 'updated' {INVALID_DATE_TAIL}"),
        ("status > Done", "The operator '>' is not supported by the 'status' field."),
        ("project ~ ENG", "The operator '~' is not supported by the 'project' field."),
        ("summary = x", "The operator '=' is not supported by the 'summary' field."),
        ('summary in "test"', "The operator 'in' is not supported by the 'summary' field."),
        ("status = (A, B)", "Operator '=' does not support the list value '(A, B)' for field 'status'."),
        (
            'status in "test"',
            "Operator 'in' does not support the non-list value '\"test\"' for field 'status'.",
        ),
        ("assignee is acc-ann", "The operator 'is' only supports searching for EMPTY values, not 'acc-ann'."),
        (
            "project = EMPTY",
            "The field 'project' does not support searching for EMPTY values with the operator '='.",
        ),
        (
            "created > EMPTY",
            "The field 'created' does not support searching for EMPTY values with the operator '>'.",
        ),
        ("key = 12ab", "The issue key '12ab' for field 'key' is invalid."),
        ("assignee in membersOf(devs)", "Unable to find JQL function 'membersOf()'."),
        (
            "status = currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'status'.",
        ),
        (
            "updated > currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'updated'.",
        ),
        ("updated > now(1)", "Function 'now' expected '0' arguments but received '1'."),
        (
            "updated > startOfDay(1, 2)",
            "Function 'startOfDay' expected between '0' and '1' arguments but received '2'.",
        ),
        (
            "updated > startOfDay(soon)",
            "Duration for function 'startOfDay' should have the format (+/-)n(wdhm), "
            "e.g -1d for 1 day earlier.",
        ),
        ("status was Done", "The operator 'WAS' is not supported by the fakejira JQL emulator."),
    ],
)
def test_validation_errors(jql: str, message: str) -> None:
    assert error(jql) == [message]


def test_every_validation_error_is_reported_at_once() -> None:
    assert error("bogus = 1 AND updated > 'nope' ORDER BY nothing") == [
        "Field 'bogus' does not exist or you do not have permission to view it.",
        f"Date value 'nope' for field 'updated' {INVALID_DATE_TAIL}",
        "Field 'nothing' does not exist or you do not have permission to view it.",
    ]


def test_jql_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        parse("bogus = 1")


# ---------------------------------------------------------------------------------------------- dates


def test_minute_boundary_is_inclusive_to_the_millisecond() -> None:
    jql = 'updated >= "2024/01/01 10:00"'
    assert matches_at(jql, "2024-01-01T10:00:00.000+0000")
    assert not matches_at(jql, "2024-01-01T09:59:59.999+0000")
    assert matches_at('updated < "2024-01-01 10:00"', "2024-01-01T09:59:59.999+0000")
    assert not matches_at('updated < "2024-01-01 10:00"', "2024-01-01T10:00:00.000+0000")


@pytest.mark.parametrize(
    ("tz", "first_utc_instant"),
    [
        ("Asia/Kolkata", "2024-01-01T04:30:00.000+0000"),  # +05:30
        ("Australia/Sydney", "2023-12-31T23:00:00.000+0000"),  # +11:00 (summer time in January)
        ("America/Los_Angeles", "2024-01-01T18:00:00.000+0000"),  # -08:00
        ("UTC", "2024-01-01T10:00:00.000+0000"),
    ],
)
def test_string_dates_are_wall_time_in_the_accounts_zone(tz: str, first_utc_instant: str) -> None:
    jql = 'updated >= "2024/01/01 10:00"'
    first = dt.datetime.fromisoformat(first_utc_instant)
    just_before = (first - dt.timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    assert matches_at(jql, first_utc_instant, tz)
    assert not matches_at(jql, just_before, tz)


def test_date_without_time_is_local_midnight() -> None:
    assert matches_at(
        'updated >= "2024-07-01"', "2024-07-01T07:00:00.000+0000", "America/Los_Angeles"
    )  # PDT -7
    assert not matches_at('updated >= "2024-07-01"', "2024-07-01T06:59:59.999+0000", "America/Los_Angeles")
    assert matches_at("updated >= 2024-07-01", "2024-06-30T18:30:00.000+0000", "Asia/Kolkata")  # unquoted


def test_dst_gap_moves_forward_by_the_gap() -> None:
    # Berlin 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist, reads as 03:30 CEST = 01:30 UTC.
    assert matches_at('updated = "2024/03/31 02:30"', "2024-03-31T01:30:00.000+0000", "Europe/Berlin")
    assert matches_at('updated >= "2024/03/31 02:30"', "2024-03-31T01:30:00.000+0000", "Europe/Berlin")
    assert not matches_at('updated >= "2024/03/31 02:30"', "2024-03-31T01:29:59.999+0000", "Europe/Berlin")
    assert matches_at('updated = "2024/03/31 03:00"', "2024-03-31T01:00:00.000+0000", "Europe/Berlin")
    assert matches_at('updated = "2024/03/31 01:59"', "2024-03-31T00:59:00.000+0000", "Europe/Berlin")


def test_dst_overlap_takes_the_earlier_offset() -> None:
    # Berlin 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice, reads as CEST = 00:30 UTC.
    assert matches_at('updated = "2024/10/27 02:30"', "2024-10-27T00:30:00.000+0000", "Europe/Berlin")
    assert not matches_at('updated = "2024/10/27 02:30"', "2024-10-27T01:30:00.000+0000", "Europe/Berlin")
    assert matches_at('updated = "2024/10/27 03:00"', "2024-10-27T02:00:00.000+0000", "Europe/Berlin")


def test_equality_is_the_exact_instant() -> None:
    assert matches_at('updated = "2024/01/01 10:00"', "2024-01-01T10:00:00.000+0000")
    assert not matches_at('updated = "2024/01/01 10:00"', "2024-01-01T10:00:00.001+0000")
    assert matches_at('updated != "2024/01/01 10:00"', "2024-01-01T10:00:00.001+0000")
    assert matches_at('updated in ("2024/01/01 10:00", "2024/01/02")', "2024-01-02T00:00:00.000+0000")


def test_issue_timestamps_with_other_offsets_compare_as_instants() -> None:
    assert matches_at('updated = "2024/01/01 10:00"', "2024-01-01T15:30:00.000+0530")


@pytest.mark.parametrize(
    ("operand", "boundary_utc"),
    [
        ("-15m", "2024-06-01T11:45:00.000+0000"),
        ('"-1d"', "2024-05-31T12:00:00.000+0000"),
        ("'-4h'", "2024-06-01T08:00:00.000+0000"),
        ("2w", "2024-06-15T12:00:00.000+0000"),
        ('"-4w 2d"', "2024-05-02T12:00:00.000+0000"),
        ('"+1h"', "2024-06-01T13:00:00.000+0000"),
        ("1704103200000", "2024-01-01T10:00:00.000+0000"),  # epoch millis: absolute, whatever the zone
        ("now()", "2024-06-01T12:00:00.000+0000"),
        (
            "startOfDay()",
            "2024-05-31T18:30:00.000+0000",
        ),  # Kolkata's 2024-06-01 starts 18:30 UTC the day before
        ("startOfDay(-1)", "2024-05-30T18:30:00.000+0000"),
        ('startOfDay("+1d")', "2024-06-01T18:30:00.000+0000"),
        ("startOfDay(2h)", "2024-05-31T20:30:00.000+0000"),
        ("endOfDay()", "2024-06-01T18:29:59.999+0000"),
    ],
)
def test_relative_dates_functions_and_epoch_millis(operand: str, boundary_utc: str) -> None:
    boundary = dt.datetime.fromisoformat(boundary_utc)
    just_before = (boundary - dt.timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    jql = f"updated >= {operand}"
    assert matches_at(jql, boundary_utc, "Asia/Kolkata")
    assert not matches_at(jql, just_before, "Asia/Kolkata")


def test_start_of_day_across_a_dst_change_is_local_midnight() -> None:
    now = dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC)  # Berlin day of 23 hours
    assert matches_at("updated >= startOfDay()", "2024-03-30T23:00:00.000+0000", "Europe/Berlin", now)
    assert not matches_at("updated > endOfDay()", "2024-03-31T21:59:59.999+0000", "Europe/Berlin", now)
    assert matches_at("updated > endOfDay()", "2024-03-31T22:00:00.000+0000", "Europe/Berlin", now)


def test_resolved_alias_and_empty_dates() -> None:
    board = [issue("R-1", 1, resolved="2024-02-01T00:00:00.000+0000"), issue("R-2", 2)]
    assert keys("resolved >= 2024-01-01", board) == ["R-1"]
    assert keys("resolutiondate is EMPTY", board) == ["R-2"]
    assert keys("resolved != 2024-01-01", board) == ["R-1"]
    assert keys("NOT resolved < 2024-01-01", board) == [
        "R-1"
    ]  # pushed down to >=: the unresolved issue stays out


# ------------------------------------------------------------------------------------------ field semantics


def test_project_matches_key_id_or_name() -> None:
    alpha_id = BOARD[0]["fields"]["project"]["id"]
    assert keys("project = alpha", BOARD) == ["ALPHA-10", "ALPHA-2", "ALPHA-1"]
    assert keys(f"project = {alpha_id}", BOARD) == ["ALPHA-10", "ALPHA-2", "ALPHA-1"]
    assert keys("project = 'beta team'", BOARD) == ["BETA-5"]
    assert keys("project != ALPHA", BOARD) == ["BETA-5"]


def test_status_category_issuetype_and_priority() -> None:
    board = [
        *BOARD,
        issue("BUG-1", 20000, issuetype="Bug", priority=("1", "Highest")),
        issue("BUG-2", 20001, priority=None),
    ]
    assert keys("status = 10000", board) == ["BETA-5", "ALPHA-1"]
    assert keys("statusCategory = done", board) == ["BETA-5", "ALPHA-1"]
    assert keys("statusCategory = indeterminate", board) == ["ALPHA-2"]
    assert keys("issuetype = Bug", board) == ["BUG-1"]
    assert keys("type = 10004", board) == ["BUG-1"]
    assert keys("priority = Highest", board) == ["BUG-1"]
    assert keys("priority is EMPTY", board) == ["BUG-2"]
    assert keys("priority != Medium", board) == ["BUG-1"]


def test_not_equal_and_not_in_skip_empty_fields() -> None:
    assert keys("assignee != acc-ann", BOARD) == ["BETA-5", "ALPHA-2"]  # unassigned ALPHA-10 is not returned
    assert keys("NOT assignee = acc-ann", BOARD) == ["BETA-5", "ALPHA-2"]  # Jira pushes NOT down the same way
    assert keys("assignee not in (acc-ann)", BOARD) == ["BETA-5", "ALPHA-2"]
    assert keys("labels != x", BOARD) == ["BETA-5"]
    assert keys("labels not in (x, q)", BOARD) == ["BETA-5"]


def test_assignee_by_account_function_name_or_email() -> None:
    assert keys("assignee = currentUser()", BOARD) == ["ALPHA-1"]
    assert keys("assignee in (currentUser(), 'Bob Jones')", BOARD) == ["BETA-5", "ALPHA-2", "ALPHA-1"]
    assert keys("assignee = 'bob@example.com'", BOARD) == ["BETA-5", "ALPHA-2"]
    assert keys("assignee in currentUser()", BOARD, ctx(me="acc-bob")) == ["BETA-5", "ALPHA-2"]
    assert keys("assignee is EMPTY", BOARD) == ["ALPHA-10"]


def test_labels_are_membership() -> None:
    assert keys("labels = x", BOARD) == ["ALPHA-10", "ALPHA-1"]
    assert keys("labels = y", BOARD) == ["ALPHA-10"]
    assert keys("labels in (y, z)", BOARD) == ["ALPHA-10", "BETA-5"]
    assert keys("labels is EMPTY", BOARD) == ["ALPHA-2"]
    assert keys("labels = x AND labels = Y", BOARD) == ["ALPHA-10"]


def test_key_comparisons_are_numeric_within_a_project() -> None:
    assert keys("key > ALPHA-2", BOARD) == ["ALPHA-10"]
    assert keys("issuekey <= alpha-2 ORDER BY key", BOARD) == ["ALPHA-1", "ALPHA-2"]
    assert keys("key >= BETA-1", BOARD) == ["BETA-5"]
    assert keys("key = ALPHA-3", BOARD) == []
    assert keys("key != ALPHA-1", BOARD) == ["ALPHA-10", "BETA-5", "ALPHA-2"]


def test_id_comparisons_are_numeric() -> None:
    assert keys("id > 10002", BOARD) == ["ALPHA-10", "BETA-5"]
    assert keys("id in (10001, 10010)", BOARD) == ["ALPHA-10", "ALPHA-1"]
    assert keys("key = 10005", BOARD) == ["BETA-5"]
    assert keys("id = ALPHA-2", BOARD) == ["ALPHA-2"]


def test_predicate_binds_once_for_many_issues() -> None:
    keep = parse("labels = x").predicate(ctx())
    assert [keep(i) for i in BOARD] == [True, False, True, False]
    assert parse("").matches(BOARD[0], ctx())


# ---------------------------------------------------------------------------------------------- ORDER BY


def test_default_order_is_id_descending() -> None:
    assert keys("project in (ALPHA, BETA)", BOARD) == ["ALPHA-10", "BETA-5", "ALPHA-2", "ALPHA-1"]


def test_key_orders_by_project_then_number() -> None:
    assert keys("ORDER BY key DESC", BOARD) == ["BETA-5", "ALPHA-10", "ALPHA-2", "ALPHA-1"]


def test_several_keys_and_ties_by_id_ascending() -> None:
    board = [
        issue("S-4", 4, status="Done", updated="2024-01-02T00:00:00.000+0000"),
        issue("S-3", 3, status="Done", updated="2024-01-01T00:00:00.000+0000"),
        issue("S-2", 2, status="Backlog", updated="2024-01-01T00:00:00.000+0000"),
        issue("S-1", 1, status="Done", updated="2024-01-02T00:00:00.000+0000"),
    ]
    assert keys("ORDER BY status ASC, updated DESC", board) == ["S-2", "S-1", "S-4", "S-3"]
    assert keys("ORDER BY updated", board) == ["S-2", "S-3", "S-1", "S-4"]
    assert keys("ORDER BY updated DESC", board) == ["S-1", "S-4", "S-2", "S-3"]


def test_empty_values_sort_last_ascending_and_first_descending() -> None:
    board = [
        issue("E-1", 1, resolved="2024-03-01T00:00:00.000+0000"),
        issue("E-2", 2),
        issue("E-3", 3, resolved="2024-02-01T00:00:00.000+0000"),
        issue("E-4", 4),
    ]
    assert keys("ORDER BY resolved ASC", board) == ["E-3", "E-1", "E-2", "E-4"]
    assert keys("ORDER BY resolved DESC", board) == ["E-2", "E-4", "E-1", "E-3"]
    assert keys("ORDER BY assignee, labels", BOARD) == ["ALPHA-1", "BETA-5", "ALPHA-2", "ALPHA-10"]


def test_priority_desc_puts_highest_first_and_summary_sorts_by_text() -> None:
    board = [
        issue("P-1", 1, priority=("4", "Low"), summary="banana"),
        issue("P-2", 2, priority=("1", "Highest"), summary="Apple"),
        issue("P-3", 3, priority=None, summary="cherry"),
        issue("P-4", 4, priority=("3", "Medium"), summary="apple pie"),
    ]
    assert keys("ORDER BY priority DESC", board) == ["P-3", "P-2", "P-4", "P-1"]
    assert keys("ORDER BY summary", board) == ["P-2", "P-4", "P-1", "P-3"]
    assert keys("ORDER BY project, issuetype, statusCategory, created DESC", board) == [
        "P-1",
        "P-2",
        "P-3",
        "P-4",
    ]
