"""The `expand` values peer connectors ask for, on every endpoint that serves issues: `transitions`,
`renderedFields`, `names` and `changelog` on GET and POST /search/jql, POST /issue/bulkfetch and GET
/issue/{idOrKey}, so that other connectors (singer-io tap-jira asks `changelog,transitions`, Airbyte's
source-jira `renderedFields,transitions,changelog`) run against the emulator unmodified.

Every answer is validated against Atlassian's spec (IssueBean.transitions is IssueTransition, changelog a
PageOfChangelogs...), as in the other conformance modules; on top, the semantics: the transitions offered
are the moves the site's own histories make, `names` sit per issue on bulk fetch and GET issue but once per
page on search, embedded changelogs are the latest 40 (100 on GET issue) of the full one.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from fixtures_conformance import JiraHttp, module_site
from test_conformance import bulk_changelogs

from fakejira.lifecycle import BUSY_OFFSET

ISSUES = 130
BUSY = str(10_000 + BUSY_OFFSET)
"""An issue with hundreds of histories: its embedded changelog is cut."""
BOUNDED = "created >= 2000-01-01 ORDER BY key ASC"
PEERS = ["transitions", "renderedFields", "names", "changelog"]

jira, api = module_site(ISSUES, seed=13)


@pytest.fixture(scope="module")
def field_names(api: JiraHttp) -> dict[str, str]:
    return {field["id"]: field["name"] for field in api.ok_get("/rest/api/3/field")}


@pytest.fixture(scope="module")
def ids(api: JiraHttp) -> list[str]:
    return [issue["id"] for issue in api.search_all(BOUNDED, "id", 5000)]


@pytest.fixture(scope="module")
def full_changelogs(api: JiraHttp, ids: list[str]) -> dict[str, list[dict]]:
    """Every issue's untruncated changelog, from POST /changelog/bulkfetch."""
    return bulk_changelogs(api, ids, max_results=1000)


@pytest.fixture(scope="module")
def expanded(api: JiraHttp, ids: list[str]) -> list[dict]:
    """Every issue by bulk fetch with every field and the four expands."""
    issues = []
    for start in range(0, len(ids), 100):
        body = {"issueIdsOrKeys": ids[start : start + 100], "fields": ["*all"], "expand": PEERS}
        issues += api.ok_post("/rest/api/3/issue/bulkfetch", body)["issues"]
    return issues


def assert_changelog(issue: dict, full: list[dict], limit: int) -> None:
    """The embedded changelog is the latest `limit` histories of the full one, oldest first."""
    page = issue["changelog"]
    shown = full[-limit:]
    assert page["total"] == len(full)
    assert page["maxResults"] == len(shown) and page["startAt"] == len(full) - len(shown)
    assert [h["id"] for h in page["histories"]] == [h["id"] for h in shown]


def assert_rendered(issue: dict) -> None:
    """`renderedFields` has a value per field: HTML for rich text, null for the rest."""
    rendered = issue["renderedFields"]
    assert set(rendered) == set(issue["fields"])
    for field, value in issue["fields"].items():
        if isinstance(value, dict) and value.get("type") == "doc":
            assert rendered[field].startswith("<p>") or rendered[field] == ""
        elif field in ("status", "priority", "assignee", "created", "labels"):
            assert rendered[field] is None


def assert_transitions(issue: dict) -> None:
    transitions = issue["transitions"]
    status = issue["fields"]["status"]["name"] if "status" in issue.get("fields", {}) else None
    assert len({t["id"] for t in transitions}) == len(transitions)
    for transition in transitions:
        assert transition["to"]["name"] == transition["name"] != status
        assert transition["isAvailable"] is True


@pytest.mark.parametrize("expand", [PEERS, [",".join(PEERS)]], ids=["list", "comma-joined"])
def test_bulkfetch_expands(
    api: JiraHttp,
    ids: list[str],
    field_names: dict[str, str],
    full_changelogs: dict[str, list[dict]],
    expand: list[str],
) -> None:
    body = {"issueIdsOrKeys": ids[:100], "fields": ["*all"], "expand": expand}
    issues = api.ok_post("/rest/api/3/issue/bulkfetch", body)["issues"]
    assert len(issues) == 100
    for issue in issues:
        assert issue["names"] == {field: field_names[field] for field in issue["fields"]}
        assert_rendered(issue)
        assert_transitions(issue)
        assert_changelog(issue, full_changelogs[issue["id"]], 40)


def test_bulkfetch_changelog_of_a_busy_issue_is_the_latest_40(
    api: JiraHttp, full_changelogs: dict[str, list[dict]]
) -> None:
    body = {"issueIdsOrKeys": [BUSY], "fields": ["summary"], "expand": ["changelog"]}
    (issue,) = api.ok_post("/rest/api/3/issue/bulkfetch", body)["issues"]
    assert len(full_changelogs[BUSY]) > 100
    assert_changelog(issue, full_changelogs[BUSY], 40)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_expands(
    api: JiraHttp, field_names: dict[str, str], full_changelogs: dict[str, list[dict]], method: str
) -> None:
    pages = list(api.search_pages(BOUNDED, "*all", 100, method=method, expand=",".join(PEERS)))
    issues = [issue for page in pages for issue in page["issues"]]
    assert len(issues) == ISSUES
    for page in pages:  # on search, names come once per page, for every field asked
        shown = {field for issue in page["issues"] for field in issue["fields"]}
        assert shown <= set(page["names"])
        assert all(field_names[field] == name for field, name in page["names"].items())
    for issue in issues:
        assert "names" not in issue
        assert_rendered(issue)
        assert_transitions(issue)
        assert_changelog(issue, full_changelogs[issue["id"]], 40)


def test_get_issue_expands(api: JiraHttp, field_names: dict[str, str], full_changelogs: dict) -> None:
    for issue_id in (BUSY, str(10_001), str(10_050)):
        issue = api.ok_get(f"/rest/api/3/issue/{issue_id}", {"expand": ",".join(PEERS)})
        assert issue["names"] == {field: field_names[field] for field in issue["fields"]}
        assert_rendered(issue)
        assert_transitions(issue)
        assert_changelog(issue, full_changelogs[issue_id], 100)


def test_expanded_issues_keep_their_fields(api: JiraHttp, ids: list[str], expanded: list[dict]) -> None:
    """Expanding adds keys; the fields are those of the plain fetch."""
    plain = api.ok_post("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": ids[:100], "fields": ["*all"]})
    assert [issue["fields"] for issue in plain["issues"]] == [issue["fields"] for issue in expanded[:100]]
    assert "transitions" not in plain["issues"][0] and "changelog" not in plain["issues"][0]


def test_transitions_are_the_moves_the_histories_make(
    expanded: list[dict], full_changelogs: dict[str, list[dict]]
) -> None:
    """Every status change in the site's histories is a transition the site offers from its old status,
    and every status has a way out."""
    offered: dict[str, set[str]] = defaultdict(set)
    for issue in expanded:
        offered[issue["fields"]["status"]["name"]] |= {t["to"]["name"] for t in issue["transitions"]}
    moves = {
        (item["fromString"], item["toString"])
        for histories in full_changelogs.values()
        for history in histories
        for item in history["items"]
        if item["field"] == "status"
    }
    assert moves, "a realistic site has status changes"
    checked = [(old, new) for old, new in moves if old in offered]
    assert len(checked) > len(moves) // 2
    for old, new in checked:
        assert new in offered[old], f"{old} -> {new} happened but is not offered"
    assert all(offered.values())


def test_transitions_endpoint_matches_the_expand(api: JiraHttp, expanded: list[dict]) -> None:
    for issue in expanded[:20]:
        answer = api.ok_get(f"/rest/api/3/issue/{issue['key']}/transitions")
        assert answer == {"expand": "transitions", "transitions": issue["transitions"]}
        first = issue["transitions"][0]
        one = api.ok_get(f"/rest/api/3/issue/{issue['key']}/transitions", {"transitionId": first["id"]})
        assert one["transitions"] == [first]


def test_transition_ids_name_their_target(expanded: list[dict]) -> None:
    """As in a Jira workflow, one transition id always leads to the same status."""
    targets: dict[str, set[str]] = defaultdict(set)
    for issue in expanded:
        for transition in issue["transitions"]:
            targets[transition["id"]].add(transition["to"]["id"])
    assert targets and all(len(statuses) == 1 for statuses in targets.values())


def test_v2_bulkfetch_expands(api: JiraHttp, ids: list[str], expanded: list[dict]) -> None:
    """REST v2 (the `jira` and `atlassian-python-api` clients' default) expands alike, rich text as wiki."""
    body = {"issueIdsOrKeys": ids[:100], "fields": ["*all"], "expand": PEERS}
    response = api.post("/rest/api/2/issue/bulkfetch", body)
    assert response.status_code == 200
    issues = response.json()["issues"]
    by_id = {issue["id"]: issue for issue in expanded}
    for issue in issues:
        v3 = by_id[issue["id"]]
        assert issue["transitions"] == v3["transitions"]
        assert issue["changelog"] == v3["changelog"]
        assert issue["renderedFields"] == v3["renderedFields"]
        if v3["fields"]["description"] is not None:
            assert isinstance(issue["fields"]["description"], str)
