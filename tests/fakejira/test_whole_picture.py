"""The whole Jira picture a sync keeps, from the emulator's side: the data that makes it hard (issues with
hundreds of histories, comments past one embedded page, edited comments, sprints, links seen from both
issues, epics named by the older Epic Link field), the control-API changes an incremental run must pick up,
and the ground truth a sync is compared with, row for row.

Responses are validated against Atlassian's spec as in the other conformance modules; the outliers are
found by their documented rule (n = issue id - 10000: n % 500 == 7 busy, n % 500 == 111 chatty).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fixtures_conformance import JiraHttp, http_for, live_ground_truth, module_site

from fakejira import FakeJira
from fakejira.generator import generate_site
from fakejira.lifecycle import BUSY_OFFSET, CHATTY_OFFSET

ISSUES = 130
BUSY, CHATTY = 10_000 + BUSY_OFFSET, 10_000 + CHATTY_OFFSET
SPRINT = "customfield_10020"
EPIC_LINK = "customfield_10014"


jira, api = module_site(ISSUES, seed=11)


@pytest.fixture
def scratch() -> Iterator[FakeJira]:
    """A site of its own for a test that changes data (busy and chatty issues included)."""
    with FakeJira(issues=ISSUES, seed=12) as running:
        yield running


def changelog(api: JiraHttp, issue_id: str, page: int = 100) -> list[dict]:
    """One issue's complete changelog from POST /changelog/bulkfetch, following nextPageToken."""
    histories: list[dict] = []
    token = None
    while True:
        body: dict[str, Any] = {"issueIdsOrKeys": [issue_id], "maxResults": page}
        if token:
            body["nextPageToken"] = token
        result = api.ok_post("/rest/api/3/changelog/bulkfetch", body)
        histories += [h for log in result["issueChangeLogs"] for h in log["changeHistories"]]
        token = result.get("nextPageToken")
        if not token:
            return histories


def comment_pages(api: JiraHttp, key: str, page: int = 50) -> list[dict]:
    comments: list[dict] = []
    while True:
        result = api.ok_get(
            f"/rest/api/3/issue/{key}/comment", {"startAt": len(comments), "maxResults": page}
        )
        comments += result["comments"]
        if len(comments) >= result["total"]:
            return comments


def fetch(api: JiraHttp, key: str, fields: str) -> dict:
    return api.ok_post("/rest/api/3/issue/bulkfetch", {"issueIdsOrKeys": [key], "fields": [fields]})[
        "issues"
    ][0]


# --- generated outliers ----------------------------------------------------------------------------


def test_busy_issue_needs_the_changelog_endpoints(jira: FakeJira, api: JiraHttp) -> None:
    full = changelog(api, str(BUSY))
    assert len(full) > 100
    assert full == jira.issue_truth(BUSY)["changelog"]
    assert full == changelog(api, str(BUSY), page=1000), "page size changes nothing"
    embedded = api.ok_get(
        "/rest/api/3/search/jql", {"jql": f"id = {BUSY}", "fields": "summary", "expand": "changelog"}
    )["issues"][0]["changelog"]
    assert embedded["total"] == len(full) and embedded["maxResults"] == len(embedded["histories"]) == 40
    assert embedded["histories"] == full[-40:]
    direct = api.ok_get(f"/rest/api/3/issue/{BUSY}", {"fields": "summary", "expand": "changelog"})[
        "changelog"
    ]
    assert direct["histories"] == full[-100:] and direct["startAt"] == len(full) - 100
    ids = [h["id"] for i in range(ISSUES) for h in jira.site.histories_of(jira.site.record(10_000 + i))]
    assert len(ids) == len(set(ids)), "history ids are unique across the site"


def test_chatty_issue_embeds_the_latest_100_comments(jira: FakeJira, api: JiraHttp) -> None:
    every = comment_pages(api, str(CHATTY))
    assert len(every) > 100
    assert every == jira.issue_truth(CHATTY)["comments"]
    assert [c["created"] for c in every] == sorted(c["created"] for c in every)
    for embedded in (
        fetch(api, str(CHATTY), "comment")["fields"]["comment"],
        api.ok_get(f"/rest/api/3/issue/{CHATTY}", {"fields": "comment"})["fields"]["comment"],
        api.ok_get("/rest/api/3/search/jql", {"jql": f"id = {CHATTY}", "fields": "comment"})["issues"][0][
            "fields"
        ]["comment"],
    ):
        assert embedded["total"] == len(every) and embedded["maxResults"] == 100
        assert embedded["startAt"] == len(every) - 100 and embedded["comments"] == every[-100:]
    small = fetch(api, "10001", "comment")["fields"]["comment"]
    assert small["total"] == small["maxResults"] == len(small["comments"]) and small["startAt"] == 0


def test_some_generated_comments_were_edited(jira: FakeJira) -> None:
    edited = 0
    for row in live_ground_truth(jira):
        truth = jira.issue_truth(row["id"])
        for comment in truth["comments"]:
            assert comment["created"][:23] <= comment["updated"][:23] <= truth["updated"][:23]
            edited += comment["updated"] != comment["created"]
    assert edited >= 5


def test_epic_link_names_the_epic_where_parent_is_absent(jira: FakeJira, api: JiraHttp) -> None:
    fields = {f["id"]: f for f in api.ok_get("/rest/api/3/field")}
    assert fields[EPIC_LINK]["name"] == "Epic Link"
    assert fields[EPIC_LINK]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-epic-link"
    issues = api.search_all("created >= 2000-01-01", "issuetype,parent,project," + EPIC_LINK, 100)
    by_key = {i["key"]: i for i in issues}
    linked = [i for i in issues if i["fields"].get(EPIC_LINK)]
    parented = [i for i in issues if "parent" in i["fields"] and not i["fields"]["issuetype"]["subtask"]]
    assert linked and parented, "both ways of naming an epic occur"
    for issue in linked:
        epic = by_key[issue["fields"][EPIC_LINK]]
        assert "parent" not in issue["fields"] and not issue["fields"]["issuetype"]["subtask"]
        assert epic["fields"]["issuetype"]["name"] == "Epic"
        assert epic["fields"]["project"] == issue["fields"]["project"]
        assert jira.issue_truth(issue["id"])["parent_key"] == epic["key"]
        again = api.ok_get(f"/rest/api/3/issue/{issue['key']}", {"fields": f"parent,{EPIC_LINK}"})["fields"]
        assert again == {EPIC_LINK: epic["key"]}
        assert fetch(api, issue["key"], EPIC_LINK)["fields"] == again
    for issue in parented:
        assert issue["fields"].get(EPIC_LINK) is None
        assert jira.issue_truth(issue["id"])["parent_key"] == issue["fields"]["parent"]["key"]


def test_links_show_on_both_issues(jira: FakeJira, api: JiraHttp) -> None:
    issues = api.search_all("created >= 2000-01-01", "issuelinks", 100)
    sides: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for issue in issues:
        for link in issue["fields"]["issuelinks"]:
            other = link.get("outwardIssue") or link["inwardIssue"]
            sides[link["id"]].append((issue["key"], "outwardIssue" in link, other["key"]))
    assert sides
    for link_id, seen in sides.items():
        (a, a_out, a_other), (b, b_out, b_other) = sorted(seen, key=lambda side: not side[1])
        assert (a_out, b_out) == (True, False) and (a_other, b_other) == (b, a), link_id
    for issue in issues[:20]:
        assert jira.issue_truth(issue["id"])["links"] == issue["fields"]["issuelinks"]


def test_generated_sprint_changes_replay_to_the_sprint_field(jira: FakeJira, api: JiraHttp) -> None:
    issues = api.search_all("created >= 2000-01-01", f"{SPRINT},created,updated", 100)
    checked = 0
    for issue in issues:
        histories = jira.issue_truth(issue["id"])["changelog"]
        items = [i for h in histories for i in h["items"] if i["field"] == "Sprint"]
        sprints = issue["fields"][SPRINT] or []
        assert bool(items) == bool(sprints)
        for before, after in itertools.pairwise(items):
            assert after.get("from") == before.get("to")
        if items:
            assert items[-1]["to"] == ", ".join(str(s["id"]) for s in sprints)
            assert items[-1]["fieldId"] == SPRINT and items[-1]["fieldtype"] == "custom"
            checked += 1
    assert checked > 10


def test_same_seed_same_picture() -> None:
    one, two = generate_site(120, seed=21), generate_site(120, seed=21)
    assert one.reference_truth() == two.reference_truth()
    for iid in (10_000, BUSY, CHATTY - 5, 10_100):
        assert one.issue_truth(iid) == two.issue_truth(iid)
    assert generate_site(120, seed=22).issue_truth(BUSY) != one.issue_truth(BUSY)


# --- what an incremental run must pick up ----------------------------------------------------------


def test_comment_edited_and_deleted(scratch: FakeJira) -> None:
    api = http_for(scratch)
    key = str(CHATTY)
    before = scratch.issue_truth(key)
    generated, added = before["comments"][3], scratch.add_comment(key, "first draft")
    edited = scratch.edit_comment(key, generated["id"], "Reworded: the fix is in 2.3")
    assert edited["updated"] > edited["created"] and edited["updated"] > before["updated"]
    scratch.edit_comment(key, added["id"], "second draft")
    scratch.delete_comment(key, before["comments"][5]["id"])
    truth = scratch.issue_truth(key)
    assert (
        truth["updated"] == api.ok_get(f"/rest/api/3/issue/{key}", {"fields": "updated"})["fields"]["updated"]
    )
    assert truth["updated"] > edited["updated"]
    assert truth["deleted_comment_ids"] == [before["comments"][5]["id"]]
    listed = comment_pages(api, key)
    assert listed == truth["comments"] and len(listed) == len(before["comments"])
    assert listed[3]["id"] == generated["id"] and "Reworded" in str(listed[3]["body"])
    assert "second draft" in str(listed[-1]["body"]) and listed[-1]["id"] == added["id"]
    assert before["comments"][5]["id"] not in {c["id"] for c in listed}
    control = requests.put(
        f"{scratch.url}/_fakejira/issues/{key}/comments/{added['id']}", json={"body": "third"}, timeout=10
    )
    assert control.status_code == 200 and "third" in str(control.json()["body"])
    gone = requests.delete(f"{scratch.url}/_fakejira/issues/{key}/comments/{added['id']}", timeout=10)
    assert gone.status_code == 200
    assert requests.delete(gone.url, timeout=10).status_code == 404
    assert added["id"] in scratch.issue_truth(key)["deleted_comment_ids"]


def test_worklogs_added_and_deleted(scratch: FakeJira) -> None:
    key = live_ground_truth(scratch)[3]["key"]
    added = scratch.add_worklog(key, 3600, "pairing")
    truth = scratch.issue_truth(key)
    assert added["id"] in {w["id"] for w in truth["worklogs"]}
    scratch.delete_worklog(int(added["id"]))
    truth = scratch.issue_truth(key)
    assert added["id"] not in {w["id"] for w in truth["worklogs"]}
    assert added["id"] in truth["deleted_worklog_ids"]
    deleted = {str(w.id) for w in scratch.site.worklog_records() if w.deleted_ms is not None}
    assert len(deleted) > 1, "the generator deleted some worklogs too"
    every = {
        wid for row in scratch.ground_truth() for wid in scratch.issue_truth(row["id"])["deleted_worklog_ids"]
    }
    assert every == deleted


def test_status_transition_writes_status_ids(scratch: FakeJira) -> None:
    api = http_for(scratch)
    statuses = {s["name"]: s["id"] for s in api.ok_get("/rest/api/3/status")}
    row = next(r for r in live_ground_truth(scratch) if r["project"] == "ENG")
    current = fetch(api, row["key"], "status")["fields"]["status"]["name"]
    target = "Blocked" if current != "Blocked" else "In Progress"
    scratch.update_issue(row["key"], {"status": target})
    (item,) = [i for i in changelog(api, row["id"])[-1]["items"] if i["field"] == "status"]
    assert (item["from"], item["to"]) == (statuses[current], statuses[target])
    assert (item["fromString"], item["toString"]) == (current, target)


def test_move_to_sprint(scratch: FakeJira) -> None:
    api = http_for(scratch)
    sprints = scratch.reference_truth()["sprints"]
    active = next(s for s in sprints if s["state"] == "active" and s["name"].startswith("ENG"))
    future = next(s for s in sprints if s["state"] == "future" and s["name"].startswith("ENG"))
    closed = next(s for s in sprints if s["state"] == "closed")
    key = next(
        r["key"]
        for r in live_ground_truth(scratch)
        if r["project"] == "ENG" and active["id"] not in scratch.issue_truth(r["id"])["sprint_ids"]
    )
    before = fetch(api, key, f"{SPRINT},updated")["fields"]
    scratch.move_to_sprint(key, active["id"])
    moved = requests.post(
        f"{scratch.url}/_fakejira/issues/{key}/sprint", json={"sprintId": future["id"]}, timeout=10
    )
    assert moved.status_code == 200
    after = fetch(api, key, f"{SPRINT},updated")["fields"]
    kept = [s["id"] for s in before[SPRINT] or () if s["state"] == "closed"]
    assert [s["id"] for s in after[SPRINT]] == [*kept, future["id"]] == scratch.issue_truth(key)["sprint_ids"]
    assert after["updated"] > before["updated"]
    first, second = (h["items"] for h in changelog(api, key)[-2:])
    assert first[0]["field"] == "Sprint" and first[0]["to"].endswith(str(active["id"]))
    assert second[0]["from"] == first[0]["to"] and second[0]["to"].endswith(str(future["id"]))
    members = api.get(f"/rest/agile/1.0/sprint/{future['id']}/issue", {"maxResults": 50}).json()
    assert key in {i["key"] for i in members["issues"]}
    refused = requests.post(
        f"{scratch.url}/_fakejira/issues/{key}/sprint", json={"sprintId": closed["id"]}, timeout=10
    )
    assert refused.status_code == 400
    scratch.move_to_sprint(key, None)
    assert scratch.issue_truth(key)["sprint_ids"] == kept


def test_versions_and_components_added(scratch: FakeJira) -> None:
    api = http_for(scratch)
    version = scratch.add_version("ENG", "2026.5", description="Next", release_date="2026-12-28")
    response = requests.post(
        f"{scratch.url}/_fakejira/projects/OPS/versions", json={"name": "ops-1", "released": True}, timeout=10
    )
    assert response.status_code == 201
    listed = api.ok_get("/rest/api/3/project/ENG/versions")
    assert listed[-1]["name"] == "2026.5" and listed[-1]["id"] == version["id"]
    assert listed[-1]["overdue"] is (listed[-1]["releaseDate"] < scratch.now().strftime("%Y-%m-%d"))
    released = scratch.update_version(version["id"], released=True, releaseDate="2026-11-30")
    assert released["released"] is True and "overdue" not in released
    assert (
        api.ok_get("/rest/api/3/project/OPS/version", {"status": "released", "query": "ops-"})["total"] == 1
    )
    assert (
        requests.put(f"{scratch.url}/_fakejira/versions/1", json={"released": True}, timeout=10).status_code
        == 404
    )
    lead = scratch.site.users[5]["accountId"]
    component = scratch.add_component("ENG", "Mobile", "Apps", lead=lead)
    paged = api.ok_get("/rest/api/3/project/ENG/component", {"query": "mobile"})["values"]
    assert paged[0]["id"] == component["id"] and paged[0]["issueCount"] == 0
    assert paged[0]["lead"]["accountId"] == lead
    duplicate = requests.post(
        f"{scratch.url}/_fakejira/projects/ENG/components", json={"name": "Mobile"}, timeout=10
    )
    assert duplicate.status_code == 400
    truth = http_ground_truth(scratch)
    assert version["id"] in {v["id"] for v in truth["versions"]}
    assert component["id"] in {x["id"] for x in truth["components"]}


def test_links_added_and_removed(scratch: FakeJira) -> None:
    api = http_for(scratch)
    one, two = (r["key"] for r in live_ground_truth(scratch)[:2])
    before = {k: fetch(api, k, "updated")["fields"]["updated"] for k in (one, two)}
    link = scratch.add_issue_link(one, two, "Blocks")
    assert link["outwardIssue"]["key"] == two and link["type"]["name"] == "Blocks"
    back = [x for x in fetch(api, two, "issuelinks")["fields"]["issuelinks"] if x["id"] == link["id"]]
    assert back[0]["inwardIssue"]["key"] == one
    for key, other, text in (
        (one, two, f"This issue blocks {two}"),
        (two, one, f"This issue is blocked by {one}"),
    ):
        assert fetch(api, key, "updated")["fields"]["updated"] > before[key]
        item = {"field": "Link", "fieldtype": "jira", "to": other, "toString": text}
        assert changelog(api, key)[-1]["items"] == [item]
    gone = requests.delete(f"{scratch.url}/_fakejira/issue-links/{link['id']}", timeout=10)
    assert gone.status_code == 200
    for key in (one, two):
        assert link["id"] not in {x["id"] for x in scratch.issue_truth(key)["links"]}
        assert changelog(api, key)[-1]["items"][0]["fromString"].startswith("This issue")


def test_deleted_issue_keeps_its_children_in_the_truth(scratch: FakeJira) -> None:
    key = str(BUSY)
    alive = scratch.issue_truth(key)
    scratch.delete_issue(key)
    gone = scratch.issue_truth(key)
    assert gone["deleted"] is True
    assert {k: v for k, v in gone.items() if k != "deleted"} == {
        k: v for k, v in alive.items() if k != "deleted"
    }
    assert requests.get(f"{scratch.url}/_fakejira/ground-truth/issues/{key}", timeout=10).json()["deleted"]


# --- ground truth ----------------------------------------------------------------------------------


def http_ground_truth(jira: FakeJira) -> dict[str, list[dict]]:
    response = requests.get(f"{jira.url}/_fakejira/ground-truth/reference", timeout=10)
    assert response.status_code == 200
    return response.json()


def test_reference_truth_is_what_the_api_lists(jira: FakeJira, api: JiraHttp) -> None:
    truth = jira.reference_truth()
    assert truth == http_ground_truth(jira)
    projects = api.ok_get("/rest/api/3/project/search", {"expand": "description,lead,issueTypes"})
    assert truth["projects"] == projects["values"]
    assert truth["users"] == api.ok_get("/rest/api/3/users/search", {"maxResults": 1000})
    assert truth["fields"] == api.ok_get("/rest/api/3/field")
    for kind, path in (
        ("statuses", "status"),
        ("status_categories", "statuscategory"),
        ("issue_types", "issuetype"),
        ("priorities", "priority"),
        ("resolutions", "resolution"),
    ):
        assert truth[kind] == api.ok_get(f"/rest/api/3/{path}"), kind
    keys = [p["key"] for p in truth["projects"]]
    for kind, path in (("versions", "versions"), ("components", "components")):
        listed = [x for k in keys for x in api.ok_get(f"/rest/api/3/project/{k}/{path}")]
        assert sorted(truth[kind], key=lambda x: x["id"]) == sorted(listed, key=lambda x: x["id"]), kind
    boards = api.get("/rest/agile/1.0/board").json()["values"]
    assert truth["boards"] == boards
    sprints = [s for b in boards for s in api.get(f"/rest/agile/1.0/board/{b['id']}/sprint").json()["values"]]
    assert len(sprints) < len(truth["sprints"]), "a board lists 50 sprints a page"
    assert all(s in truth["sprints"] for s in sprints)


def test_issue_truth_matches_the_api(jira: FakeJira, api: JiraHttp) -> None:
    for iid in (10_000, BUSY, CHATTY, 10_042):
        truth = jira.issue_truth(iid)
        assert truth == requests.get(f"{jira.url}/_fakejira/ground-truth/issues/{iid}", timeout=10).json()
        issue = api.ok_get(f"/rest/api/3/issue/{iid}", {"fields": f"issuelinks,{SPRINT},updated"})
        assert truth["changelog"] == changelog(api, str(iid))
        assert truth["comments"] == comment_pages(api, str(iid))
        assert truth["links"] == issue["fields"]["issuelinks"]
        assert truth["sprint_ids"] == [s["id"] for s in issue["fields"][SPRINT] or ()]
        assert truth["updated"] == issue["fields"]["updated"]
        worklogs = api.ok_get(f"/rest/api/3/issue/{iid}/worklog")["worklogs"]
        assert truth["worklogs"] == worklogs
    missing = requests.get(f"{jira.url}/_fakejira/ground-truth/issues/NOPE-1", timeout=10)
    assert missing.status_code == 404
