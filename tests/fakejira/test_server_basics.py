"""The emulator's basics over real HTTP: CLI start-up, determinism, TLS, search paging (also with writes
between pages), page-size caps, field selection, the removed search API, auth, project-limited accounts and
the /_fakejira/ control API. Schema conformance, client libraries and faults live in the conformance modules.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from fakejira import FakeJira
from fakejira.generator import BEARER_TOKEN, LIMITED_EMAIL, LIMITED_TOKEN

SEARCH = "/rest/api/3/search/jql"
EVERYTHING = 'created >= "2000/01/01" ORDER BY updated ASC'


@contextmanager
def cli(*args: str, lines: int = 5) -> Iterator[list[str]]:
    """Run `python -m fakejira ...`; yield its first `lines` stdout lines; stop it afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakejira", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        head = [proc.stdout.readline().strip() for _ in range(lines)]
        assert head[0], f"no URL printed; stderr: {proc.stderr.read() if proc.stderr else ''}"
        yield head
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def all_pages(session: requests.Session, base: str, jql: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of one search, following nextPageToken; asserts the last page says so."""
    pages, token = [], None
    for _ in range(1000):
        page = session.get(
            base + SEARCH, params={"jql": jql, **params, **({"nextPageToken": token} if token else {})}
        )
        assert page.status_code == 200, page.text
        pages.append(page.json())
        token = pages[-1].get("nextPageToken")
        if token is None:
            assert pages[-1]["isLast"] is True
            return pages
        assert pages[-1]["isLast"] is False
    raise AssertionError("search never ended")


def live_ids(jira: FakeJira) -> set[str]:
    return {row["id"] for row in jira.ground_truth() if not row["deleted"]}


# ----- start-up -----------------------------------------------------------------------------------
def test_cli_prints_url_first_then_credentials() -> None:
    with cli("--issues", "20", "--seed", "3", "--timezone", "Europe/Berlin") as head:
        url = head[0]
        assert url.startswith("http://127.0.0.1:")
        assert "email: demo@example.com" in head and "token: demo-token" in head
        me = requests.get(url + "/rest/api/3/myself", auth=("demo@example.com", "demo-token"), timeout=10)
        assert me.status_code == 200 and me.json()["timeZone"] == "Europe/Berlin"


def test_same_seed_same_data_across_processes() -> None:
    def snapshot(url: str) -> tuple[Any, str]:
        truth = requests.get(url + "/_fakejira/ground-truth", timeout=10).json()
        keys = [row["key"] for row in truth[:15]]
        issues = requests.post(
            url + "/rest/api/3/issue/bulkfetch",
            json={"issueIdsOrKeys": keys, "fields": ["*all"], "expand": ["changelog"]},
            auth=("demo@example.com", "demo-token"),
            timeout=10,
        )
        return truth, issues.text.replace(url, "BASE")

    with (
        cli("--issues", "40", "--seed", "9") as one,
        cli("--issues", "40", "--seed", "9") as two,
        cli("--issues", "40", "--seed", "10") as other,
    ):
        first, second, third = snapshot(one[0]), snapshot(two[0]), snapshot(other[0])
    assert first == second
    assert first[0] != third[0]


def test_tls_serves_https_with_a_ca_bundle() -> None:
    with cli("--issues", "10", "--tls", lines=6) as head:
        url = head[0]
        bundle = next(line.split(": ", 1)[1] for line in head if line.startswith("ca-bundle: "))
        assert url.startswith("https://127.0.0.1:")
        me = requests.get(
            url + "/rest/api/3/myself", auth=("demo@example.com", "demo-token"), verify=bundle, timeout=10
        )
        assert me.status_code == 200 and me.json()["emailAddress"] == "demo@example.com"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url + "/rest/api/3/myself", timeout=10)  # not trusted without the bundle


def test_python_api_tls(tmp_path: Any) -> None:
    with FakeJira(issues=5, seed=1, tls=True) as jira:
        assert jira.url.startswith("https://") and jira.cert_path
        response = requests.get(jira.url + "/rest/api/3/serverInfo", verify=jira.cert_path, timeout=10)
        assert response.json()["deploymentType"] == "Cloud"


# ----- search -------------------------------------------------------------------------------------
def test_search_pages_to_the_end(jira: FakeJira, http: requests.Session) -> None:
    pages = all_pages(http, jira.url, EVERYTHING, maxResults=7, fields="key,updated")
    ids = [issue["id"] for page in pages for issue in page["issues"]]
    assert len(ids) == len(set(ids)) and set(ids) == live_ids(jira)
    stamps = [issue["fields"]["updated"] for page in pages for issue in page["issues"]]
    assert stamps == sorted(stamps)
    assert all("total" not in page for page in pages)


def test_search_post_pages_like_get(jira: FakeJira, http: requests.Session) -> None:
    keys, token = [], None
    while True:
        body = {
            "jql": EVERYTHING,
            "maxResults": 9,
            "fields": ["key"],
            **({"nextPageToken": token} if token else {}),
        }
        page = http.post(jira.url + SEARCH, json=body).json()
        keys += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(keys) == len(live_ids(jira))


def test_update_between_pages_moves_the_issue_later(jira: FakeJira, http: requests.Session) -> None:
    """The query runs again for each page: an issue edited after it was served reappears at the end, and
    the issues after it shift one place earlier, so one of them is never served (as on Jira Cloud)."""
    touched: list[str] = []

    def edit_first_served(page: dict[str, Any]) -> None:
        if page["page"] == 1:
            touched.append(page["issue_ids"][0])
            jira.update_issue(page["issue_ids"][0], {"summary": "edited mid-search"})

    jira.on_search_page(edit_first_served)
    pages = all_pages(http, jira.url, EVERYTHING, maxResults=10, fields="summary")
    ids = [issue["id"] for page in pages for issue in page["issues"]]
    assert ids.count(touched[0]) == 2  # served on page 1, then again on the last page
    assert pages[-1]["issues"][-1] == {**pages[-1]["issues"][-1], "id": touched[0]}
    assert pages[-1]["issues"][-1]["fields"]["summary"] == "edited mid-search"
    assert len(live_ids(jira) - set(ids)) == 1


def test_delete_between_pages_shifts_results(jira: FakeJira, http: requests.Session) -> None:
    """Deleting a served issue shifts the offsets: an unserved issue slides onto a page already served."""

    def delete_first_served(page: dict[str, Any]) -> None:
        if page["page"] == 1:
            jira.delete_issue(page["issue_ids"][0])

    jira.on_search_page(delete_first_served)
    pages = all_pages(http, jira.url, 'created >= "2000/01/01" ORDER BY key ASC', maxResults=10, fields="key")
    ids = [issue["id"] for page in pages for issue in page["issues"]]
    assert len(ids) == len(set(ids)) == len(live_ids(jira))  # one deleted was served, one live was skipped
    assert not live_ids(jira) <= set(ids)


def test_page_token_of_another_query_is_refused(jira: FakeJira, http: requests.Session) -> None:
    first = http.get(jira.url + SEARCH, params={"jql": EVERYTHING, "maxResults": 5}).json()
    other = http.get(
        jira.url + SEARCH, params={"jql": "project = ENG", "nextPageToken": first["nextPageToken"]}
    )
    assert other.status_code == 400 and other.json()["errorMessages"]
    garbage = http.get(jira.url + SEARCH, params={"jql": EVERYTHING, "nextPageToken": "not-a-token"})
    assert garbage.status_code == 400


def test_bad_and_unbounded_jql_answer_400(jira: FakeJira, http: requests.Session) -> None:
    bad = http.get(jira.url + SEARCH, params={"jql": "project = = ENG"})
    assert bad.status_code == 400 and bad.json()["errors"] == {} and "Error in the JQL Query" in bad.text
    unbounded = http.get(jira.url + SEARCH, params={"jql": "ORDER BY updated DESC"})
    assert unbounded.json() == {
        "errorMessages": [
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        ],
        "errors": {},
    }


def test_max_results_caps() -> None:
    with FakeJira(issues=260, seed=4) as jira, requests.Session() as http:
        http.auth = jira.auth

        def size(**params: Any) -> int:
            return len(http.get(jira.url + SEARCH, params={"jql": EVERYTHING, **params}).json()["issues"])

        assert size() == 50
        assert size(maxResults=10_000) == 260  # ids only: up to 5,000 a page
        assert size(maxResults=10_000, fields="id,key") == 260
        assert size(maxResults=10_000, fields="summary") == 100
        assert size(maxResults=10_000, fields="*all") == 100


def test_fields_selection(jira: FakeJira, http: requests.Session) -> None:
    def first(fields: str | None) -> dict[str, Any]:
        params = {"jql": "project = ENG", "maxResults": 1, **({"fields": fields} if fields else {})}
        return http.get(jira.url + SEARCH, params=params).json()["issues"][0]

    assert set(first(None)) == {"id"}
    picked = first("summary,status")
    assert picked["key"].startswith("ENG-") and set(picked["fields"]) == {"summary", "status"}
    everything = first("*all")["fields"]
    assert {"comment", "worklog", "description", "customfield_10020"} <= set(everything)
    assert "comment" not in first("*all,-comment")["fields"]
    navigable = first("*navigable")["fields"]
    assert "comment" not in navigable and "description" in navigable
    assert set(first("-description")["fields"]) == set(navigable) - {"description"}


def test_changelog_expand_is_truncated_to_the_latest_40(jira: FakeJira, http: requests.Session) -> None:
    key = jira.ground_truth()[0]["key"]
    for n in range(45):
        jira.update_issue(key, {"labels": [f"round-{n}"]})
    full = http.get(f"{jira.url}/rest/api/3/issue/{key}/changelog", params={"maxResults": 100}).json()
    page = http.get(
        jira.url + SEARCH, params={"jql": f"key = {key}", "fields": "key", "expand": "changelog"}
    ).json()
    embedded = page["issues"][0]["changelog"]
    assert embedded["total"] == full["total"] >= 45
    assert embedded["maxResults"] == len(embedded["histories"]) == 40
    assert embedded["histories"] == full["values"][-40:]


def test_removed_search_endpoints_answer_410(jira: FakeJira, http: requests.Session) -> None:
    for version in ("2", "3"):
        for method in ("GET", "POST"):
            response = http.request(
                method, f"{jira.url}/rest/api/{version}/search", json={"jql": "project = ENG"}
            )
            assert response.status_code == 410
            assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


def test_unknown_path_is_404(jira: FakeJira, http: requests.Session) -> None:
    assert http.get(jira.url + "/rest/api/3/nothing-here").status_code == 404
    missing = http.get(jira.url + "/rest/api/3/issue/ENG-99999")
    assert missing.json() == {
        "errorMessages": ["Issue does not exist or you do not have permission to see it."],
        "errors": {},
    }


# ----- accounts -----------------------------------------------------------------------------------
def test_auth_failures(jira: FakeJira) -> None:
    url = jira.url + "/rest/api/3/myself"
    wrong = requests.get(url, auth=(jira.email, "wrong-token"), timeout=10)
    assert wrong.status_code == 401 and wrong.text == "Client must be authenticated to access this resource."
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    bearer = requests.get(url, headers={"Authorization": f"Bearer {BEARER_TOKEN}"}, timeout=10)
    assert bearer.status_code == 200 and bearer.json()["displayName"] == "Integration Bot"
    assert requests.get(url, headers={"Authorization": f"Bearer {jira.token}"}, timeout=10).status_code == 401


def test_project_limited_account(jira: FakeJira) -> None:
    limited = (LIMITED_EMAIL, LIMITED_TOKEN)
    other = next(row for row in jira.ground_truth() if row["project"] != "ENG")
    seen = requests.get(
        jira.url + SEARCH,
        params={"jql": EVERYTHING, "fields": "project", "maxResults": 100},
        auth=limited,
        timeout=10,
    ).json()["issues"]
    assert seen and {issue["fields"]["project"]["key"] for issue in seen} == {"ENG"}
    hidden = requests.get(f"{jira.url}/rest/api/3/issue/{other['key']}", auth=limited, timeout=10)
    assert hidden.status_code == 404
    fetched = requests.post(
        jira.url + "/rest/api/3/issue/bulkfetch",
        json={"issueIdsOrKeys": [other["key"]]},
        auth=limited,
        timeout=10,
    ).json()
    assert fetched["issues"] == [] and fetched["issueErrors"][0]["id"] == other["key"]
    assert requests.get(jira.url + "/rest/api/3/auditing/record", auth=limited, timeout=10).status_code == 403


def test_time_zone_change_shows_in_myself(jira: FakeJira, http: requests.Session) -> None:
    accounts = http.get(jira.url + "/_fakejira/accounts").json()
    demo = next(a for a in accounts if a["email"] == jira.email)
    assert {a["email"] for a in accounts} >= {"demo@example.com", "limited@example.com", "bot@example.com"}
    changed = http.put(f"{jira.url}/_fakejira/accounts/{demo['accountId']}", json={"timeZone": "Asia/Tokyo"})
    assert changed.json()["timeZone"] == "Asia/Tokyo"
    assert http.get(jira.url + "/rest/api/3/myself").json()["timeZone"] == "Asia/Tokyo"
    bad = http.put(f"{jira.url}/_fakejira/accounts/{demo['accountId']}", json={"timeZone": "Mars/Olympus"})
    assert bad.status_code == 400


# ----- control API --------------------------------------------------------------------------------
def test_control_create_update_delete(jira: FakeJira, http: requests.Session) -> None:
    control = jira.url + "/_fakejira"
    created = http.post(control + "/issues", json={"project": "OPS", "fields": {"summary": "new"}})
    assert created.status_code == 201
    key = created.json()["key"]
    first = created.json()["fields"]["updated"]
    stamps = [
        http.put(f"{control}/issues/{key}", json={"fields": {"priority": name}}).json()["fields"]["updated"]
        for name in ("High", "Low", "High")
    ]
    assert first < stamps[0] < stamps[1] < stamps[2]  # strictly increasing even within one millisecond
    history = http.get(f"{jira.url}/rest/api/3/issue/{key}/changelog").json()["values"]
    assert [h["items"][0]["toString"] for h in history] == ["High", "Low", "High"]
    http.put(f"{control}/issues/{key}", json={"fields": {"status": "Done"}})
    done = http.get(
        f"{jira.url}/rest/api/3/issue/{key}", params={"fields": "resolution,resolutiondate"}
    ).json()
    assert done["fields"]["resolution"]["name"] == "Done" and done["fields"]["resolutiondate"]
    assert http.delete(f"{control}/issues/{key}").json()["deleted"] is True
    assert http.get(f"{jira.url}/rest/api/3/issue/{key}").status_code == 404
    truth = {row["key"]: row for row in http.get(control + "/ground-truth").json()}
    assert truth[key]["deleted"] is True
    audit = http.get(jira.url + "/rest/api/3/auditing/record").json()["records"]
    assert audit[0]["summary"] == "Issue deleted" and audit[0]["objectItem"]["name"] == key


def test_control_move_keeps_id_and_old_key(jira: FakeJira, http: requests.Session) -> None:
    row = next(r for r in jira.ground_truth() if r["project"] == "ENG")
    moved = http.post(f"{jira.url}/_fakejira/issues/{row['key']}/move", json={"project": "DATA"}).json()
    assert moved["id"] == row["id"] and moved["key"].startswith("DATA-")
    via_old = http.get(f"{jira.url}/rest/api/3/issue/{row['key']}", params={"fields": "project"}).json()
    assert via_old["key"] == moved["key"] and via_old["fields"]["project"]["key"] == "DATA"
    items = http.get(f"{jira.url}/rest/api/3/issue/{row['id']}/changelog").json()["values"][-1]["items"]
    assert {"Key", "project"} <= {item["field"] for item in items}


def test_control_comments_and_worklogs_bump_updated(jira: FakeJira, http: requests.Session) -> None:
    key = jira.ground_truth()[2]["key"]
    before = jira.site.get_issue(key)["fields"]["updated"]
    comment = http.post(f"{jira.url}/_fakejira/issues/{key}/comments", json={"body": "naïve 東京 🚀"})
    assert comment.status_code == 201
    after_comment = jira.site.get_issue(key)["fields"]["updated"]
    assert after_comment > before
    comments = http.get(f"{jira.url}/rest/api/3/issue/{key}/comment").json()
    assert comments["comments"][-1]["body"]["content"][0]["content"][0]["text"] == "naïve 東京 🚀"
    worklog = http.post(f"{jira.url}/_fakejira/issues/{key}/worklogs", json={"seconds": 5400}).json()
    assert jira.site.get_issue(key)["fields"]["updated"] > after_comment
    listed = http.post(jira.url + "/rest/api/3/worklog/list", json={"ids": [int(worklog["id"])]}).json()
    assert listed[0]["timeSpentSeconds"] == 5400 and listed[0]["timeSpent"] == "1h 30m"


def test_request_log_counts_endpoints_and_records_jql(jira: FakeJira, http: requests.Session) -> None:
    http.delete(jira.url + "/_fakejira/requests")
    http.get(jira.url + SEARCH, params={"jql": "project = ENG"})
    http.get(jira.url + "/rest/api/3/issue/ENG-1")
    http.get(jira.url + "/rest/api/3/issue/ENG-2")
    log = http.get(jira.url + "/_fakejira/requests").json()
    assert log["counts"] == {"GET /rest/api/3/search/jql": 1, "GET /rest/api/3/issue/{issueIdOrKey}": 2}
    assert log["requests"][0]["jql"] == "project = ENG" and log["requests"][0]["status"] == 200
    jira.reset_request_log()
    assert jira.request_log()["total"] == 0


def test_control_faults_apply_to_rest_only(jira: FakeJira, http: requests.Session) -> None:
    settings = http.put(jira.url + "/_fakejira/faults", json={"script": ["503-retry"]}).json()
    assert settings["script"] == ["503-retry"]
    assert http.get(jira.url + "/_fakejira/ground-truth").status_code == 200  # control is never faulted
    failed = http.get(jira.url + "/rest/api/3/myself")
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert http.get(jira.url + "/rest/api/3/myself").status_code == 200
    assert http.put(jira.url + "/_fakejira/faults", json={"no_such": 1}).status_code == 400


def test_search_lag_hides_new_issues_until_reconciled(jira: FakeJira, http: requests.Session) -> None:
    jira.set_faults(search_lag_ms=600_000)
    created = jira.create_issue("ENG", {"summary": "fresh"})
    jql = f"key = {created['key']}"
    assert http.get(jira.url + SEARCH, params={"jql": jql}).json()["issues"] == []
    assert http.get(f"{jira.url}/rest/api/3/issue/{created['key']}").status_code == 200
    reconciled = http.post(
        jira.url + SEARCH, json={"jql": jql, "reconcileIssues": [int(created["id"])]}
    ).json()
    assert reconciled["issues"] == [{"id": created["id"]}]
    jira.set_faults(search_lag_ms=0)
    assert http.get(jira.url + SEARCH, params={"jql": jql}).json()["issues"] == [{"id": created["id"]}]


# ----- generated data -----------------------------------------------------------------------------------
def test_changelogs_replay_to_the_current_values(jira: FakeJira, http: requests.Session) -> None:
    """The last change of each field in the (untruncated) changelog is the issue's current value."""
    rows = [row for row in jira.ground_truth() if not row["deleted"]]
    ids = [row["id"] for row in rows]
    logs = http.post(jira.url + "/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": ids}).json()
    assert "nextPageToken" not in logs
    last: dict[tuple[str, str], str | None] = {}
    for entry in logs["issueChangeLogs"]:
        for history in entry["changeHistories"]:
            for item in history["items"]:
                last[(entry["issueId"], item["field"])] = item.get("toString")
    fields = "status,assignee,priority,labels,summary,resolution"
    issues = http.post(
        jira.url + "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": ids, "fields": [fields]}
    )
    current = {issue["id"]: issue["fields"] for issue in issues.json()["issues"]}
    shown = {
        "status": lambda f: f["status"]["name"],
        "assignee": lambda f: f["assignee"]["displayName"] if f["assignee"] else None,
        "priority": lambda f: f["priority"]["name"],
        "labels": lambda f: " ".join(f["labels"]) or None,
        "summary": lambda f: f["summary"],
        "resolution": lambda f: f["resolution"]["name"] if f["resolution"] else None,
    }
    checked = 0
    for (issue_id, field), value in last.items():
        if field in shown:
            assert shown[field](current[issue_id]) == (value or None), (issue_id, field)
            checked += 1
    assert checked > 100


def test_site_shape(jira: FakeJira, http: requests.Session) -> None:
    """Epics, sub-tasks with parents, resolution iff done, hidden emails, inactive users, same-minute edits"""
    page = http.get(
        jira.url + SEARCH,
        params={
            "jql": EVERYTHING,
            "fields": "issuetype,parent,status,resolution,updated,assignee",
            "maxResults": 100,
        },
    ).json()
    issues = page["issues"]
    types = {issue["fields"]["issuetype"]["name"] for issue in issues}
    assert {"Epic", "Sub-task", "Story"} <= types
    child = next(i for i in issues if i["fields"]["issuetype"]["name"] == "Sub-task")
    assert set(child["fields"]["parent"]) == {"id", "key", "self", "fields"}
    for issue in issues:
        done = issue["fields"]["status"]["statusCategory"]["key"] == "done"
        assert (issue["fields"]["resolution"] is not None) == done
    users = http.get(jira.url + "/rest/api/3/users/search", params={"maxResults": 1000}).json()
    assert any("emailAddress" not in u for u in users) and any(not u["active"] for u in users)
    minutes = [issue["fields"]["updated"][:16] for issue in issues]
    assert max(minutes.count(m) for m in minutes) >= 2
