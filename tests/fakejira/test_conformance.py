"""The emulator answers like Jira Cloud: every endpoint the product uses, over real HTTP, against the spec.

Each answer is validated against the response schema of its operation in Atlassian's OpenAPI document
(``openapi_check``); on top of the shapes, the tests check the semantics a sync depends on: pagination
reaches every issue exactly once, field selection and expansion do what Jira documents, changelogs
replay to the current field values, and rich text is valid ADF.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fixtures_conformance import JiraHttp, http_for, live_ground_truth
from openapi_check import agile_errors, assert_adf, assert_conforms, assert_issue_fields

from fakejira import FakeJira

ISSUES = 150
BOUNDED = "created >= 2000-01-01 ORDER BY key ASC"


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=ISSUES, seed=11) as running:
        yield running


@pytest.fixture(scope="module")
def api(jira: FakeJira) -> JiraHttp:
    return http_for(jira)


@pytest.fixture(scope="module")
def scratch() -> Iterator[FakeJira]:
    """A small site the tests that change data work on, so the main site stays as generated."""
    with FakeJira(issues=30, seed=12) as running:
        yield running


@pytest.fixture(scope="module")
def field_list(api: JiraHttp) -> list[dict]:
    return api.ok_get("/rest/api/3/field")


@pytest.fixture(scope="module")
def all_issues(api: JiraHttp) -> list[dict]:
    """Every issue with every field, as a sync's bulk fetch sees them."""
    ids = [issue["id"] for issue in api.search_all(BOUNDED, "id", 5000)]
    issues = []
    for start in range(0, len(ids), 100):
        body = {"issueIdsOrKeys": ids[start : start + 100], "fields": ["*all"]}
        issues += api.ok_post("/rest/api/3/issue/bulkfetch", body)["issues"]
    return issues


@pytest.fixture(scope="module")
def changelogs(api: JiraHttp, all_issues: list[dict]) -> dict[str, list[dict]]:
    """Untruncated changelog of every issue, by issue id, from ``POST /changelog/bulkfetch``."""
    ids = [issue["id"] for issue in all_issues]
    return bulk_changelogs(api, ids, max_results=200)


def bulk_changelogs(api: JiraHttp, ids: list[str], max_results: int) -> dict[str, list[dict]]:
    histories: dict[str, list[dict]] = defaultdict(list)
    for start in range(0, len(ids), 1000):
        token = None
        for _ in range(10_000):
            body: dict[str, Any] = {"issueIdsOrKeys": ids[start : start + 1000], "maxResults": max_results}
            if token:
                body["nextPageToken"] = token
            page = api.ok_post("/rest/api/3/changelog/bulkfetch", body)
            for entry in page["issueChangeLogs"]:
                histories[entry["issueId"]] += entry["changeHistories"]
            token = page.get("nextPageToken")
            if not token:
                break
    return histories


# --- site metadata -------------------------------------------------------------------------------


def test_myself(jira: FakeJira, api: JiraHttp) -> None:
    me = api.ok_get("/rest/api/3/myself")
    assert me["emailAddress"] == jira.email
    assert me["accountType"] == "atlassian"
    assert me["active"] is True
    assert me["timeZone"]


def test_server_info(jira: FakeJira, api: JiraHttp) -> None:
    info = api.ok_get("/rest/api/3/serverInfo")
    assert info["deploymentType"] == "Cloud"
    assert info["baseUrl"].rstrip("/") == jira.url.rstrip("/")


def test_fields(field_list: list[dict]) -> None:
    ids = {field["id"] for field in field_list}
    assert {"summary", "status", "updated", "created", "description", "assignee", "comment"} <= ids
    custom = [field for field in field_list if field["custom"]]
    assert custom, "a realistic site has custom fields"
    for field in custom:
        assert field["id"].startswith("customfield_")
        assert field["schema"]["custom"] and field["schema"]["customId"] == int(field["id"].split("_")[1])


def test_project_search(api: JiraHttp, all_issues: list[dict]) -> None:
    page = api.ok_get("/rest/api/3/project/search", {"maxResults": 50})
    keys = {project["key"] for project in page["values"]}
    assert {issue["fields"]["project"]["key"] for issue in all_issues} <= keys
    assert page["total"] == len(page["values"]) and page["isLast"] is True


def test_users_search(api: JiraHttp, all_issues: list[dict]) -> None:
    users = api.ok_get("/rest/api/3/users/search", {"maxResults": 1000})
    account_ids = {user["accountId"] for user in users}
    assignees = {i["fields"]["assignee"]["accountId"] for i in all_issues if i["fields"].get("assignee")}
    assert assignees <= account_ids
    first = api.ok_get("/rest/api/3/users/search", {"startAt": 0, "maxResults": 2})
    assert first == users[:2]


# --- enhanced search -------------------------------------------------------------------------------


def test_search_default_fields_is_id_only(api: JiraHttp) -> None:
    page = api.ok_get("/rest/api/3/search/jql", {"jql": BOUNDED, "maxResults": 5})
    assert len(page["issues"]) == 5
    for issue in page["issues"]:
        assert issue["id"]
        assert "summary" not in issue.get("fields", {})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_paginates_to_the_end(jira: FakeJira, api: JiraHttp, method: str) -> None:
    pages = list(api.search_pages(BOUNDED, "key", 37, method=method))
    assert len(pages) == -(-len(live_ground_truth(jira)) // 37)
    for page in pages[:-1]:
        assert page["isLast"] is False and page["nextPageToken"]
        assert 0 < len(page["issues"]) <= 37
    assert pages[-1]["isLast"] is True
    assert "nextPageToken" not in pages[-1]
    seen = [issue["id"] for page in pages for issue in page["issues"]]
    assert len(seen) == len(set(seen)), "an issue came twice"
    assert set(seen) == {row["id"] for row in live_ground_truth(jira)}
    keys = [issue["key"] for page in pages for issue in page["issues"]]
    assert keys == sorted(keys, key=lambda k: (k.split("-")[0], int(k.split("-")[1])))


def test_search_max_results_caps(api: JiraHttp) -> None:
    """Up to 5,000 issues a page when only id/key are asked, 100 with more fields."""
    ids_only = api.ok_get("/rest/api/3/search/jql", {"jql": BOUNDED, "fields": "id,key", "maxResults": 9000})
    assert len(ids_only["issues"]) == ISSUES and ids_only["isLast"] is True
    assert "nextPageToken" not in ids_only
    full = api.ok_get("/rest/api/3/search/jql", {"jql": BOUNDED, "fields": "summary", "maxResults": 9000})
    assert len(full["issues"]) == 100 and full["isLast"] is False and full["nextPageToken"]


def test_search_id_pages_cap_at_5000() -> None:
    with FakeJira(issues=5050, seed=13) as big:
        api = http_for(big)
        params = {"jql": BOUNDED, "fields": "id", "maxResults": 9000}
        first = api.ok_get("/rest/api/3/search/jql", params)
        assert len(first["issues"]) == 5000 and first["isLast"] is False
        rest = api.ok_get("/rest/api/3/search/jql", {**params, "nextPageToken": first["nextPageToken"]})
        assert len(rest["issues"]) == 50 and rest["isLast"] is True and "nextPageToken" not in rest
        ids = {issue["id"] for issue in first["issues"] + rest["issues"]}
        assert ids == {row["id"] for row in live_ground_truth(big)}


def test_bad_page_token_is_400(api: JiraHttp) -> None:
    response = api.get("/rest/api/3/search/jql", {"jql": BOUNDED, "nextPageToken": "not-a-token"})
    assert response.status_code == 400
    assert assert_conforms(response)["errorMessages"]


def _one_page(api: JiraHttp, **params: Any) -> list[dict]:
    return api.ok_get("/rest/api/3/search/jql", {"jql": BOUNDED, "maxResults": 20, **params})["issues"]


def test_search_fields_list(api: JiraHttp) -> None:
    for issue in _one_page(api, fields="summary,status,customfield_10016"):
        assert set(issue["fields"]) <= {"summary", "status", "customfield_10016"}
        assert {"summary", "status"} <= set(issue["fields"])


def test_search_fields_repeated_parameter(api: JiraHttp) -> None:
    """Clients (the ``jira`` package among them) send ``fields=a&fields=b``; Jira reads both."""
    for issue in _one_page(api, fields=["summary", "status"]):
        assert set(issue["fields"]) == {"summary", "status"}


def test_search_all_fields(api: JiraHttp, field_list: list[dict]) -> None:
    issues = _one_page(api, fields="*all")
    known = {field["id"] for field in field_list}
    for issue in issues:
        assert {"summary", "status", "comment", "updated", "description"} <= set(issue["fields"])
        assert set(issue["fields"]) <= known
    assert_issue_fields(issues, field_list)


def test_search_navigable_fields(api: JiraHttp, field_list: list[dict]) -> None:
    navigable = {field["id"] for field in field_list if field["navigable"]}
    for issue in _one_page(api, fields="*navigable"):
        assert "summary" in issue["fields"]
        assert set(issue["fields"]) <= navigable


def test_search_excluded_field(api: JiraHttp) -> None:
    for issue in _one_page(api, fields="*all,-comment,-description"):
        assert "comment" not in issue["fields"] and "description" not in issue["fields"]
        assert "summary" in issue["fields"]


def test_search_expand_names_and_schema(api: JiraHttp, field_list: list[dict]) -> None:
    page = api.ok_get(
        "/rest/api/3/search/jql",
        {
            "jql": BOUNDED,
            "fields": "summary,status,customfield_10016",
            "expand": "names,schema",
            "maxResults": 5,
        },
    )
    names = {field["id"]: field["name"] for field in field_list}
    returned = {field for issue in page["issues"] for field in issue["fields"]}
    assert returned <= set(page["names"]) and returned <= set(page["schema"])
    for field, name in page["names"].items():
        assert names[field] == name
    assert page["schema"]["customfield_10016"]["custom"]


def test_search_post_body(api: JiraHttp) -> None:
    body = {"jql": BOUNDED, "fields": ["summary"], "maxResults": 3, "expand": "names"}
    page = api.ok_post("/rest/api/3/search/jql", body)
    assert len(page["issues"]) == 3 and page["names"] == {"summary": "Summary"}


def test_approximate_count(jira: FakeJira, api: JiraHttp) -> None:
    count = api.ok_post("/rest/api/3/search/approximate-count", {"jql": BOUNDED})["count"]
    assert count == len(live_ground_truth(jira))
    project = live_ground_truth(jira)[0]["project"]
    in_project = api.search_all(f"project = {project}", "id", 5000)
    assert api.ok_post("/rest/api/3/search/approximate-count", {"jql": f"project = {project}"}) == {
        "count": len(in_project)
    }


# --- issues ----------------------------------------------------------------------------------------


def test_bulkfetch(api: JiraHttp, all_issues: list[dict], field_list: list[dict]) -> None:
    assert len(all_issues) == ISSUES
    assert_issue_fields(all_issues, field_list)
    wanted = [all_issues[3]["key"], all_issues[7]["id"], "NOPE-999999"]
    body = {"issueIdsOrKeys": wanted, "fields": ["summary", "updated"]}
    result = api.ok_post("/rest/api/3/issue/bulkfetch", body)
    assert {issue["id"] for issue in result["issues"]} == {all_issues[3]["id"], all_issues[7]["id"]}
    for issue in result["issues"]:
        assert set(issue["fields"]) == {"summary", "updated"}


def test_bulkfetch_rejects_more_than_100(api: JiraHttp, all_issues: list[dict]) -> None:
    response = api.post(
        "/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": [i["id"] for i in all_issues[:101]]}
    )
    assert response.status_code == 400
    assert assert_conforms(response)["errorMessages"]


def test_get_issue_by_key_and_id(api: JiraHttp, all_issues: list[dict], field_list: list[dict]) -> None:
    sample = all_issues[10]
    by_key = api.ok_get(f"/rest/api/3/issue/{sample['key']}")
    by_id = api.ok_get(f"/rest/api/3/issue/{sample['id']}")
    assert by_key == by_id
    assert by_key["id"] == sample["id"] and by_key["key"] == sample["key"]
    assert by_key["fields"] == sample["fields"]
    assert_issue_fields([by_key], field_list)
    only = api.ok_get(f"/rest/api/3/issue/{sample['key']}", {"fields": "summary"})
    assert set(only["fields"]) == {"summary"}


def test_descriptions_and_rich_fields_are_adf(all_issues: list[dict], field_list: list[dict]) -> None:
    textareas = {f["id"] for f in field_list if f.get("schema", {}).get("custom", "").endswith(":textarea")}
    described = [issue for issue in all_issues if issue["fields"].get("description")]
    assert described, "a realistic site has descriptions"
    for issue in all_issues:
        for field in ("description", "environment", *textareas):
            if issue["fields"].get(field) is not None:
                assert_adf(issue["fields"][field], f"{issue['key']}.{field}")


# --- changelogs ------------------------------------------------------------------------------------


def test_issue_changelog_pages(
    api: JiraHttp, all_issues: list[dict], changelogs: dict[str, list[dict]]
) -> None:
    issue = max(all_issues, key=lambda i: len(changelogs[i["id"]]))
    expected = changelogs[issue["id"]]
    assert len(expected) > 3
    seen: list[dict] = []
    start = 0
    while True:
        page = api.ok_get(f"/rest/api/3/issue/{issue['key']}/changelog", {"startAt": start, "maxResults": 3})
        assert page["startAt"] == start and page["total"] == len(expected)
        seen += page["values"]
        start += len(page["values"])
        if page["isLast"]:
            break
        assert len(page["values"]) == 3
    assert seen == expected


def test_histories_are_oldest_first(changelogs: dict[str, list[dict]]) -> None:
    for histories in changelogs.values():
        stamps = [history["created"] for history in histories]
        assert stamps == sorted(stamps)


def test_changelog_bulkfetch_field_filter(api: JiraHttp, changelogs: dict[str, list[dict]]) -> None:
    ids = list(changelogs)[:40]
    only_status = bulk_changelogs_filtered(api, ids, ["status"])
    expected = {
        issue_id: [
            {**h, "items": [i for i in h["items"] if i.get("fieldId", i["field"]) == "status"]}
            for h in changelogs[issue_id]
            if any(i.get("fieldId", i["field"]) == "status" for i in h["items"])
        ]
        for issue_id in ids
    }
    assert only_status == {issue_id: hs for issue_id, hs in expected.items() if hs}
    assert any(only_status.values())


def bulk_changelogs_filtered(api: JiraHttp, ids: list[str], field_ids: list[str]) -> dict[str, list[dict]]:
    body = {"issueIdsOrKeys": ids, "fieldIds": field_ids, "maxResults": 10_000}
    page = api.ok_post("/rest/api/3/changelog/bulkfetch", body)
    assert "nextPageToken" not in page
    found: dict[str, list[dict]] = defaultdict(list)
    for entry in page["issueChangeLogs"]:
        found[entry["issueId"]] += entry["changeHistories"]
    return dict(found)


def test_moved_issue_keeps_id_and_old_key_resolves(scratch: FakeJira) -> None:
    api = http_for(scratch)
    rows = live_ground_truth(scratch)
    row = rows[0]
    target = next(r["project"] for r in rows if r["project"] != row["project"])
    new_key = scratch.move_issue(row["key"], target)["key"]
    assert new_key.startswith(f"{target}-") and new_key != row["key"]
    via_old = api.ok_get(f"/rest/api/3/issue/{row['key']}")
    assert via_old["id"] == row["id"] and via_old["key"] == new_key
    assert via_old["fields"]["project"]["key"] == target
    in_target = {issue["id"] for issue in api.search_all(f"project = {target}", "id", 5000)}
    in_source = {issue["id"] for issue in api.search_all(f"project = {row['project']}", "id", 5000)}
    assert row["id"] in in_target and row["id"] not in in_source
    last = bulk_changelogs(api, [row["id"]], max_results=1000)[row["id"]][-1]
    moved = {item["field"]: item for item in last["items"]}
    assert moved["Key"]["fromString"] == row["key"] and moved["Key"]["toString"] == new_key


def test_changelog_bulkfetch_pages_are_complete(
    api: JiraHttp, all_issues: list[dict], changelogs: dict[str, list[dict]]
) -> None:
    """Small pages and one big page give the same histories; each history once."""
    ids = [issue["id"] for issue in all_issues]
    in_small_pages = bulk_changelogs(api, ids, max_results=97)
    assert dict(in_small_pages) == dict(changelogs)
    history_ids = [h["id"] for histories in changelogs.values() for h in histories]
    assert len(history_ids) == len(set(history_ids))


def test_changelogs_replay_to_current_values(
    all_issues: list[dict], changelogs: dict[str, list[dict]]
) -> None:
    """Each field's history chains (from = previous to) and ends at the issue's current value."""
    current = {
        "status": lambda f: (f["status"]["id"], f["status"]["name"]),
        "priority": lambda f: (
            (f["priority"]["id"], f["priority"]["name"]) if f.get("priority") else (None, None)
        ),
        "resolution": lambda f: (
            (f["resolution"]["id"], f["resolution"]["name"]) if f.get("resolution") else (None, None)
        ),
        "assignee": lambda f: (
            (f["assignee"]["accountId"], f["assignee"]["displayName"]) if f.get("assignee") else (None, None)
        ),
        "summary": lambda f: (None, f["summary"]),
    }
    checked = 0
    for issue in all_issues:
        histories = sorted(changelogs[issue["id"]], key=lambda h: (h["created"], int(h["id"])))
        fields = issue["fields"]
        for history in histories:
            assert fields["created"][:23] <= history["created"][:23] <= fields["updated"][:23], history
        by_field: dict[str, list[dict]] = defaultdict(list)
        for history in histories:
            for item in history["items"]:
                by_field[item.get("fieldId", item["field"])].append(item)
        for field, items in by_field.items():
            for before, after in itertools.pairwise(items):
                assert after.get("fromString") == before.get("toString"), (issue["key"], field, before, after)
            if field in current:
                last = items[-1]
                value_id, value_text = current[field](fields)
                assert last.get("toString") == value_text, (issue["key"], field, last)
                if value_id is not None:
                    assert last.get("to") == value_id, (issue["key"], field, last)
                checked += 1
            elif field == "labels":
                assert sorted((items[-1].get("toString") or "").split()) == sorted(fields["labels"])
                checked += 1
    assert checked > ISSUES // 2, "too few histories to prove anything"


def test_search_changelog_is_truncated_bulkfetch_is_not(scratch: FakeJira) -> None:
    api = http_for(scratch)
    project = live_ground_truth(scratch)[0]["project"]
    key = scratch.create_issue(project, {"summary": "busy issue"})["key"]
    for n in range(60):
        scratch.update_issue(key, {"summary": f"busy issue, edit {n}"})
    issue_id = api.ok_get(f"/rest/api/3/issue/{key}", {"fields": "summary"})["id"]
    full = bulk_changelogs(api, [issue_id], max_results=1000)[issue_id]
    assert len(full) >= 60
    page = api.ok_get(
        "/rest/api/3/search/jql", {"jql": f"key = {key}", "fields": "summary", "expand": "changelog"}
    )
    changelog = page["issues"][0]["changelog"]
    assert changelog["total"] == len(full)
    assert len(changelog["histories"]) == changelog["maxResults"] < len(full)
    assert {h["id"] for h in changelog["histories"]} <= {h["id"] for h in full}
    assert full[-1]["items"][-1]["toString"] == "busy issue, edit 59"


# --- comments, worklogs, audit -------------------------------------------------------------------


def test_comments_page_and_adf(api: JiraHttp, all_issues: list[dict]) -> None:
    commented = [i for i in all_issues if i["fields"]["comment"]["total"] > 0]
    assert commented, "a realistic site has comments"
    for issue in commented[:10]:
        page = api.ok_get(f"/rest/api/3/issue/{issue['key']}/comment", {"maxResults": 100})
        assert page["total"] == issue["fields"]["comment"]["total"] == len(page["comments"])
        for comment in page["comments"]:
            assert_adf(comment["body"], f"{issue['key']} comment {comment['id']}")
        stamps = [comment["created"] for comment in page["comments"]]
        assert stamps == sorted(stamps), "comments come oldest first"
    issue = max(commented, key=lambda i: i["fields"]["comment"]["total"])
    first = api.ok_get(f"/rest/api/3/issue/{issue['key']}/comment", {"startAt": 1, "maxResults": 1})
    assert first["startAt"] == 1 and len(first["comments"]) == min(1, first["total"] - 1)


def test_added_comment_is_served(scratch: FakeJira) -> None:
    api = http_for(scratch)
    key = live_ground_truth(scratch)[0]["key"]
    before = api.ok_get(f"/rest/api/3/issue/{key}/comment", {"maxResults": 100})["total"]
    scratch.add_comment(key, "Rollout is done: üñíçødé ✓")
    page = api.ok_get(f"/rest/api/3/issue/{key}/comment", {"maxResults": 100})
    assert page["total"] == before + 1
    added = [c for c in page["comments"] if "Rollout is done: üñíçødé ✓" in str(c["body"])]
    assert len(added) == 1
    assert_adf(added[0]["body"], "added comment")


def worklog_pages(api: JiraHttp, path: str) -> Iterator[dict]:
    """Every page of a worklog change feed from the start, validated, following ``nextPage``."""
    page = api.ok_get(path, {"since": 0})
    for _ in range(10_000):
        yield page
        if page["lastPage"]:
            return
        response = api.session.get(page["nextPage"], timeout=30)
        assert response.status_code == 200
        page = assert_conforms(response)
    raise AssertionError("worklog pages never ended")


def _worklog_ids(api: JiraHttp, path: str) -> list[int]:
    return [value["worklogId"] for page in worklog_pages(api, path) for value in page["values"]]


def test_worklogs_updated_and_list(api: JiraHttp, all_issues: list[dict]) -> None:
    ids = _worklog_ids(api, "/rest/api/3/worklog/updated")
    assert ids and len(ids) == len(set(ids))
    worklogs = api.ok_post("/rest/api/3/worklog/list", {"ids": ids[:1000]})
    assert {int(w["id"]) for w in worklogs} == set(ids[:1000])
    issue_ids = {issue["id"] for issue in all_issues}
    for worklog in worklogs:
        assert worklog["issueId"] in issue_ids
        assert worklog["timeSpentSeconds"] > 0
        if worklog.get("comment") is not None:
            assert_adf(worklog["comment"], f"worklog {worklog['id']}")


def test_added_worklog_is_listed(scratch: FakeJira) -> None:
    api = http_for(scratch)
    row = live_ground_truth(scratch)[1]
    before = set(_worklog_ids(api, "/rest/api/3/worklog/updated"))
    scratch.add_worklog(row["key"], 5400, "paired on the fix")
    assert set(_worklog_ids(api, "/rest/api/3/worklog/updated")) == before, "Jira leaves out the last minute"
    scratch.set_faults(worklog_lag_ms=0)
    try:
        added = set(_worklog_ids(api, "/rest/api/3/worklog/updated")) - before
    finally:
        scratch.set_faults(worklog_lag_ms=60_000)
    assert len(added) == 1
    (worklog,) = api.ok_post("/rest/api/3/worklog/list", {"ids": sorted(added)})
    assert worklog["issueId"] == row["id"] and worklog["timeSpentSeconds"] == 5400


def test_worklog_pages_cover_everything() -> None:
    """Over 1,000 worklogs: ``nextPage`` links walk oldest to youngest and reach every worklog.

    ``since`` is inclusive (Atlassian's own example lists an item updated exactly at ``since``), and
    ``nextPage`` starts at the page's ``until``, so the boundary item may come twice, as in Jira.
    """
    with FakeJira(issues=2500, seed=14) as big:
        api = http_for(big)
        live = {w.id for w in big.site.worklog_records() if w.deleted_ms is None}
        assert len(live) > 1000, "the site must need two pages"
        pages = list(worklog_pages(api, "/rest/api/3/worklog/updated"))
        for page in pages:
            times = [value["updatedTime"] for value in page["values"]]
            assert times == sorted(times) and all(t >= page["since"] for t in times)
            assert not times or page["until"] == times[-1]
        assert all(len(page["values"]) == 1000 for page in pages[:-1])
        ids = [value["worklogId"] for page in pages for value in page["values"]]
        assert len(pages) >= 2 and set(ids) == live
        assert len(ids) - len(set(ids)) <= len(pages) - 1


def test_worklogs_deleted(api: JiraHttp) -> None:
    ids = _worklog_ids(api, "/rest/api/3/worklog/deleted")
    assert len(ids) == len(set(ids))


def test_audit_records_show_deletions(scratch: FakeJira) -> None:
    api = http_for(scratch)
    project = live_ground_truth(scratch)[0]["project"]
    key = scratch.create_issue(project, {"summary": "to be deleted"})["key"]
    scratch.delete_issue(key)
    records = api.ok_get("/rest/api/3/auditing/record", {"limit": 1000})
    assert records["records"], "deleting an issue leaves an audit record"
    assert any(key in str(record) for record in records["records"])
    assert api.get(f"/rest/api/3/issue/{key}").status_code == 404
    assert key not in {issue["key"] for issue in api.search_all(f"project = {project}", "key", 5000)}
    assert api.ok_post("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": [key]})["issues"] == []


def test_jql_parse(api: JiraHttp) -> None:
    body = {"queries": ["project = ENG AND updated >= -1d ORDER BY updated ASC", "project = = nope"]}
    parsed = api.ok_post("/rest/api/3/jql/parse?validation=strict", body)
    good, bad = parsed["queries"]
    assert good["query"] == body["queries"][0] and not good.get("errors")
    assert good["structure"]["orderBy"]["fields"][0]["field"]["name"] == "updated"
    assert bad["errors"]


# --- accounts and permissions --------------------------------------------------------------------


def account_http(jira: FakeJira, email: str) -> JiraHttp:
    account = jira.account(email)
    return JiraHttp(jira.url, account.email, account.api_token)


def test_limited_account_sees_only_its_projects(jira: FakeJira, all_issues: list[dict]) -> None:
    limited = account_http(jira, "limited@example.com")
    visible = set(jira.account("limited@example.com").projects or ())
    me = limited.ok_get("/rest/api/3/myself")
    assert me["emailAddress"] == "limited@example.com"
    found = limited.search_all(BOUNDED, "project", 5000)
    assert found and {issue["fields"]["project"]["key"] for issue in found} <= visible
    hidden = next(i for i in all_issues if i["fields"]["project"]["key"] not in visible)
    response = limited.get(f"/rest/api/3/issue/{hidden['key']}")
    assert response.status_code == 404
    assert_conforms(response)
    fetched = limited.ok_post("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": [hidden["id"]]})
    assert fetched["issues"] == []


def test_audit_needs_an_admin(jira: FakeJira) -> None:
    response = account_http(jira, "limited@example.com").get("/rest/api/3/auditing/record")
    assert response.status_code == 403
    assert assert_conforms(response)["errorMessages"]


def test_bearer_token_account(jira: FakeJira, api: JiraHttp) -> None:
    bot = next(a for a in jira.site.accounts.values() if a.auth == "bearer")
    headers = {"Authorization": f"Bearer {bot.api_token}", "Accept": "application/json"}
    response = requests.get(api.url("/rest/api/3/myself"), headers=headers, timeout=30)
    assert response.status_code == 200
    assert assert_conforms(response)["accountId"] == bot.account_id


# --- errors ----------------------------------------------------------------------------------------


def test_bad_jql_is_400_with_messages(api: JiraHttp) -> None:
    for jql in ("project = = ALPHA", "bogusfield = 3"):
        response = api.get("/rest/api/3/search/jql", {"jql": jql})
        assert response.status_code == 400, jql
        assert assert_conforms(response)["errorMessages"]


@pytest.mark.parametrize("params", [{"jql": "ORDER BY updated"}, {"jql": ""}, {}])
def test_unbounded_jql_is_400(api: JiraHttp, params: dict) -> None:
    response = api.get("/rest/api/3/search/jql", params)
    assert response.status_code == 400
    assert assert_conforms(response)["errorMessages"]


def test_unauthenticated_is_401(jira: FakeJira, api: JiraHttp) -> None:
    url = api.url("/rest/api/3/myself")
    for auth in (None, (jira.email, "wrong-token"), ("nobody@example.com", jira.token)):
        response = requests.get(url, auth=auth, timeout=30)
        assert response.status_code == 401, auth
        assert "authenticated" in str(assert_conforms(response))


def test_missing_issue_is_404(api: JiraHttp) -> None:
    response = api.get("/rest/api/3/issue/NOPE-424242")
    assert response.status_code == 404
    assert assert_conforms(response)["errorMessages"]
    response = api.get("/rest/api/3/issue/NOPE-424242/changelog")
    assert response.status_code == 404
    assert_conforms(response)


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_old_search_is_gone(api: JiraHttp, method: str, version: str) -> None:
    if method == "GET":
        response = api.get(f"/rest/api/{version}/search", {"jql": BOUNDED})
    else:
        response = api.post(f"/rest/api/{version}/search", {"jql": BOUNDED})
    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in " ".join(assert_conforms(response)["errorMessages"])


# --- Agile ---------------------------------------------------------------------------------------


def test_agile_boards_and_sprints(api: JiraHttp) -> None:
    boards = api.get("/rest/agile/1.0/board")
    assert boards.status_code == 200
    assert agile_errors(boards.json(), "board-page") == []
    for board in boards.json()["values"]:
        sprints = api.get(f"/rest/agile/1.0/board/{board['id']}/sprint")
        if board["type"] == "scrum":
            assert sprints.status_code == 200
            assert agile_errors(sprints.json(), "sprint-page") == []
