"""The reference lists answer like Jira Cloud: statuses, status categories, issue types, priorities,
resolutions, project versions and components, and the Agile sprint endpoints, over real HTTP.

Each answer is validated against its operation's response schema in Atlassian's OpenAPI document (the Agile
ones against the hand-written shapes of ``openapi_check``). On top of the shapes: the lists page, filter and
order as the spec says, and they are the same catalog the issues use, so every status, issue type, priority,
resolution, version, component and sprint an issue or a changelog item names resolves in them (what a
warehouse joins on).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest
from fixtures_conformance import JiraHttp, module_site
from openapi_check import agile_errors, assert_conforms, assert_issue_fields

from fakejira import FakeJira

ISSUES = 150
BOUNDED = "created >= 2000-01-01 ORDER BY key ASC"


jira, api = module_site(ISSUES, seed=11)


@pytest.fixture(scope="module")
def limited(jira: FakeJira) -> JiraHttp:
    account = jira.account("limited@example.com")
    return JiraHttp(jira.url, account.email, account.api_token)


@pytest.fixture(scope="module")
def issues(api: JiraHttp) -> list[dict]:
    """Every issue with every field, from bulk fetch."""
    return api.fetch_all(BOUNDED)


@pytest.fixture(scope="module")
def items(api: JiraHttp, issues: list[dict]) -> list[dict]:
    """Every changelog item of every issue (changelog bulk fetch, all pages)."""
    out: list[dict] = []
    token = None
    while True:
        body: dict[str, Any] = {"issueIdsOrKeys": [i["id"] for i in issues], "maxResults": 500}
        if token:
            body["nextPageToken"] = token
        page = api.ok_post("/rest/api/3/changelog/bulkfetch", body)
        out += [
            item for log in page["issueChangeLogs"] for h in log["changeHistories"] for item in h["items"]
        ]
        token = page.get("nextPageToken")
        if not token:
            return out


def all_pages(api: JiraHttp, path: str, params: dict[str, Any] | None = None) -> list[dict]:
    """Every value of an offset-paged list, each page validated, following startAt to `isLast`."""
    values: list[dict] = []
    for _ in range(1000):
        page = api.ok_get(path, {**(params or {}), "startAt": len(values)})
        assert page["startAt"] == len(values)
        values += page["values"]
        assert ("nextPage" in page) == (not page["isLast"])
        if page["isLast"]:
            assert len(values) == page["total"]
            return values
    raise AssertionError("the list never ended")


def changed(items: list[dict], field: str) -> set[str]:
    """Every id a changelog item of `field` names, before or after."""
    return {i[end] for i in items if i["field"] == field for end in ("from", "to") if i.get(end)}


# --- catalog lists ---------------------------------------------------------------------------------


def test_every_status_an_issue_or_changelog_names_is_listed(
    api: JiraHttp, issues: list[dict], items: list[dict]
) -> None:
    statuses = {s["id"]: s for s in api.ok_get("/rest/api/3/status")}
    categories = {x["id"] for x in api.ok_get("/rest/api/3/statuscategory")}
    for issue in issues:
        status = issue["fields"]["status"]
        assert statuses[status["id"]] == status
    assert changed(items, "status") and changed(items, "status") <= set(statuses)
    for status in statuses.values():
        assert status["statusCategory"]["id"] in categories
    assert {s["statusCategory"]["key"] for s in statuses.values()} == {"new", "indeterminate", "done"}


def test_statuses_search_pages_and_filters(api: JiraHttp, limited: JiraHttp) -> None:
    everything = all_pages(api, "/rest/api/3/statuses/search", {"maxResults": 3})
    listed = api.ok_get("/rest/api/3/status")
    assert [s["id"] for s in everything] == [s["id"] for s in listed]
    assert all(s["scope"] == {"type": "GLOBAL"} for s in everything)
    done = api.ok_get("/rest/api/3/statuses/search", {"statusCategory": "DONE"})["values"]
    assert {s["name"] for s in done} == {"Done", "Won't Do"}
    found = api.ok_get("/rest/api/3/statuses/search", {"searchString": "in "})["values"]
    assert {s["name"] for s in found} == {"In Progress", "In Review"}
    bad = api.get("/rest/api/3/statuses/search", {"statusCategory": "FINISHED"})
    assert bad.status_code == 400 and assert_conforms(bad)["errorMessages"]
    assert limited.ok_get("/rest/api/3/statuses/search")["values"] == [], "global statuses are for admins"


def test_issue_types(api: JiraHttp, limited: JiraHttp, jira: FakeJira, issues: list[dict]) -> None:
    types = {t["id"]: t for t in api.ok_get("/rest/api/3/issuetype")}
    assert {issue["fields"]["issuetype"]["id"] for issue in issues} <= set(types)
    for issue in issues:
        assert types[issue["fields"]["issuetype"]["id"]] == issue["fields"]["issuetype"]
    project = jira.site.projects[0]
    of_project = api.ok_get("/rest/api/3/issuetype/project", {"projectId": project["id"]})
    assert of_project == list(types.values())
    subtasks = api.ok_get("/rest/api/3/issuetype/project", {"projectId": project["id"], "level": -1})
    assert [t["name"] for t in subtasks] == ["Sub-task"]
    for params, status in (({}, 400), ({"projectId": "99999"}, 404)):
        response = api.get("/rest/api/3/issuetype/project", params)
        assert response.status_code == status and assert_conforms(response)["errorMessages"]
    hidden = next(p for p in jira.site.projects if p["key"] != "ENG")
    assert limited.get("/rest/api/3/issuetype/project", {"projectId": hidden["id"]}).status_code == 404


def test_priorities(api: JiraHttp, issues: list[dict], items: list[dict]) -> None:
    listed = api.ok_get("/rest/api/3/priority")
    by_id = {p["id"]: p for p in listed}
    for issue in issues:
        embedded = issue["fields"]["priority"]
        assert {k: by_id[embedded["id"]][k] for k in embedded} == embedded
    assert changed(items, "priority") <= set(by_id)
    paged = all_pages(api, "/rest/api/3/priority/search", {"maxResults": 2})
    assert [p["id"] for p in paged] == [p["id"] for p in listed]
    assert [p["name"] for p in paged if p["isDefault"]] == ["Medium"]
    only = api.ok_get("/rest/api/3/priority/search", {"onlyDefault": "true"})["values"]
    assert [p["name"] for p in only] == ["Medium"]
    chosen = api.ok_get("/rest/api/3/priority/search", [("id", "1"), ("id", "5"), ("id", "nope")])["values"]
    assert [p["name"] for p in chosen] == ["Highest", "Lowest"]
    named = api.ok_get("/rest/api/3/priority/search", {"priorityName": "high"})["values"]
    assert {p["name"] for p in named} == {"Highest", "High"}


def test_resolutions(api: JiraHttp, issues: list[dict], items: list[dict]) -> None:
    listed = api.ok_get("/rest/api/3/resolution")
    by_id = {r["id"]: r for r in listed}
    for issue in issues:
        if issue["fields"]["resolution"] is not None:
            assert by_id[issue["fields"]["resolution"]["id"]] == issue["fields"]["resolution"]
    assert changed(items, "resolution") and changed(items, "resolution") <= set(by_id)
    paged = all_pages(api, "/rest/api/3/resolution/search", {"maxResults": 3})
    assert [(r["id"], r["name"], r["description"]) for r in paged] == [
        (r["id"], r["name"], r["description"]) for r in listed
    ]
    assert [r["name"] for r in paged if r["isDefault"]] == ["Done"]
    chosen = api.ok_get("/rest/api/3/resolution/search", {"id": "10002"})["values"]
    assert [r["name"] for r in chosen] == ["Duplicate"]


def test_v2_serves_the_lists_too(api: JiraHttp) -> None:
    assert api.ok_get("/rest/api/2/status") == api.ok_get("/rest/api/3/status")
    assert api.ok_get("/rest/api/2/project/ENG/versions") == api.ok_get("/rest/api/3/project/ENG/versions")


# --- versions and components -----------------------------------------------------------------------


def test_project_versions(api: JiraHttp, jira: FakeJira, issues: list[dict]) -> None:
    by_project = {}
    for project in jira.site.projects:
        listed = api.ok_get(f"/rest/api/3/project/{project['key']}/versions")
        assert listed == api.ok_get(f"/rest/api/3/project/{project['id']}/versions"), "id or key alike"
        paged = all_pages(api, f"/rest/api/3/project/{project['key']}/version", {"maxResults": 7})
        assert paged == listed
        assert {v["projectId"] for v in listed} == {int(project["id"])}
        by_project[project["key"]] = {v["id"]: v for v in listed}
    for issue in issues:
        versions = by_project[issue["fields"]["project"]["key"]]
        for fix in issue["fields"]["fixVersions"]:
            assert {k: versions[fix["id"]][k] for k in fix} == fix
    eng = list(by_project["ENG"].values())
    kinds = Counter(
        "archived" if v["archived"] else "released" if v["released"] else "unreleased" for v in eng
    )
    assert set(kinds) == {"archived", "released", "unreleased"}
    path = "/rest/api/3/project/ENG/version"
    for status, count in kinds.items():
        assert len(all_pages(api, path, {"status": status})) == count
    both = all_pages(api, path, {"status": "released,unreleased"})
    assert len(both) == kinds["released"] + kinds["unreleased"]
    newest = api.ok_get(path, {"orderBy": "-releaseDate", "maxResults": 3})["values"]
    assert [v["releaseDate"] for v in newest] == sorted((v["releaseDate"] for v in eng), reverse=True)[:3]
    assert [v["name"] for v in all_pages(api, path, {"query": "2023 q2"})] == ["2023.2"]
    for params in ({"orderBy": "size"}, {"status": "shipped"}):
        bad = api.get(path, params)
        assert bad.status_code == 400 and assert_conforms(bad)["errorMessages"]
    missing = api.get("/rest/api/3/project/NOPE/version")
    assert missing.status_code == 404 and "NOPE" in assert_conforms(missing)["errorMessages"][0]


def test_project_components(api: JiraHttp, limited: JiraHttp, jira: FakeJira, issues: list[dict]) -> None:
    used: Counter[str] = Counter(x["id"] for issue in issues for x in issue["fields"]["components"])
    by_id = {}
    for project in jira.site.projects:
        listed = api.ok_get(f"/rest/api/3/project/{project['key']}/components")
        by_id.update({x["id"]: x for x in listed})
        paged = all_pages(api, f"/rest/api/3/project/{project['key']}/component", {"maxResults": 3})
        assert [{k: v for k, v in x.items() if k != "issueCount"} for x in paged] == sorted(
            listed, key=lambda x: x["name"]
        )
        for component in paged:
            assert component["issueCount"] == used[component["id"]]
            assert component["project"] == project["key"]
    assert sum(used.values()) > 0 and any("lead" in x for x in listed)
    for issue in issues:
        for component in issue["fields"]["components"]:
            assert {k: by_id[component["id"]][k] for k in component} == component
    path = "/rest/api/3/project/ENG/component"
    busiest = api.ok_get(path, {"orderBy": "-issueCount"})["values"]
    assert [x["issueCount"] for x in busiest] == sorted((x["issueCount"] for x in busiest), reverse=True)
    assert [x["name"] for x in api.ok_get(path, {"query": "web"})["values"]] == ["Web UI"]
    assert api.ok_get(path, {"componentSource": "compass"})["values"] == []
    assert limited.get("/rest/api/3/project/OPS/components").status_code == 404


# --- sprints ---------------------------------------------------------------------------------------


def test_sprint_field_is_rendered_like_jira_cloud(api: JiraHttp, jira: FakeJira, issues: list[dict]) -> None:
    sprints = {s["id"]: s for s in jira.reference_truth()["sprints"]}
    in_sprints = [issue for issue in issues if issue["fields"]["customfield_10020"]]
    assert in_sprints, "a realistic site has issues in sprints"
    states = Counter()
    for issue in in_sprints:
        value = issue["fields"]["customfield_10020"]
        assert sum(s["state"] != "closed" for s in value) <= 1, "at most one open sprint"
        for sprint in value:
            listed = sprints[sprint["id"]]
            assert {"id", "name", "state", "boardId", "goal"} <= set(sprint)
            assert sprint["name"] == listed["name"] and sprint["state"] == listed["state"]
            assert sprint["boardId"] == listed["originBoardId"]
            assert ("startDate" in sprint) == (sprint["state"] != "future")
            assert ("completeDate" in sprint) == (sprint["state"] == "closed")
            states[sprint["state"]] += 1
    assert set(states) == {"closed", "active", "future"}


def test_sprint_and_its_issues(api: JiraHttp, limited: JiraHttp, jira: FakeJira, issues: list[dict]) -> None:
    members: dict[int, set[str]] = defaultdict(set)
    for issue in issues:
        for sprint in issue["fields"]["customfield_10020"] or ():
            members[sprint["id"]].add(issue["key"])
    active = next(s for s in jira.reference_truth()["sprints"] if s["state"] == "active" and members[s["id"]])
    response = api.get(f"/rest/agile/1.0/sprint/{active['id']}")
    assert response.status_code == 200 and agile_errors(response.json(), "sprint") == []
    assert response.json() == active
    seen: list[dict] = []
    while True:
        page = api.get(
            f"/rest/agile/1.0/sprint/{active['id']}/issue",
            {"startAt": len(seen), "maxResults": 2, "fields": "summary,customfield_10020"},
        )
        assert page.status_code == 200 and agile_errors(page.json(), "issue-page") == []
        seen += page.json()["issues"]
        if len(seen) >= page.json()["total"]:
            break
    assert {i["key"] for i in seen} == members[active["id"]]
    assert_issue_fields(seen, api.ok_get("/rest/api/3/field"))
    first = sorted(members[active["id"]])[0]
    narrowed = api.get(f"/rest/agile/1.0/sprint/{active['id']}/issue", {"jql": f"key = {first}"}).json()
    assert [i["key"] for i in narrowed["issues"]] == [first]
    assert api.get("/rest/agile/1.0/sprint/999999").status_code == 404
    other = next(s for s in jira.reference_truth()["sprints"] if not s["name"].startswith("ENG"))
    assert limited.get(f"/rest/agile/1.0/sprint/{other['id']}/issue").status_code == 404
