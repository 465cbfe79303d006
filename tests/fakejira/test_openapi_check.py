"""Tests of the conformance harness: known-good bodies (Atlassian's examples) pass, broken ones fail.

A validator that accepts everything would make every conformance test pass, so each check here has a twin that
must fail.
"""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft4Validator
from openapi_check import (
    ADF_FILE,
    SPEC_ERRATA,
    JiraSpec,
    agile_errors,
    jira_spec,
    openapi_to_draft4,
    reference_dir,
)

# Operations the emulator serves whose examples in the spec are sound (their schema and example agree).
GOOD_EXAMPLES = [
    ("get", "/rest/api/3/myself"),
    ("get", "/rest/api/3/serverInfo"),
    ("get", "/rest/api/3/field"),
    ("get", "/rest/api/3/project/search"),
    ("get", "/rest/api/3/users/search"),
    ("get", "/rest/api/3/search/jql"),
    ("post", "/rest/api/3/search/jql"),
    ("post", "/rest/api/3/search/approximate-count"),
    ("post", "/rest/api/3/issue/bulkfetch"),
    ("get", "/rest/api/3/issue/ALPHA-1"),
    ("get", "/rest/api/3/issue/ALPHA-1/changelog"),
    ("get", "/rest/api/3/issue/10001/comment"),
    ("get", "/rest/api/3/worklog/updated"),
    ("get", "/rest/api/3/worklog/deleted"),
    ("post", "/rest/api/3/worklog/list"),
    ("get", "/rest/api/3/auditing/record"),
    ("post", "/rest/api/3/jql/parse"),
    ("get", "/rest/api/3/status"),
    ("get", "/rest/api/3/statuscategory"),
    ("get", "/rest/api/3/statuses/search"),
    ("get", "/rest/api/3/issuetype"),
    ("get", "/rest/api/3/issuetype/project"),
    ("get", "/rest/api/3/priority"),
    ("get", "/rest/api/3/priority/search"),
    ("get", "/rest/api/3/resolution"),
    ("get", "/rest/api/3/resolution/search"),
    ("get", "/rest/api/3/project/PR/version"),
    ("get", "/rest/api/3/project/PR/components"),
]


@pytest.fixture(scope="module")
def spec() -> JiraSpec:
    return jira_spec()


@pytest.mark.parametrize(("method", "path"), GOOD_EXAMPLES)
def test_spec_example_validates(spec: JiraSpec, method: str, path: str) -> None:
    example = spec.operation(method, path).example(200)
    assert example is not None, f"the spec has no example for {method} {path}"
    assert spec.response_errors(method, path, 200, example) == []


def test_operation_lookup_prefers_literal_segments(spec: JiraSpec) -> None:
    assert spec.operation("POST", "/rest/api/3/issue/bulkfetch").operation_id == "bulkFetchIssues"
    assert spec.operation("GET", "/rest/api/3/issue/ALPHA-7").operation_id == "getIssue"
    assert (
        spec.operation("GET", "/rest/api/3/issue/ALPHA-7/changelog?startAt=0").operation_id == "getChangeLogs"
    )
    assert spec.operation("GET", "/rest/api/3/search").operation_id == "searchForIssuesUsingJql"
    assert spec.operation("GET", "/rest/api/2/issue/ALPHA-7").operation_id == "getIssue"
    assert spec.operation("GET", "/rest/api/latest/myself").operation_id == "getCurrentUser"


def test_operation_lookup_rejects_unknown_paths(spec: JiraSpec) -> None:
    with pytest.raises(LookupError):
        spec.operation("GET", "/rest/api/3/no-such-thing")
    with pytest.raises(LookupError):
        spec.operation("DELETE", "/rest/api/3/myself")


def test_unexpected_property_fails_closed_schema(spec: JiraSpec) -> None:
    body = spec.operation("get", "/rest/api/3/myself").example(200)
    body["favouriteColour"] = "teal"
    errors = spec.response_errors("get", "/rest/api/3/myself", 200, body)
    assert any("favouriteColour" in error for error in errors)


def test_wrong_type_fails(spec: JiraSpec) -> None:
    body = spec.operation("get", "/rest/api/3/search/jql").example(200)
    body["isLast"] = "true"
    body["issues"][0]["id"] = 10001
    errors = spec.response_errors("get", "/rest/api/3/search/jql", 200, body)
    assert any(error.startswith("isLast:") for error in errors)
    assert any(error.startswith("issues/0/id:") for error in errors)


def test_jira_timestamp_format_is_enforced(spec: JiraSpec) -> None:
    body = {"values": [{"worklogId": 1, "updatedTime": 1}], "since": 0, "until": 1, "lastPage": True}
    assert spec.response_errors("get", "/rest/api/3/worklog/updated", 200, body) == []
    comment = {"id": "1", "created": "2024-03-05T14:07:33.123+0000"}
    assert spec.errors(comment, "Comment") == []
    for bad in ("2024-03-05T14:07:33Z", "2024-03-05 14:07:33", "2024-03-05T14:07:33.123+00:00"):
        assert spec.errors({**comment, "created": bad}, "Comment"), bad


def test_int32_range_is_enforced(spec: JiraSpec) -> None:
    page = {"startAt": 0, "maxResults": 2**31, "total": 0, "comments": []}
    assert any("maxResults" in error for error in spec.errors(page, "PageOfComments"))


def test_error_status_without_schema_must_be_error_collection(spec: JiraSpec) -> None:
    good = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}
    assert spec.response_errors("get", "/rest/api/3/issue/NOPE-1", 404, good) == []
    assert spec.response_errors("get", "/rest/api/3/issue/NOPE-1", 404, {"message": "nope"})
    assert spec.response_errors("get", "/rest/api/3/issue/NOPE-1", 404, {"errors": {"jql": 3}})


def test_error_status_with_schema_uses_it(spec: JiraSpec) -> None:
    assert spec.operation("post", "/rest/api/3/jql/parse").response_pointer(400) is not None
    assert spec.response_errors("post", "/rest/api/3/jql/parse", 400, {"errorMessages": ["bad"]}) == []


def test_nullable_becomes_null_type() -> None:
    schema = {"type": "string", "enum": ["a"], "nullable": True, "properties": {"x": {"type": "integer"}}}
    converted = openapi_to_draft4(schema)
    assert converted["type"] == ["string", "null"]
    assert converted["enum"] == ["a", None]
    assert "nullable" not in converted


def test_closed_composition_keeps_alternatives(spec: JiraSpec) -> None:
    """``JqlQueryClause`` is ``additionalProperties: false`` + ``anyOf``: clauses validate, junk does not."""
    clause = {"field": {"name": "project"}, "operator": "=", "operand": {"value": "ALPHA"}}
    assert spec.errors(clause, "JqlQueryClause") == []
    assert spec.errors({"field": {"name": "project"}, "operator": "~~", "operand": {}}, "JqlQueryClause")


def test_errata_are_proven_by_examples(spec: JiraSpec) -> None:
    """Each erratum is justified by the spec's own example of the operation named with it."""
    by_id = {
        op["operationId"]: (method, template)
        for template, ops in spec.document["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "operationId" in op
    }
    for _schema, prop, _prop_schema, operation_id in SPEC_ERRATA:
        method, template = by_id[operation_id]
        example = spec.operation(method, template).example(200)
        assert f'"{prop}"' in str(example).replace("'", '"'), (operation_id, prop)
        assert spec.response_errors(method, template, 200, example) == []


def test_changelog_items_may_be_null_but_not_numbers(spec: JiraSpec) -> None:
    item = {
        "field": "status",
        "fieldtype": "jira",
        "from": None,
        "fromString": None,
        "to": "3",
        "toString": "Done",
    }
    assert spec.errors(item, "ChangeDetails") == []
    assert spec.errors({**item, "to": 3}, "ChangeDetails")


def test_adf_document(spec: JiraSpec) -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Hi"}]}],
    }
    assert spec.adf_errors(doc) == []
    assert spec.adf_errors({"type": "doc", "content": []}), "version is required"
    broken = copy.deepcopy(doc)
    broken["content"][0]["content"][0] = {"type": "text"}
    assert spec.adf_errors(broken), "a text node needs text"
    assert spec.adf_errors("plain text description")


def test_issue_field_values(spec: JiraSpec) -> None:
    fields = {
        "status": {"id": "1", "name": "Open", "statusCategory": {"id": 2, "key": "new", "name": "To Do"}},
        "assignee": None,
        "created": "2024-03-05T14:07:33.123+0000",
        "duedate": "2024-03-07",
        "labels": ["backend", "p1"],
        "description": {"type": "doc", "version": 1, "content": []},
        "customfield_10001": {"type": "doc", "version": 1, "content": []},
        "customfield_10002": {
            "self": "http://127.0.0.1:1/rest/api/3/customFieldOption/1",
            "value": "A",
            "id": "1",
        },
        "customfield_10003": 3.5,
    }
    types = {
        "created": {"type": "datetime"},
        "duedate": {"type": "date"},
        "customfield_10001": {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
        },
        "customfield_10002": {"type": "option"},
        "customfield_10003": {"type": "number"},
    }
    assert spec.issue_field_errors({"key": "X-1", "fields": fields}, types) == []
    bad_fields = {
        **fields,
        "status": None,
        "created": "2024-03-05T14:07:33Z",
        "duedate": "07/03/2024",
        "labels": ["two words"],
        "customfield_10001": "text",
        "customfield_10002": "A",
        "customfield_10003": "3.5",
        "project": {"key": "X", "bogus": 1},
    }
    errors = spec.issue_field_errors({"key": "X-1", "fields": bad_fields}, types)
    for field in bad_fields.keys() - {"assignee", "description"}:
        assert any(f"fields.{field}:" in error for error in errors), field


def test_comment_bodies_inside_issues_are_adf(spec: JiraSpec) -> None:
    page = {"startAt": 0, "maxResults": 1, "total": 1, "comments": [{"id": "7", "body": "plain"}]}
    errors = spec.issue_field_errors({"key": "X-1", "fields": {"comment": page}}, {})
    assert any("comments/7/body" in error for error in errors)


def test_agile_shapes() -> None:
    board = {
        "id": 1,
        "self": "http://127.0.0.1:1/rest/agile/1.0/board/1",
        "name": "ALPHA board",
        "type": "scrum",
    }
    page = {"maxResults": 50, "startAt": 0, "total": 1, "isLast": True, "values": [board]}
    assert agile_errors(page, "board-page") == []
    assert agile_errors({**page, "values": [{**board, "type": "wall"}]}, "board-page")
    assert agile_errors({"values": []}, "sprint-page")


def test_fast_adf_validator_agrees_with_plain_draft4(spec: JiraSpec) -> None:
    """The ``type``-narrowed ``anyOf`` gives the same verdicts as the unmodified schema."""
    plain = Draft4Validator(json.loads((reference_dir() / ADF_FILE).read_text(encoding="utf-8")))
    para = {"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "strong"}]}]}
    bullets = {"type": "bulletList", "content": [{"type": "listItem", "content": [para]}]}
    heading = {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "T"}]}
    code = {
        "type": "codeBlock",
        "attrs": {"language": "sql"},
        "content": [{"type": "text", "text": "select"}],
    }
    docs = [
        {"type": "doc", "version": 1, "content": [para, bullets, heading, code]},
        {"type": "doc", "version": 1, "content": [{"type": "listItem", "content": [para]}]},
        {"type": "doc", "version": 1, "content": [{**heading, "attrs": {"level": 9}}]},
        {"type": "doc", "version": 1, "content": [{**para, "type": "bogus"}]},
        {"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": [para]}]},
    ]
    verdicts = [not spec.adf_errors(doc) for doc in docs]
    assert verdicts == [not list(plain.iter_errors(doc)) for doc in docs]
    assert verdicts == [True, False, False, False, False]
