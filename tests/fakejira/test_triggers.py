"""Triggers for the sync's defences, on demand: listings that skip ids, errors that repeat the credential,
issues a bulk fetch cannot serve. Each from the Python API and from the /_fakejira/ control API, and every
answer still valid against Jira's OpenAPI document."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from fixtures_conformance import TIMEOUT, JiraHttp, http_for, live_ground_truth
from openapi_check import assert_conforms

from fakejira import FakeJira
from fakejira.generator import BEARER_TOKEN
from fakejira.rest_api import UNSERVED_ISSUE

BY_KEY = 'created >= "2000/01/01" ORDER BY key ASC'
BULK = "/rest/api/3/issue/bulkfetch"


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=60, seed=21) as running:
        yield running


@pytest.fixture
def api(jira: FakeJira) -> JiraHttp:
    return http_for(jira)


def control(api: JiraHttp, method: str, path: str, body: object = None) -> requests.Response:
    return api.session.request(method, api.url(path), json=body, timeout=TIMEOUT)


def listed(api: JiraHttp, jql: str = BY_KEY) -> list[str]:
    return [issue["id"] for issue in api.search_all(jql, "id", 5000, method="POST")]


def test_search_page_cap_makes_small_pages(jira: FakeJira, api: JiraHttp) -> None:
    assert control(api, "PUT", "/_fakejira/faults", {"search_page_cap": 7}).json()["search_page_cap"] == 7
    pages = list(api.search_pages(BY_KEY, "id", 5000, method="POST"))
    assert [len(page["issues"]) for page in pages[:-1]] == [7] * (len(pages) - 1)
    assert sorted(issue["id"] for page in pages for issue in page["issues"]) == sorted(
        row["id"] for row in live_ground_truth(jira)
    )
    jira.set_faults(search_page_cap=0)
    assert len(list(api.search_pages(BY_KEY, "id", 5000))) == 1


def test_skip_ids_in_listing_removes_served_issues_and_skips_as_many(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(search_page_cap=10)
    churn = jira.skip_ids_in_listing(BY_KEY, count=2)
    listing = listed(api)
    live = {row["id"] for row in live_ground_truth(jira)}
    assert len(churn.removed) == len(churn.skipped) == 2
    assert not set(churn.removed) & live  # deleted, and had been served
    assert set(churn.removed) <= set(listing)
    assert live - set(listing) == set(churn.skipped)  # live, never served
    assert listed(api) and set(listed(api)) == live  # once: the next listing is whole


def test_skip_ids_waits_for_its_jql_and_page(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(search_page_cap=10)
    churn = jira.skip_ids_in_listing(lambda jql: "ORDER BY key" in jql, after_page=3)
    listed(api, 'created >= "2000/01/01" ORDER BY created ASC')
    assert churn.removed == []
    listing = listed(api)
    assert len(churn.removed) == 1 and churn.skipped[0] not in listing


def test_skip_ids_from_the_control_api(jira: FakeJira, api: JiraHttp) -> None:
    control(api, "PUT", "/_fakejira/faults", {"search_page_cap": 10})
    armed = control(api, "POST", "/_fakejira/search-hooks/skip-ids", {"jql": BY_KEY, "count": 1})
    assert armed.status_code == 201 and armed.json()["removed"] == []
    listing = listed(api)
    (hook,) = control(api, "GET", "/_fakejira/search-hooks").json()
    assert len(hook["removed"]) == len(hook["skipped"]) == 1 and hook["skipped"][0] not in listing
    assert control(api, "DELETE", "/_fakejira/search-hooks").json() == {"cleared": True}
    assert control(api, "GET", "/_fakejira/search-hooks").json() == []
    assert control(api, "POST", "/_fakejira/search-hooks/skip-ids", {"count": 0}).status_code == 400


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_echoed_credentials_repeat_the_header_and_the_token(
    jira: FakeJira, api: JiraHttp, status: int
) -> None:
    jira.set_faults(echo_credentials=[status])
    answer = api.get("/rest/api/3/myself")
    assert answer.status_code == status
    body = assert_conforms(answer)
    basic = base64.b64encode(f"{jira.email}:{jira.token}".encode()).decode()
    text = " ".join(body["errorMessages"])
    assert f"Basic {basic}" in text and jira.token in text
    assert body["errors"] == {"authorization": f"Basic {basic}"}
    assert api.get("/rest/api/3/myself").status_code == 200  # one queued status, one answer


def test_echoed_credentials_from_the_control_api_and_for_a_bearer_token(api: JiraHttp) -> None:
    control(api, "PUT", "/_fakejira/faults", {"echo_credentials": [403, 400]})
    bearer = {"Authorization": f"Bearer {BEARER_TOKEN}"}
    first = requests.get(api.url("/rest/api/3/myself"), headers=bearer, timeout=TIMEOUT)
    second = requests.post(
        api.url("/rest/api/3/search/jql"), json={"jql": BY_KEY}, headers=bearer, timeout=TIMEOUT
    )
    assert (first.status_code, second.status_code) == (403, 400)
    for answer in (first, second):
        assert BEARER_TOKEN in " ".join(assert_conforms(answer)["errorMessages"])
    assert control(api, "GET", "/_fakejira/faults").json()["echo_credentials"] == []


def test_bulkfetch_unserved_for_the_next_calls(jira: FakeJira, api: JiraHttp) -> None:
    ids = [row["id"] for row in live_ground_truth(jira)][:5]
    jira.set_faults(bulkfetch_unserved=1)
    first = api.ok_post(BULK, {"issueIdsOrKeys": [*ids, "999999"]})
    assert first["issues"] == []
    assert first["issueErrors"][:5] == [{"id": i, "errorMessage": UNSERVED_ISSUE} for i in ids]
    assert "does not exist" in first["issueErrors"][-1]["errorMessage"]  # a missing one stays missing
    assert "does not exist" not in UNSERVED_ISSUE.lower() and "permission" not in UNSERVED_ISSUE.lower()
    second = api.ok_post(BULK, {"issueIdsOrKeys": ids})
    assert [issue["id"] for issue in second["issues"]] == sorted(ids, key=int)
    assert second["issueErrors"] == []


def test_bulkfetch_unserved_ids_persist_until_cleared(jira: FakeJira, api: JiraHttp) -> None:
    rows = live_ground_truth(jira)[:4]
    control(api, "PUT", "/_fakejira/faults", {"bulkfetch_unserved_ids": [rows[0]["id"], rows[1]["key"]]})
    for _ in range(2):
        answer = api.ok_post(BULK, {"issueIdsOrKeys": [row["id"] for row in rows]})
        assert sorted(e["id"] for e in answer["issueErrors"]) == sorted([rows[0]["id"], rows[1]["id"]])
        assert {e["errorMessage"] for e in answer["issueErrors"]} == {UNSERVED_ISSUE}
        assert sorted(issue["id"] for issue in answer["issues"]) == sorted([rows[2]["id"], rows[3]["id"]])
    jira.set_faults(bulkfetch_unserved_ids=[])
    assert len(api.ok_post(BULK, {"issueIdsOrKeys": [row["id"] for row in rows]})["issues"]) == 4
