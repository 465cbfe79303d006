"""JQL value validation as Jira Cloud does it: projects (as the account sees them), issue types, statuses and
issue keys that do not exist answer 400 with one message per bad value; numeric issue ids never do; an old key
(before a move) still finds its issue. Pure tests of `validate_values`/`resolve_keys`, then real HTTP.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from fakejira import FakeJira
from fakejira.generator import LIMITED_EMAIL, LIMITED_TOKEN
from fakejira.jql import EvalContext, Vocabulary, parse, resolve_keys, validate_values

SEARCH = "/rest/api/3/search/jql"
LIMITED = (LIMITED_EMAIL, LIMITED_TOKEN)
KEYS = {"eng-1": "10000", "eng-2": "10001", "old-7": "10001"}  # OLD-7 moved to ENG-2
VOCABULARY = Vocabulary(
    projects=frozenset({"eng", "10000", "engineering"}),
    issue_types=frozenset({"bug", "10003", "task"}),
    statuses=frozenset({"to do", "10000", "done"}),
    issue_id=lambda key: KEYS.get(key.casefold()),
)
CTX = EvalContext(tz=ZoneInfo("UTC"), now=dt.datetime(2024, 6, 1, tzinfo=dt.UTC), current_account_id="acc")


def problems(jql: str) -> list[str]:
    return validate_values(parse(jql), VOCABULARY)


def bad(value: str, field: str) -> str:
    return f"The value '{value}' does not exist for the field '{field}'."


def no_key(key: str, field: str = "key") -> str:
    return f"An issue with key '{key}' does not exist for field '{field}'."


# ---------------------------------------------------------------------------------------------- pure


def test_known_values_by_key_id_or_name_in_any_case_pass() -> None:
    assert problems('project in (ENG, 10000, "engineering") AND type = BUG AND status = "TO DO"') == []
    assert problems("issuetype != 10003 AND status not in (Done, 10000) AND key in (ENG-1, old-7)") == []


def test_every_bad_value_of_every_equality_operator_is_reported_once_in_query_order() -> None:
    jql = (
        "project = NOPE AND status in (Bogus, Done, 'Also Bogus') AND Type != Thing "
        "AND issuetype not in (Bug, Gadget) AND (status = Bogus OR project != 99999)"
    )
    assert problems(jql) == [
        bad("NOPE", "project"),
        bad("Bogus", "status"),
        bad("Also Bogus", "status"),
        bad("Thing", "Type"),
        bad("Gadget", "issuetype"),
        bad("99999", "project"),
    ]


def test_other_fields_and_functions_are_not_value_checked() -> None:
    assert problems("labels = NOPE AND priority = Whatever AND assignee in (nobody, currentUser())") == []


def test_unknown_issue_keys_are_errors_but_unknown_numeric_ids_are_not() -> None:
    assert problems("key = ENG-999999") == [no_key("ENG-999999")]
    assert problems("issuekey in (ENG-1, NOPE-3) OR key not in (ENG-404)") == [
        no_key("NOPE-3", "issuekey"),
        no_key("ENG-404"),
    ]
    assert problems("id in (999999, 10000) AND id != 123") == []
    assert problems("key > ENG-999999") == []  # relational: compared by number, never looked up


def test_resolve_keys_finds_a_moved_issue_by_its_old_key() -> None:
    moved = {"id": "10001", "key": "ENG-2", "fields": {}}
    other = {"id": "10000", "key": "ENG-1", "fields": {}}
    assert resolve_keys(parse("key = OLD-7"), VOCABULARY).filter([moved, other], CTX) == [moved]
    assert resolve_keys(parse("key != old-7"), VOCABULARY).filter([moved, other], CTX) == [other]
    both = resolve_keys(parse("key in (OLD-7, ENG-1)"), VOCABULARY)
    assert both.filter([moved, other], CTX) == [moved, other]
    assert parse("key = OLD-7").filter([moved, other], CTX) == []  # unresolved, the key text finds nothing


# ---------------------------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def site() -> Iterator[FakeJira]:
    """One read-only site for the HTTP tests that do not write."""
    with FakeJira(issues=50, seed=1) as running:
        yield running


def session(auth: tuple[str, str]) -> requests.Session:
    http = requests.Session()
    http.auth = auth
    return http


def refusal(*messages: str) -> dict[str, Any]:
    """Jira's 400 body as the published ErrorCollection has it (live Jira adds "warningMessages": [])."""
    return {"errorMessages": list(messages), "errors": {}}


def search(jira: FakeJira, jql: str, auth: tuple[str, str] | None = None) -> requests.Response:
    with session(auth or jira.auth) as http:
        return http.post(jira.url + SEARCH, json={"jql": jql, "fields": ["key"]})


def keys(response: requests.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {issue["key"] for issue in response.json()["issues"]}


def test_unknown_project_is_400_on_every_search_endpoint(site: FakeJira) -> None:
    body, jql = refusal(bad("NOPE", "project")), "project = NOPE"
    with session(site.auth) as http:
        answers = [
            http.get(site.url + SEARCH, params={"jql": jql}),
            http.post(site.url + SEARCH, json={"jql": jql}),
            http.get(site.url + "/rest/api/2/search/jql", params={"jql": jql}),
            http.post(site.url + "/rest/api/3/search/approximate-count", json={"jql": jql}),
        ]
    assert [(a.status_code, a.json()) for a in answers] == [(400, body)] * 4


def test_a_project_the_account_cannot_browse_does_not_exist_for_it(site: FakeJira) -> None:
    assert search(site, "project = OPS", LIMITED).json() == refusal(bad("OPS", "project"))
    assert search(site, 'project in (ENG, "Operations", 10002)', LIMITED).json() == refusal(
        bad("Operations", "project"), bad("10002", "project")
    )
    assert {k.split("-")[0] for k in keys(search(site, "project = ENG", LIMITED))} == {"ENG"}
    assert keys(search(site, 'project in (OPS, "Operations", 10001)'))  # the admin sees OPS


def test_bad_statuses_and_issue_types_are_listed_together(site: FakeJira) -> None:
    jql = "status in (Bogus, 'in progress') AND issuetype not in (Bug, Gizmo) AND type != Thing"
    assert search(site, jql).json() == refusal(
        bad("Bogus", "status"), bad("Gizmo", "issuetype"), bad("Thing", "type")
    )
    assert search(site, "status = 10004 AND issuetype in (10003, Task)").status_code == 200


def test_unknown_keys_are_400_and_unknown_ids_match_nothing(site: FakeJira) -> None:
    assert search(site, "key = ENG-999999").json() == refusal(no_key("ENG-999999"))
    assert search(site, "issuekey in (ENG-1, ENG-999999)").json() == refusal(no_key("ENG-999999", "issuekey"))
    assert keys(search(site, "id = 999999")) == set()
    assert keys(search(site, "id in (10000, 999999)")) == {"ENG-1"}


def test_keys_of_projects_the_account_cannot_browse_do_not_exist_for_it(site: FakeJira) -> None:
    ops_key = next(row["key"] for row in site.ground_truth() if row["project"] == "OPS")
    assert search(site, f"key = {ops_key}", LIMITED).json() == refusal(no_key(ops_key))
    assert keys(search(site, f"key = {ops_key}")) == {ops_key}


def test_old_key_after_a_move_finds_the_moved_issue(jira: FakeJira) -> None:
    old = next(row for row in jira.ground_truth() if row["project"] == "ENG")
    new_key = jira.move_issue(old["key"], "OPS")["key"]
    assert keys(search(jira, f"key = {old['key']}")) == {new_key}
    assert keys(search(jira, f"issuekey in ({old['key']}, {new_key})")) == {new_key}
    assert new_key not in keys(search(jira, f"project = OPS AND key != {old['key']}"))
    # the limited account may browse ENG, not OPS: for it the moved issue's keys no longer exist
    assert search(jira, f"key = {old['key']}", LIMITED).json() == refusal(no_key(old["key"]))


def test_a_deleted_issue_key_no_longer_exists(jira: FakeJira) -> None:
    """Jira Cloud: `{"errorMessages":["An issue with key 'DELETED-1' does not exist for field 'key'."]...`."""
    gone = jira.ground_truth()[0]
    jira.delete_issue(gone["key"])
    assert search(jira, f"key = {gone['key']}").json() == refusal(no_key(gone["key"]))
    assert keys(search(jira, f"id = {gone['id']}")) == set()


def test_jql_parse_reports_bad_values_per_query(site: FakeJira) -> None:
    queries = ["project = NOPE AND status = Bogus", "project = ENG", "project = OPS"]
    url = site.url + "/rest/api/3/jql/parse"
    with session(LIMITED) as http:
        strict = http.post(url, params={"validation": "strict"}, json={"queries": queries}).json()["queries"]
        warn = http.post(url, params={"validation": "warn"}, json={"queries": queries}).json()["queries"]
        none = http.post(url, params={"validation": "none"}, json={"queries": queries}).json()["queries"]
    assert strict[0] == {"query": queries[0], "errors": [bad("NOPE", "project"), bad("Bogus", "status")]}
    assert "structure" in strict[1] and "errors" not in strict[1]
    assert strict[2] == {"query": queries[2], "errors": [bad("OPS", "project")]}
    assert warn[2]["warnings"] == [bad("OPS", "project")] and "structure" in warn[2]
    assert all("structure" in q and "errors" not in q and "warnings" not in q for q in none)
