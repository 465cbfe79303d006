"""Table schemas, issue flattening and ADF -> text: pure functions, checked against hand-written Jira JSON."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from jira_sync.model import (
    ISSUES,
    NUMBER,
    RUN_LOG,
    SOURCES,
    STATE,
    TABLES,
    VARCHAR,
    Column,
    Table,
    adf_to_text,
    flatten_issue,
    iso_utc,
    parse_jira_timestamp,
    story_points,
)

SITE = "https://example.atlassian.net"
SYNCED_AT = datetime(2024, 3, 6, 8, 30, tzinfo=UTC)


def _user(account_id: str, name: str) -> dict:
    return {
        "self": f"{SITE}/rest/api/3/user?accountId={account_id}",
        "accountId": account_id,
        "emailAddress": f"{account_id}@example.com",
        "avatarUrls": {"48x48": f"{SITE}/avatar/{account_id}.png"},
        "displayName": name,
        "active": True,
        "timeZone": "Europe/Stockholm",
        "accountType": "atlassian",
    }


def _text(text: str, *marks: str) -> dict:
    node: dict = {"type": "text", "text": text}
    if marks:
        node["marks"] = [{"type": m} for m in marks]
    return node


def _para(*content: dict) -> dict:
    return {"type": "paragraph", "content": list(content)}


DESCRIPTION_ADF = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [_text("Contexte & objectifs")]},
        _para(
            _text("Webhook payloads with "),
            _text("ünïcödé", "strong"),
            _text(" break the parser. Ping "),
            {"type": "mention", "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Zoë Åkesson"}},
            _text(" "),
            {"type": "emoji", "attrs": {"shortName": ":rocket:", "id": "1f680", "text": "🚀"}},
            {"type": "hardBreak"},
            _text("See "),
            {"type": "inlineCard", "attrs": {"url": f"{SITE}/browse/ALPHA-7"}},
            _text(", state "),
            {"type": "status", "attrs": {"text": "IN REVIEW", "color": "blue"}},
            _text(", due "),
            {"type": "date", "attrs": {"timestamp": "1710460800000"}},
        ),
        {
            "type": "bulletList",
            "content": [
                {"type": "listItem", "content": [_para(_text("Parse UTF-8 strictly"))]},
                {
                    "type": "listItem",
                    "content": [
                        _para(_text("Reject:")),
                        {
                            "type": "bulletList",
                            "content": [
                                {"type": "listItem", "content": [_para(_text("lone surrogates"))]},
                                {"type": "listItem", "content": [_para(_text("overlong forms"))]},
                            ],
                        },
                    ],
                },
            ],
        },
        {
            "type": "orderedList",
            "attrs": {"order": 3},
            "content": [
                {"type": "listItem", "content": [_para(_text("third"))]},
                {"type": "listItem", "content": [_para(_text("fourth"))]},
            ],
        },
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [_text('payload = body.decode("utf-8")\nparse(payload)')],
        },
        {
            "type": "table",
            "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": [
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableHeader", "attrs": {}, "content": [_para(_text("Case"))]},
                        {"type": "tableHeader", "attrs": {}, "content": [_para(_text("Result"))]},
                    ],
                },
                {
                    "type": "tableRow",
                    "content": [
                        {"type": "tableCell", "attrs": {}, "content": [_para(_text("emoji 😀"))]},
                        {
                            "type": "tableCell",
                            "attrs": {},
                            "content": [_para(_text("ok")), _para(_text("logged"))],
                        },
                    ],
                },
            ],
        },
        {
            "type": "panel",
            "attrs": {"panelType": "warning"},
            "content": [_para(_text("Customer-facing since 2024-03-01."))],
        },
        {"type": "blockquote", "content": [_para(_text("It just stops."))]},
        {"type": "rule"},
        {
            "type": "mediaSingle",
            "attrs": {"layout": "center"},
            "content": [
                {
                    "type": "media",
                    "attrs": {
                        "type": "file",
                        "id": "abc-123",
                        "collection": "jira-10042",
                        "alt": "trace.png",
                    },
                }
            ],
        },
        {
            "type": "taskList",
            "attrs": {"localId": "t1"},
            "content": [
                {
                    "type": "taskItem",
                    "attrs": {"localId": "t1a", "state": "DONE"},
                    "content": [_text("reproduce")],
                },
                {"type": "taskItem", "attrs": {"localId": "t1b", "state": "TODO"}, "content": [_text("fix")]},
            ],
        },
    ],
}

DESCRIPTION_TEXT = "\n".join(
    [
        "Contexte & objectifs",
        "Webhook payloads with ünïcödé break the parser. Ping @Zoë Åkesson 🚀",
        f"See {SITE}/browse/ALPHA-7, state IN REVIEW, due 2024-03-15",
        "- Parse UTF-8 strictly",
        "- Reject:",
        "  - lone surrogates",
        "  - overlong forms",
        "3. third",
        "4. fourth",
        'payload = body.decode("utf-8")',
        "parse(payload)",
        "Case\tResult",
        "emoji 😀\tok logged",
        "Customer-facing since 2024-03-01.",
        "> It just stops.",
        "---",
        "trace.png",
        "- [x] reproduce",
        "- [ ] fix",
    ]
)

ISSUE = {
    "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
    "id": "10042",
    "self": f"{SITE}/rest/api/3/issue/10042",
    "key": "ALPHA-42",
    "fields": {
        "statuscategorychangedate": "2024-03-05T14:07:33.123+0000",
        "issuetype": {
            "self": f"{SITE}/rest/api/3/issuetype/10003",
            "id": "10003",
            "description": "A small piece of work that's part of a larger task.",
            "iconUrl": f"{SITE}/images/icons/issuetypes/subtask.png",
            "name": "Sub-task",
            "subtask": True,
            "avatarId": 10316,
            "hierarchyLevel": -1,
        },
        "parent": {
            "id": "10040",
            "key": "ALPHA-40",
            "self": f"{SITE}/rest/api/3/issue/10040",
            "fields": {
                "summary": "Webhook hardening",
                "status": {"name": "In Progress", "id": "3"},
                "priority": {"name": "High", "id": "2"},
                "issuetype": {"name": "Story", "subtask": False, "id": "10001"},
            },
        },
        "project": {
            "self": f"{SITE}/rest/api/3/project/10000",
            "id": "10000",
            "key": "ALPHA",
            "name": "Alpha Platform",
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": {"48x48": f"{SITE}/avatar/project/10000.png"},
        },
        "fixVersions": [
            {
                "self": f"{SITE}/rest/api/3/version/10100",
                "id": "10100",
                "description": "",
                "name": "2024.1",
                "archived": False,
                "released": True,
                "releaseDate": "2024-03-31",
            }
        ],
        "resolution": {
            "self": f"{SITE}/rest/api/3/resolution/10000",
            "id": "10000",
            "description": "Work has been completed on this issue.",
            "name": "Done",
        },
        "resolutiondate": "2024-03-05T15:07:33.123+0100",
        "workratio": -1,
        "lastViewed": None,
        "watches": {
            "self": f"{SITE}/rest/api/3/issue/ALPHA-42/watchers",
            "watchCount": 2,
            "isWatching": False,
        },
        "created": "2024-02-29T23:59:59.999+0000",
        "customfield_10020": [{"id": 7, "name": "Sprint 7", "state": "closed", "boardId": 1}],
        "customfield_10016": None,
        "customfield_10026": 5.5,
        "priority": {"self": f"{SITE}/rest/api/3/priority/2", "iconUrl": "", "name": "High", "id": "2"},
        "labels": ["backend", "naïve-unicode"],
        "timeestimate": None,
        "versions": [],
        "issuelinks": [],
        "assignee": _user("5b10ac8d82e05b22cc7d4ef5", "Zoë Åkesson"),
        "updated": "2024-03-05T14:07:33.123+0000",
        "status": {
            "self": f"{SITE}/rest/api/3/status/10002",
            "description": "",
            "iconUrl": f"{SITE}/",
            "name": "Done",
            "id": "10002",
            "statusCategory": {
                "self": f"{SITE}/rest/api/3/statuscategory/3",
                "id": 3,
                "key": "done",
                "colorName": "green",
                "name": "Done",
            },
        },
        "components": [
            {"self": f"{SITE}/rest/api/3/component/10200", "id": "10200", "name": "API"},
            {"self": f"{SITE}/rest/api/3/component/10201", "id": "10201", "name": "Billing"},
        ],
        "description": DESCRIPTION_ADF,
        "security": None,
        "summary": "Handle ünïcödé in webhook payloads 🚀",
        "creator": _user("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "Ana Müller"),
        "subtasks": [],
        "reporter": _user("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "Ana Müller"),
        "duedate": "2024-03-15",
        "environment": None,
        "attachment": [],
        "comment": {"comments": [], "maxResults": 0, "total": 0, "startAt": 0},
        "worklog": {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []},
    },
}

POINTS_FIELDS = ["customfield_10016", "customfield_10026"]


def _flatten(issue: dict) -> dict:
    return flatten_issue(
        issue, source="acme", story_points_fields=POINTS_FIELDS, synced_at=SYNCED_AT, run_id="run-1"
    )


def test_flatten_realistic_issue() -> None:
    row = _flatten(ISSUE)

    assert {k: v for k, v in row.items() if k not in ("RAW", "DESCRIPTION")} == {
        "SOURCE": "acme",
        "ID": 10042,
        "KEY": "ALPHA-42",
        "PROJECT_KEY": "ALPHA",
        "PROJECT_NAME": "Alpha Platform",
        "ISSUE_TYPE": "Sub-task",
        "IS_SUBTASK": True,
        "PARENT_ID": 10040,
        "PARENT_KEY": "ALPHA-40",
        "STATUS": "Done",
        "STATUS_ID": 10002,
        "STATUS_CATEGORY": "Done",
        "PRIORITY": "High",
        "RESOLUTION": "Done",
        "SUMMARY": "Handle ünïcödé in webhook payloads 🚀",
        "ASSIGNEE_ACCOUNT_ID": "5b10ac8d82e05b22cc7d4ef5",
        "ASSIGNEE_NAME": "Zoë Åkesson",
        "REPORTER_ACCOUNT_ID": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
        "REPORTER_NAME": "Ana Müller",
        "CREATOR_ACCOUNT_ID": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
        "CREATOR_NAME": "Ana Müller",
        "LABELS": ["backend", "naïve-unicode"],
        "COMPONENTS": ["API", "Billing"],
        "FIX_VERSIONS": ["2024.1"],
        "CREATED": "2024-02-29T23:59:59.999000+00:00",
        "UPDATED": "2024-03-05T14:07:33.123000+00:00",
        "RESOLVED": "2024-03-05T14:07:33.123000+00:00",  # +0100 in, UTC out
        "DUE_DATE": "2024-03-15",
        "STORY_POINTS": 5.5,  # first non-null of the site's story-point fields
        "IS_DELETED": False,
        "DELETED_AT": None,
        "SYNCED_AT": "2024-03-06T08:30:00.000000+00:00",
        "RUN_ID": "run-1",
    }
    assert row["DESCRIPTION"] == DESCRIPTION_TEXT
    assert row["RAW"] == ISSUE


def test_flatten_produces_exactly_the_issues_columns_in_order() -> None:
    assert tuple(_flatten(ISSUE)) == ISSUES.names
    assert tuple(_flatten({})) == ISSUES.names


def test_flattened_row_survives_json_round_trip() -> None:
    row = _flatten(ISSUE)
    assert json.loads(json.dumps(row, ensure_ascii=False)) == row


def test_flatten_does_not_mutate_the_issue() -> None:
    issue = copy.deepcopy(ISSUE)
    _flatten(issue)
    assert issue == ISSUE


@pytest.mark.parametrize(
    "issue",
    [
        {},
        {"id": "7"},
        {"id": "7", "fields": None},
        {"id": "7", "fields": {}},
        {"id": "7", "fields": {name: None for name in ISSUE["fields"]}},
        {
            "id": "7",
            "fields": {
                "status": {"statusCategory": None},
                "labels": [None, 3, "ok"],
                "components": [None, {}],
            },
        },
        {
            "id": "not-a-number",
            "fields": {"updated": "yesterday", "duedate": "soon", "customfield_10026": "many"},
        },
    ],
)
def test_flatten_tolerates_missing_and_null_fields(issue: dict) -> None:
    row = _flatten(issue)

    assert row["SOURCE"] == "acme"
    assert row["IS_DELETED"] is False
    assert row["STATUS"] is None and row["STATUS_CATEGORY"] is None
    assert row["UPDATED"] is None and row["DUE_DATE"] is None and row["STORY_POINTS"] is None
    assert row["LABELS"] == (["ok"] if issue.get("fields") and issue["fields"].get("labels") else [])
    assert row["COMPONENTS"] == [] and row["FIX_VERSIONS"] == []
    assert row["DESCRIPTION"] is None
    json.dumps(row)


def test_flatten_story_and_plain_string_description() -> None:
    story = copy.deepcopy(ISSUE)
    story["fields"]["issuetype"] = {"name": "Story", "subtask": False}
    story["fields"]["parent"] = None
    story["fields"]["description"] = "Plain v2 text\nsecond line"
    story["fields"]["customfield_10016"] = 3
    row = _flatten(story)

    assert (row["ISSUE_TYPE"], row["IS_SUBTASK"], row["PARENT_ID"], row["PARENT_KEY"]) == (
        "Story",
        False,
        None,
        None,
    )
    assert row["DESCRIPTION"] == "Plain v2 text\nsecond line"
    assert row["STORY_POINTS"] == 3.0


def test_story_points_takes_the_first_numeric_field() -> None:
    fields = {"a": None, "b": "2.5", "c": 8, "d": True, "e": float("nan")}
    assert story_points(fields, ["a", "b", "c"]) == 2.5
    assert story_points(fields, ["d", "e", "c"]) == 8.0
    assert story_points(fields, ["x", "a"]) is None
    assert story_points(fields, []) is None


def test_timestamps_normalised_to_utc_with_colon_offset() -> None:
    assert parse_jira_timestamp("2024-03-05T14:07:33.123-0700") == datetime(
        2024, 3, 5, 21, 7, 33, 123000, tzinfo=UTC
    )
    assert parse_jira_timestamp("2024-03-05T14:07:33Z") == datetime(2024, 3, 5, 14, 7, 33, tzinfo=UTC)
    assert parse_jira_timestamp("2024-03-05T14:07:33") == datetime(2024, 3, 5, 14, 7, 33, tzinfo=UTC)
    assert parse_jira_timestamp("") is None
    assert parse_jira_timestamp(None) is None
    assert parse_jira_timestamp(1709647653) is None
    assert parse_jira_timestamp("05/03/2024") is None
    tz = timezone(timedelta(hours=5, minutes=30))
    assert iso_utc(datetime(2024, 1, 1, 5, 30, tzinfo=tz)) == "2024-01-01T00:00:00.000000+00:00"
    assert iso_utc(None) is None
    with pytest.raises(ValueError, match="naive"):
        iso_utc(datetime(2024, 1, 1))


# --- ADF -----------------------------------------------------------------------------------------------


def test_adf_full_document() -> None:
    assert adf_to_text(DESCRIPTION_ADF) == DESCRIPTION_TEXT


@pytest.mark.parametrize("value", [None, 42, [], {"type": "doc"}, {"type": "doc", "content": None}])
def test_adf_empty_or_malformed_is_empty_text(value: object) -> None:
    assert adf_to_text(value) == ""


def test_adf_plain_string_passes_through() -> None:
    assert adf_to_text("h*bold* in wiki markup") == "h*bold* in wiki markup"


def test_adf_hard_break_splits_a_paragraph() -> None:
    doc = {
        "type": "doc",
        "content": [_para(_text("one"), {"type": "hardBreak"}, _text("two")), _para(_text("three"))],
    }
    assert adf_to_text(doc) == "one\ntwo\nthree"


def test_adf_hard_break_in_a_list_item_stays_indented() -> None:
    item = {"type": "listItem", "content": [_para(_text("first"), {"type": "hardBreak"}, _text("more"))]}
    assert (
        adf_to_text({"type": "doc", "content": [{"type": "bulletList", "content": [item]}]})
        == "- first\n  more"
    )


def test_adf_unknown_nodes_are_walked_into() -> None:
    doc = {
        "type": "doc",
        "content": [
            {
                "type": "layoutSection",
                "content": [
                    {"type": "layoutColumn", "attrs": {"width": 50}, "content": [_para(_text("left"))]},
                    {"type": "layoutColumn", "attrs": {"width": 50}, "content": [_para(_text("right"))]},
                ],
            },
            {"type": "someFutureBlock", "content": [_text("inline "), _text("text")]},
            {"type": "expand", "attrs": {"title": "Details"}, "content": [_para(_text("hidden"))]},
            {
                "type": "decisionList",
                "content": [
                    {
                        "type": "decisionItem",
                        "attrs": {"localId": "d", "state": "DECIDED"},
                        "content": [_text("ship it")],
                    }
                ],
            },
        ],
    }
    assert adf_to_text(doc) == "left\nright\ninline text\nDetails\nhidden\n- ship it"


def test_adf_inline_nodes_without_optional_attrs() -> None:
    doc = _para(
        {"type": "mention", "attrs": {"id": "abc"}},
        _text(" "),
        {"type": "emoji", "attrs": {"shortName": ":smile:"}},
        _text(" "),
        {"type": "text"},
        {"type": "inlineCard", "attrs": {"data": {"name": "x"}}},
        {"type": "date", "attrs": {}},
        {"type": "status"},
    )
    assert adf_to_text(doc) == "@abc :smile: "


# --- schemas -------------------------------------------------------------------------------------------


def test_table_constants() -> None:
    assert [t.name for t in TABLES] == ["JIRA_ISSUES", "JIRA_SYNC_STATE", "JIRA_SYNC_RUNS", "JIRA_SOURCES"]
    assert [c.name for c in ISSUES.keys] == ["SOURCE", "ID"]
    assert [c.name for c in STATE.keys] == ["SOURCE"]
    assert [c.name for c in RUN_LOG.keys] == ["RUN_ID"]
    assert [c.name for c in SOURCES.keys] == ["NAME"]
    assert ISSUES.column("UPDATED").sql_type == "TIMESTAMP_TZ"
    with pytest.raises(KeyError):
        ISSUES.column("NOPE")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Column("bad name", VARCHAR), "identifier"),
        (lambda: Column("lower", VARCHAR), "identifier"),
        (lambda: Column("X", "TEXT"), "unsupported type"),
        (lambda: Table("T", (Column("A", NUMBER),)), "no key"),
        (lambda: Table("T", (Column("A", NUMBER, True), Column("A", VARCHAR))), "duplicate"),
        (lambda: Table("T;DROP", (Column("A", NUMBER, True),)), "identifier"),
    ],
)
def test_schema_validation(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()
