"""Real Jira client libraries work against the emulator unchanged.

The two popular Python clients, ``jira`` (pycontribs) and ``atlassian-python-api``, talk to Jira
Cloud with their default settings, which means REST v2 paths for most calls (``/rest/api/2/...``)
and v3 only for the enhanced search in ``atlassian-python-api``. If they work here with no special
options, the emulator is a credible stand-in for a Jira Cloud site.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from atlassian import Jira
from fixtures_conformance import live_ground_truth
from jira import JIRA

from fakejira import FakeJira


@pytest.fixture(scope="module")
def jira_site() -> Iterator[FakeJira]:
    with FakeJira(issues=60, seed=41) as running:
        yield running


@pytest.fixture(scope="module")
def pycontribs(jira_site: FakeJira) -> Iterator[JIRA]:
    client = JIRA(server=jira_site.url, basic_auth=(jira_site.email, jira_site.token), max_retries=0)
    yield client
    client.close()


@pytest.fixture(scope="module")
def pycontribs_v3(jira_site: FakeJira) -> Iterator[JIRA]:
    client = JIRA(
        server=jira_site.url,
        basic_auth=(jira_site.email, jira_site.token),
        options={"rest_api_version": "3"},
        max_retries=0,
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def atlassian(jira_site: FakeJira) -> Jira:
    return Jira(url=jira_site.url, username=jira_site.email, password=jira_site.token, cloud=True)


def live_keys(jira_site: FakeJira) -> set[str]:
    return {row["key"] for row in live_ground_truth(jira_site)}


# --- pycontribs/jira -----------------------------------------------------------------------------


def test_jira_package_identifies_a_cloud_site(pycontribs: JIRA) -> None:
    assert pycontribs.deploymentType == "Cloud"
    assert pycontribs.server_info()["deploymentType"] == "Cloud"


def test_jira_package_myself_and_fields(jira_site: FakeJira, pycontribs: JIRA) -> None:
    assert pycontribs.myself()["emailAddress"] == jira_site.email
    ids = {field["id"] for field in pycontribs.fields()}
    assert {"summary", "status", "updated"} <= ids


@pytest.mark.parametrize("client_name", ["pycontribs", "pycontribs_v3"])
def test_jira_package_issue(jira_site: FakeJira, client_name: str, request: pytest.FixtureRequest) -> None:
    client: JIRA = request.getfixturevalue(client_name)
    row = live_ground_truth(jira_site)[3]
    issue = client.issue(row["key"])
    assert issue.key == row["key"] and issue.id == row["id"]
    assert issue.fields.summary
    assert issue.fields.status.name
    assert issue.fields.updated == row["updated"]


@pytest.mark.parametrize("client_name", ["pycontribs", "pycontribs_v3"])
@pytest.mark.parametrize("use_post", [False, True])
def test_jira_package_enhanced_search_fetches_everything(
    jira_site: FakeJira, client_name: str, use_post: bool, request: pytest.FixtureRequest
) -> None:
    client: JIRA = request.getfixturevalue(client_name)
    issues = client.enhanced_search_issues(
        "created >= 2000-01-01 ORDER BY key ASC", maxResults=0, fields="summary,status", use_post=use_post
    )
    keys = [issue.key for issue in issues]
    assert len(keys) == len(set(keys))
    assert set(keys) == live_keys(jira_site)
    assert all(issue.fields.summary for issue in issues)


def test_jira_package_enhanced_search_pages(jira_site: FakeJira, pycontribs: JIRA) -> None:
    keys: list[str] = []
    token = None
    for _ in range(100):
        page = pycontribs.enhanced_search_issues(
            "created >= 2000-01-01", nextPageToken=token, maxResults=7, fields="key", json_result=True
        )
        keys += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if not token:
            assert page["isLast"] is True
            break
    assert sorted(keys) == sorted(live_keys(jira_site))


def test_jira_package_approximate_count(jira_site: FakeJira, pycontribs: JIRA) -> None:
    assert pycontribs.approximate_issue_count("created >= 2000-01-01") == len(live_keys(jira_site))


# --- atlassian-python-api ------------------------------------------------------------------------


def test_atlassian_myself_and_issue(jira_site: FakeJira, atlassian: Jira) -> None:
    assert atlassian.myself()["emailAddress"] == jira_site.email
    row = live_ground_truth(jira_site)[5]
    issue = atlassian.issue(row["key"])
    assert issue["id"] == row["id"] and issue["fields"]["updated"] == row["updated"]
    by_id = atlassian.get_issue(row["id"], fields=["summary", "status"])
    assert set(by_id["fields"]) == {"summary", "status"}


def test_atlassian_enhanced_jql_pages(jira_site: FakeJira, atlassian: Jira) -> None:
    keys: list[str] = []
    token = None
    for _ in range(100):
        page = atlassian.enhanced_jql(
            "created >= 2000-01-01 ORDER BY updated ASC", fields="key,updated", nextPageToken=token, limit=9
        )
        keys += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert len(keys) == len(set(keys)) and set(keys) == live_keys(jira_site)


def test_atlassian_jql_uses_enhanced_search(jira_site: FakeJira, atlassian: Jira) -> None:
    project = live_ground_truth(jira_site)[0]["project"]
    page = atlassian.jql(f"project = {project}", fields="project", limit=100)
    assert page["issues"]
    assert {issue["fields"]["project"]["key"] for issue in page["issues"]} == {project}


def test_atlassian_approximate_count(jira_site: FakeJira, atlassian: Jira) -> None:
    assert atlassian.approximate_issue_count("created >= 2000-01-01") == {"count": len(live_keys(jira_site))}


def test_clients_needed_only_served_endpoints(jira_site: FakeJira, pycontribs: JIRA, atlassian: Jira) -> None:
    """Default client settings use REST v2 paths; the emulator serves them (as Jira Cloud does)."""
    jira_site.reset_request_log()
    pycontribs.server_info()
    pycontribs.myself()
    pycontribs.fields()
    pycontribs.enhanced_search_issues("created >= 2000-01-01", maxResults=5, fields="summary")
    atlassian.myself()
    atlassian.enhanced_jql("created >= 2000-01-01", fields="summary", limit=5)
    log = jira_site.request_log()["requests"]
    paths = {entry["path"] for entry in log}
    assert {"/rest/api/2/serverInfo", "/rest/api/2/myself", "/rest/api/2/field"} <= paths
    assert {"/rest/api/2/search/jql", "/rest/api/3/search/jql"} <= paths
    assert all(entry["status"] == 200 for entry in log), log
