"""The emulator misbehaves like Jira Cloud on demand: rate limits, 5xx, dropped and cut connections, lag.

A client's retry logic is only as good as the failures it was tested against, so each fault is checked
from the client's side of a real socket: the status and headers Jira sends on a 429, the exception
``requests`` raises for a dropped or truncated answer, and search results that trail writes. Nothing
here asserts a duration: refills are observed with bounded polling loops, and lag by setting it above or
below the age of a write (which only grows), so no outcome depends on how fast the machine is.
"""

from __future__ import annotations

import time
from collections import Counter

import fixtures_faults
import pytest
import requests
from fixtures_conformance import TIMEOUT, JiraHttp, live_ground_truth
from openapi_check import assert_conforms

from fakejira import FakeJira

# The module-scoped emulator, its calm reset and HTTP helper (shared with the other fault tests):
jira, api, calm = fixtures_faults.jira, fixtures_faults.api, fixtures_faults.calm
eventually = fixtures_faults.eventually
SEED = 31  # the emulator fixture's seed (fixtures_faults.jira)
MYSELF = "/rest/api/3/myself"






def control_put_faults(api: JiraHttp, **settings: object) -> requests.Response:
    return api.session.put(api.url("/_fakejira/faults"), json=settings, timeout=TIMEOUT)


# --- rate limit ----------------------------------------------------------------------------------


def test_empty_bucket_answers_429_with_jira_headers(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(rate_limit=0.5, rate_limit_capacity=3)
    statuses = []
    limited = None
    for _ in range(50):
        response = api.get(MYSELF)
        statuses.append(response.status_code)
        if response.status_code == 429:
            limited = response
            break
        assert response.status_code == 200
        assert int(response.headers["X-RateLimit-Limit"]) == 3
        assert 0 <= int(response.headers["X-RateLimit-Remaining"]) < 3
    assert limited is not None, f"the bucket never emptied: {statuses}"
    assert statuses.count(200) >= 3, "a full bucket serves its capacity first"
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Reset"]
    assert limited.headers["RateLimit-Reason"]
    if "json" in limited.headers.get("Content-Type", ""):
        assert_conforms(limited)


def test_bucket_refills(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(rate_limit=1, rate_limit_capacity=1)
    assert eventually(lambda: api.get(MYSELF).status_code == 429, pause=0), "bucket never emptied"
    assert eventually(lambda: api.get(MYSELF).status_code == 200), "bucket never refilled"


def test_rate_limit_spares_the_control_api(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(rate_limit=0.01, rate_limit_capacity=1)
    assert eventually(lambda: api.get(MYSELF).status_code == 429, pause=0)
    for _ in range(5):
        assert api.session.get(api.url("/_fakejira/requests"), timeout=TIMEOUT).status_code == 200


# --- 5xx -----------------------------------------------------------------------------------------


def test_error_rate_one_fails_every_rest_request(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(error_rate=1.0, seed=3)
    responses = [api.get(MYSELF) for _ in range(40)]
    kinds = Counter(response.status_code for response in responses)
    assert set(kinds) <= {500, 502, 503} and len(kinds) >= 2, kinds
    retry_after = [r for r in responses if r.status_code == 503 and "Retry-After" in r.headers]
    assert retry_after, "some 503s carry Retry-After, as Jira's do"
    assert all(int(r.headers["Retry-After"]) >= 0 for r in retry_after)


def test_error_rate_is_a_share(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(error_rate=0.3, seed=5)
    failed = sum(api.get(MYSELF).status_code >= 500 for _ in range(200))
    assert 30 <= failed <= 90, failed


def test_scripted_fault_hits_exactly_the_next_request(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(script=["503-retry", "ok", "500"])
    first, second, third, fourth = (api.get(MYSELF) for _ in range(4))
    assert first.status_code == 503 and "Retry-After" in first.headers
    assert second.status_code == 200
    assert third.status_code == 500
    assert fourth.status_code == 200


# --- broken connections --------------------------------------------------------------------------


def test_dropped_connection_is_a_connection_error(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(script=["drop"])
    with pytest.raises(requests.ConnectionError):
        requests.get(api.url(MYSELF), auth=api.session.auth, timeout=TIMEOUT)
    assert api.get(MYSELF).status_code == 200, "only the scripted request fails"


def test_truncated_body_is_an_incomplete_read(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(script=["truncate"])
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        requests.post(
            api.url("/rest/api/3/search/jql"),
            json={"jql": "created >= 2000-01-01", "fields": ["*all"], "maxResults": 20},
            auth=api.session.auth,
            timeout=TIMEOUT,
        )
    assert api.get(MYSELF).status_code == 200


def test_drop_and_truncate_rates(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(drop_rate=0.5, truncate_rate=0.5, seed=9)
    outcomes: Counter[str] = Counter()
    for _ in range(30):
        try:
            response = requests.get(api.url(MYSELF), auth=api.session.auth, timeout=TIMEOUT)
            outcomes[str(response.status_code)] += 1
        except requests.exceptions.ChunkedEncodingError:
            outcomes["truncated"] += 1
        except requests.ConnectionError:
            outcomes["dropped"] += 1
    assert outcomes["dropped"] and outcomes["truncated"] and not outcomes["200"], outcomes


# --- latency and configuration -------------------------------------------------------------------


def test_latency_is_configured_and_reported(jira: FakeJira, api: JiraHttp) -> None:
    response = control_put_faults(api, latency_ms=40)
    assert response.status_code == 200
    assert response.json()["latency_ms"] == 40
    reported = api.session.get(api.url("/_fakejira/faults"), timeout=TIMEOUT).json()
    assert reported["latency_ms"] == 40
    assert jira.set_faults(latency_ms=15)["latency_ms"] == 15
    assert api.session.get(api.url("/_fakejira/faults"), timeout=TIMEOUT).json()["latency_ms"] == 15
    assert api.get(MYSELF).status_code == 200


def test_faults_via_http_control_api(api: JiraHttp) -> None:
    assert control_put_faults(api, error_rate=1.0).status_code == 200
    assert api.get(MYSELF).status_code >= 500
    assert control_put_faults(api, error_rate=0).status_code == 200
    assert api.get(MYSELF).status_code == 200


def test_bad_fault_settings_are_refused(api: JiraHttp) -> None:
    assert control_put_faults(api, error_rate=2).status_code == 400
    assert control_put_faults(api, bogus=1).status_code == 400
    assert control_put_faults(api, script=["explode"]).status_code == 400


def test_control_api_never_faulted(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(error_rate=1.0, latency_ms=0, script=["drop", "truncate"])
    for path in ("/_fakejira/requests", "/_fakejira/ground-truth", "/_fakejira/accounts"):
        assert api.session.get(api.url(path), timeout=TIMEOUT).status_code == 200, path
    with pytest.raises(requests.ConnectionError):  # the script is still waiting for a /rest/ request
        requests.get(api.url(MYSELF), auth=api.session.auth, timeout=TIMEOUT)


# --- eventual consistency ------------------------------------------------------------------------


LAG = 60_000
"""Index lag (ms) far longer than any test takes: a write made here cannot age past it."""


def catch_up_with(written: float) -> float:
    """Set the index lag below the age of a write finished at monotonic `written`: the write is then older
    than the lag whenever search looks, since its age only grows (no waiting, no timing)."""
    lag_ms = (time.monotonic() - written) * 1000 / 2
    assert lag_ms > 0
    return lag_ms


def test_search_lags_behind_writes(jira: FakeJira, api: JiraHttp) -> None:
    row = live_ground_truth(jira)[0]
    key = row["key"]
    before = api.search_all(f"key = {key}", "labels")[0]["fields"]["labels"]
    jira.set_faults(search_lag_ms=LAG)
    jira.update_issue(key, {"labels": ["lagging-a"]})
    written = time.monotonic()
    assert api.search_all("labels = lagging-a", "key") == [], (
        "search saw the write before the index lag passed"
    )
    assert api.search_all(f"key = {key}", "labels")[0]["fields"]["labels"] == before  # the old version
    assert api.ok_get(f"/rest/api/3/issue/{key}")["fields"]["labels"] == ["lagging-a"]  # reads are current
    jira.set_faults(search_lag_ms=catch_up_with(written))
    assert [issue["key"] for issue in api.search_all("labels = lagging-a", "key")] == [key]


def test_new_issue_reaches_search_late_but_get_at_once(jira: FakeJira, api: JiraHttp) -> None:
    project = live_ground_truth(jira)[0]["project"]
    jira.set_faults(search_lag_ms=LAG)
    key = jira.create_issue(project, {"summary": "fresh"})["key"]
    written = time.monotonic()

    def listed() -> bool:
        return key in {issue["key"] for issue in api.search_all(f"project = {project}", "key", 5000)}

    assert not listed(), "search saw the new issue before the index lag passed"
    assert api.ok_get(f"/rest/api/3/issue/{key}")["key"] == key
    jira.set_faults(search_lag_ms=catch_up_with(written))
    assert listed()


def test_reconcile_issues_sees_own_writes(jira: FakeJira, api: JiraHttp) -> None:
    """``reconcileIssues`` asks for strong consistency on the listed ids, as in Jira's enhanced search."""
    row = live_ground_truth(jira)[2]
    jira.set_faults(search_lag_ms=60_000)
    jira.update_issue(row["key"], {"labels": ["reconciled-label"]})
    jql = "labels = reconciled-label"
    assert api.search_all(jql, "key") == []
    page = api.ok_post(
        "/rest/api/3/search/jql", {"jql": jql, "fields": ["labels"], "reconcileIssues": [int(row["id"])]}
    )
    assert [issue["key"] for issue in page["issues"]] == [row["key"]]
    assert page["issues"][0]["fields"]["labels"] == ["reconciled-label"]
