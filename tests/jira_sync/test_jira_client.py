"""The Jira client against the emulator over real HTTP: auth, errors, retries, pagination, bulk fetch."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import random
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import tenacity
from virtual_clock import VirtualClock

from fakejira import FakeJira
from fakejira.generator import BEARER_TOKEN, LIMITED_EMAIL, LIMITED_TOKEN
from jira_sync.jira import (
    JiraAuthError,
    JiraClient,
    JiraCredentials,
    JiraError,
    JiraRequestError,
    JiraUnavailableError,
    NextPageTokenPaginator,
    bulk_fetch,
    bulk_fetch_issues,
    iter_search_issues,
    iter_search_pages,
    source_jql,
    story_points_field_ids,
    validate_base_url,
    window_jql,
)

ALL_ISSUES_JQL = 'created >= "2000/01/01"'
RETRY_AT = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
"""The date the recorder's dated 503 asks to be retried at; the clock then reads 2 s before it."""
LONG_TOKEN = "ATATT3xFfGF0-not-the-right-token-0123456789abcdef"


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    """One read-only site for the module; tests that change issues start their own."""
    with FakeJira(issues=120, seed=1) as site:
        yield site


@pytest.fixture(autouse=True)
def _calm(jira: FakeJira) -> Iterator[None]:
    """Every test starts and ends without faults and with an empty request log."""
    jira.set_faults(script=[], rate_limit=0, error_rate=0, drop_rate=0, truncate_rate=0)
    total = -1
    for _ in range(100):  # the emulator logs a request just after answering it: let the last test's land
        if jira.request_log()["total"] == total:
            break
        total = jira.request_log()["total"]
        time.sleep(0.01)
    jira.reset_request_log()
    yield
    jira.set_faults(script=[], rate_limit=0, error_rate=0, drop_rate=0, truncate_rate=0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
    """Retry waits on a virtual clock: counted and checked, never spent (see virtual_clock.py)."""
    return VirtualClock(wall_start=RETRY_AT.timestamp() - 2).install(monkeypatch)


def make_client(site: FakeJira, **options: Any) -> JiraClient:
    """A client with a small retry budget and short backoff, so failing tests fail fast."""
    settings: dict[str, Any] = {"max_retry_seconds": 10.0, "backoff_seconds": 0.05, "timeout": 10.0}
    settings.update(options)
    return JiraClient(site.url, JiraCredentials(site.token, site.email), **settings)


def unused_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_no_secret(error: BaseException, token: str, email: str | None = None) -> None:
    """Neither the token nor the basic-auth header value may appear anywhere in what an error shows."""
    shown = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, JiraError):
        shown.extend(error.messages)
    forbidden = [token]
    if email:
        forbidden.append(base64.b64encode(f"{email}:{token}".encode()).decode())
    for text in shown:
        for secret in forbidden:
            assert secret not in text


def request_log(site: FakeJira, total: int) -> dict[str, Any]:
    """The emulator's request log once it holds ``total`` requests (it logs each just after answering)."""
    deadline = time.monotonic() + 5
    log = site.request_log()
    while log["total"] < total and time.monotonic() < deadline:
        time.sleep(0.01)
        log = site.request_log()
    return log


def live_ids(site: FakeJira) -> set[str]:
    return {str(entry["id"]) for entry in site.ground_truth() if not entry["deleted"]}


# --- auth -------------------------------------------------------------------------------------------------


def test_basic_auth_reads_the_account_and_its_time_zone(jira: FakeJira) -> None:
    with make_client(jira) as client:
        account = client.myself()
        assert account["emailAddress"] == jira.email
        assert client.time_zone().key == account["timeZone"] == "UTC"
        assert client.stats.requests == 2
        assert client.stats.retries == 0


def test_bearer_auth_without_email(jira: FakeJira) -> None:
    with JiraClient(jira.url, JiraCredentials(BEARER_TOKEN)) as client:
        assert client.myself()["displayName"] == "Integration Bot"


def test_credentials_never_show_the_token() -> None:
    basic = JiraCredentials(LONG_TOKEN, "me@example.com")
    bearer = JiraCredentials(f"  {LONG_TOKEN}\n")
    for credentials in (basic, bearer):
        assert LONG_TOKEN not in repr(credentials)
        assert LONG_TOKEN not in str(credentials)
        assert LONG_TOKEN not in repr(JiraClient("https://acme.atlassian.net", credentials))
    assert bearer.token == LONG_TOKEN and bearer.scheme == "bearer" and basic.scheme == "basic"
    with pytest.raises(ValueError, match="empty"):
        JiraCredentials("  ")


def test_wrong_token_says_401_for_whom_without_the_token(jira: FakeJira) -> None:
    client = JiraClient(jira.url, JiraCredentials(LONG_TOKEN, jira.email))
    with pytest.raises(JiraAuthError) as caught:
        client.myself()
    message = str(caught.value)
    assert caught.value.status == 401
    assert f"Jira rejected the credentials for the email {jira.email} at {jira.url} (401" in message
    assert "API token in the secret" in message
    assert "api.atlassian.com/ex/jira/<cloudId>" in message
    assert_no_secret(caught.value, LONG_TOKEN, jira.email)
    assert client.stats.requests == 1  # a 401 is never retried


def test_wrong_bearer_token_401(jira: FakeJira) -> None:
    with pytest.raises(JiraAuthError, match="for the bearer token") as caught:
        JiraClient(jira.url, JiraCredentials(LONG_TOKEN)).myself()
    assert_no_secret(caught.value, LONG_TOKEN)


def test_403_names_the_missing_permission(jira: FakeJira) -> None:
    client = JiraClient(jira.url, JiraCredentials(LIMITED_TOKEN, LIMITED_EMAIL))
    with pytest.raises(JiraAuthError) as caught:
        client.get("/rest/api/3/auditing/record")
    message = str(caught.value)
    assert caught.value.status == 403
    assert f"for {LIMITED_EMAIL}" in message and "(403 Forbidden)" in message
    assert "only Jira administrators" in message  # Jira's own reason is quoted
    assert "Browse projects" in message and "read:jira-work" in message
    assert_no_secret(caught.value, LIMITED_TOKEN, LIMITED_EMAIL)


# --- request errors ---------------------------------------------------------------------------------------


def test_bad_jql_quotes_jira_and_the_jql(jira: FakeJira) -> None:
    client = make_client(jira)
    with pytest.raises(JiraRequestError) as caught:
        client.search_page("project = = ALPHA")
    message = str(caught.value)
    assert caught.value.status == 400
    assert message.startswith("Jira rejected the JQL (400 Bad Request): Error in the JQL Query")
    assert "The JQL sent was: project = = ALPHA" in message
    assert "Fix the source's JQL" in message
    assert caught.value.messages and "Error in the JQL Query" in caught.value.messages[0]
    assert_no_secret(caught.value, jira.token, jira.email)
    assert client.stats.requests == 1


def test_unknown_field_in_jql(jira: FakeJira) -> None:
    with pytest.raises(JiraRequestError, match="Field 'bogus' does not exist"):
        make_client(jira).search_page("bogus = 1")


def test_removed_search_endpoint_is_410(jira: FakeJira) -> None:
    with pytest.raises(JiraRequestError) as caught:
        make_client(jira).get("/rest/api/3/search", params={"jql": "project = ALPHA"})
    assert caught.value.status == 410
    assert "410 Gone to GET /rest/api/3/search" in str(caught.value)
    assert "removed this API" in str(caught.value)


def test_unknown_issue_is_404_with_the_site_hint(jira: FakeJira) -> None:
    with pytest.raises(JiraRequestError) as caught:
        make_client(jira).get("/rest/api/3/issue/NOPE-999")
    assert caught.value.status == 404
    assert "Issue does not exist" in str(caught.value)
    assert "check the site URL" in str(caught.value)


# --- reaching the site ------------------------------------------------------------------------------------


def test_connection_refused_is_retried_then_names_host_and_network_rule(clock: VirtualClock) -> None:
    port = unused_loopback_port()
    client = JiraClient(
        f"http://127.0.0.1:{port}",
        JiraCredentials(LONG_TOKEN, "me@example.com"),
        max_retry_seconds=0.5,
        max_attempts=3,
        backoff_seconds=0.05,
    )
    with pytest.raises(JiraUnavailableError) as caught:
        client.myself()
    message = str(caught.value)
    assert message.startswith(f"cannot reach 127.0.0.1:{port}: connection refused")
    assert "EXTERNAL ACCESS INTEGRATION's network rule allows 127.0.0.1" in message
    assert (client.stats.requests, client.stats.retries, len(clock.sleeps)) == (3, 2, 2)
    assert clock.slept <= 0.05 + 0.1  # full jitter: at most 0.05 s, then at most 0.1 s
    assert_no_secret(caught.value, LONG_TOKEN, "me@example.com")


def test_unknown_host_fails_at_once() -> None:
    client = JiraClient("https://nonexistent.invalid", JiraCredentials(LONG_TOKEN, "me@example.com"))
    with pytest.raises(JiraUnavailableError) as caught:
        client.myself()
    message = str(caught.value)
    assert message.startswith("cannot reach nonexistent.invalid: the host name does not resolve")
    assert "network rule allows nonexistent.invalid:443" in message
    assert client.stats.requests == 1  # a name that does not exist will not start existing
    assert_no_secret(caught.value, LONG_TOKEN, "me@example.com")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
        ("  https://acme.atlassian.net  ", "https://acme.atlassian.net"),
        (
            "https://api.atlassian.com/ex/jira/1a2b3c4d-5e6f/",
            "https://api.atlassian.com/ex/jira/1a2b3c4d-5e6f",
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://jira.example.com/proxy/", "https://jira.example.com/proxy"),
    ],
)
def test_base_urls_are_normalised(given: str, expected: str) -> None:
    assert validate_base_url(given) == expected


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("acme.atlassian.net", "must start with https://"),
        ("ftp://acme.atlassian.net", "must start with https://"),
        ("https://", "must start with https://"),
        ("https://acme.atlassian.net?x=1", "query or fragment"),
        ("https://acme.atlassian.net/#top", "query or fragment"),
        ("https://me:secret@acme.atlassian.net", "must not contain credentials"),
        ("https://acme.atlassian.net/rest/api/3", "without /rest/"),
        ("https://api.atlassian.com", "lacks the site's cloudId"),
        ("https://api.atlassian.com/ex/jira", "lacks the site's cloudId"),
        ("https://acme.atlassian.net/jira/software/projects/ABC", "has no path"),
        ("https://acme.atlassian.net:99999", "not a valid URL"),
    ],
)
def test_bad_base_urls_say_what_to_fix(given: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        validate_base_url(given)
    with pytest.raises(ValueError, match=complaint):
        JiraClient(given, JiraCredentials(LONG_TOKEN))


# --- retries ----------------------------------------------------------------------------------------------


def test_429_waits_as_long_as_retry_after_and_is_counted(jira: FakeJira, clock: VirtualClock) -> None:
    jira.set_faults(script=["429", "429"])
    client = make_client(jira)
    assert client.myself()["emailAddress"] == jira.email
    assert client.stats.requests == 3
    assert client.stats.retries == 2
    assert client.stats.rate_limited == 2
    assert len(clock.sleeps) == 2 and min(clock.sleeps) >= 1.0  # the emulator says Retry-After: 1 each time
    assert client.stats.waited_seconds == pytest.approx(clock.slept, abs=0.002)
    # The emulator logs a request just after answering it, so the previous test's last request may still
    # land in the log after this test reset it: look at the last three.
    deadline, statuses = time.monotonic() + 5, []
    while statuses[-3:] != [429, 429, 200] and time.monotonic() < deadline:
        statuses = [entry["status"] for entry in jira.request_log()["requests"]]
        time.sleep(0.01)
    assert statuses[-3:] == [429, 429, 200]


def test_503_with_retry_after_and_other_5xx_are_retried(jira: FakeJira, clock: VirtualClock) -> None:
    jira.set_faults(script=["503-retry", "500", "502", "503", "504"])
    client = make_client(jira)
    page = client.search_page(ALL_ISSUES_JQL, max_results=10)
    assert len(page["issues"]) == 10
    assert client.stats.retries == 5 and client.stats.requests == 6
    assert len(clock.sleeps) == 5 and clock.sleeps[0] >= 1.0  # Retry-After: 1 on the first, backoff after
    assert max(clock.sleeps[1:]) <= 0.05 * 2**4  # the others: full-jitter backoff, never a Retry-After
    assert client.stats.rate_limited == 0


def test_dropped_connections_and_truncated_bodies_are_retried(jira: FakeJira, clock: VirtualClock) -> None:
    jira.set_faults(script=["drop", "truncate", "drop", "truncate"])
    client = make_client(jira)
    assert client.fields()  # GET
    jira.set_faults(script=["truncate", "drop"])
    page = client.search_page(ALL_ISSUES_JQL, fields=["summary", "updated"], max_results=50)  # POST
    assert len(page["issues"]) == 50
    assert client.stats.retries == 6 and client.stats.requests == 8


def test_rate_limit_that_never_ends_exhausts_the_attempts(jira: FakeJira, clock: VirtualClock) -> None:
    jira.set_faults(script=["429"] * 10)
    client = make_client(jira, max_attempts=3)
    with pytest.raises(JiraUnavailableError) as caught:
        client.myself()
    message = str(caught.value)
    assert message.startswith("Jira kept answering 429 Too Many Requests (rate limited")
    assert "over 3 attempts (GET /rest/api/3/myself)" in message
    assert "lower the sync's parallelism or schedule it less often" in message
    assert caught.value.status == 429
    assert client.stats.requests == 3 and client.stats.retries == 2
    assert_no_secret(caught.value, jira.token, jira.email)


def test_retry_after_beyond_the_budget_stops_at_once(jira: FakeJira, clock: VirtualClock) -> None:
    jira.set_faults(rate_limit=0.01, rate_limit_capacity=1)  # one request, then Retry-After: 100
    client = make_client(jira, max_retry_seconds=5)
    client.myself()
    with pytest.raises(JiraUnavailableError) as caught:
        client.myself()
    message = str(caught.value)
    assert "over 1 attempt" in message
    assert "asked to wait 100 s (Retry-After), more than the" in message
    assert client.stats.requests == 2 and client.stats.retries == 0 and clock.sleeps == []


@pytest.mark.parametrize(
    ("budget", "waits"),
    [
        (10.0, [4.0, 6.0]),  # the second wait (8 s by backoff) is cut to the 6 s left: the last try at 10 s
        (4.5, [4.0, 0.5]),  # half a second left is still waited for and tried
        (4.0, [4.0]),  # nothing left after the first wait: its try is the last
    ],
)
def test_retries_use_the_budget_to_its_end_and_stop_there(
    jira: FakeJira,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    budget: float,
    waits: list,
) -> None:
    """Time only moves by the waits (a frozen clock) and the jitter draws its maximum, so each wait is exact:
    4 s, then 8 s by backoff, each cut to what is left of the budget; at the budget's end the retries stop."""
    clock = VirtualClock(frozen=True).install(monkeypatch)
    monkeypatch.setattr(tenacity.wait.random, "uniform", lambda low, high: high)
    jira.set_faults(script=["503"] * 20)
    client = make_client(jira, max_retry_seconds=budget, backoff_seconds=4.0, max_attempts=20)
    with (
        caplog.at_level(logging.WARNING, logger="jira_sync.jira.client"),
        pytest.raises(JiraUnavailableError),
    ):
        client.myself()
    assert clock.sleeps == waits
    assert client.stats.requests == len(waits) + 1 and client.stats.retries == len(waits)
    retried = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert retried == [
        f"Jira GET /rest/api/3/myself: 503 Service Unavailable; attempt {n} of 20 failed, "
        f"retrying in {wait:.1f} s"
        for n, wait in enumerate(waits, start=1)
    ]


def test_5xx_that_never_ends_names_jira_trouble(jira: FakeJira, clock: VirtualClock) -> None:
    jira.set_faults(script=["502"] * 10)
    client = make_client(jira, max_attempts=2)
    with pytest.raises(JiraUnavailableError, match=r"kept answering 502 Bad Gateway .* over 2 attempts"):
        client.fields()


def test_retries_are_counted_exactly_across_threads(jira: FakeJira) -> None:
    jira.set_faults(drop_rate=0.25, seed=7)
    with make_client(jira, workers=8) as client:
        accounts = client.run_parallel(lambda _: client.myself()["accountId"], range(40))
        assert len(set(accounts)) == 1
        log = request_log(jira, client.stats.requests)["requests"]
        assert client.stats.requests == len(log)
        assert client.stats.retries == sum(1 for entry in log if entry.get("fault") == "drop")
        assert client.stats.retries > 0


# --- search and bulk fetch --------------------------------------------------------------------------------


def test_pagination_reads_every_issue_once(jira: FakeJira) -> None:
    client = make_client(jira)
    pages = list(iter_search_pages(client, ALL_ISSUES_JQL, max_results=7))
    ids = [issue["id"] for page in pages for issue in page["issues"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == live_ids(jira)
    assert len(pages) == -(-len(ids) // 7)
    assert pages[-1].get("isLast") is True and not pages[-1].get("nextPageToken")
    assert all(page.get("nextPageToken") for page in pages[:-1])
    assert [issue["id"] for issue in iter_search_issues(client, ALL_ISSUES_JQL, max_results=50)] == ids
    counts = request_log(jira, client.stats.requests)["counts"]
    assert "POST /rest/api/3/search/jql" in counts and "GET /rest/api/3/search" not in counts


def test_pagination_survives_faults_mid_walk(jira: FakeJira) -> None:
    jira.set_faults(error_rate=0.2, drop_rate=0.1, truncate_rate=0.1, seed=3)
    client = make_client(jira)
    ids = [issue["id"] for issue in iter_search_issues(client, ALL_ISSUES_JQL, max_results=10)]
    assert sorted(ids) == sorted(live_ids(jira))
    assert client.stats.retries > 0


def test_paginator_refuses_a_repeated_token() -> None:
    paginator = NextPageTokenPaginator()
    assert paginator.next_request() == {}
    paginator.update_state({"issues": [], "nextPageToken": "a", "isLast": False})
    assert paginator.next_request() == {"nextPageToken": "a"}
    paginator.update_state({"issues": [], "nextPageToken": "b"})
    with pytest.raises(JiraRequestError, match="same nextPageToken twice"):
        paginator.update_state({"issues": [], "nextPageToken": "a", "isLast": False})


def test_paginator_ends_on_is_last_or_on_a_missing_token() -> None:
    ends_by_flag = NextPageTokenPaginator()
    ends_by_flag.update_state({"issues": [], "nextPageToken": "a", "isLast": True})
    ends_by_token = NextPageTokenPaginator()
    ends_by_token.update_state({"issues": [], "isLast": False})
    assert not ends_by_flag.has_next_page and not ends_by_token.has_next_page


def test_bulk_fetch_keeps_input_order_across_parallel_chunks(jira: FakeJira) -> None:
    ids = sorted(live_ids(jira))
    random.Random(5).shuffle(ids)
    with make_client(jira, workers=4) as client:
        issues = bulk_fetch(client, ids, fields=["summary", "updated"])
        assert [issue["id"] for issue in issues] == ids
        assert all(set(issue["fields"]) == {"summary", "updated"} for issue in issues)
        assert client.bulk_fetch(ids[:3]) == bulk_fetch(client, ids[:3])
    assert len(ids) > 100
    chunks = -(-len(ids) // 100)
    assert request_log(jira, chunks + 2)["counts"]["POST /rest/api/3/issue/bulkfetch"] == chunks + 2


def test_bulk_fetch_accepts_keys_and_drops_duplicates(jira: FakeJira) -> None:
    client = make_client(jira)
    first = client.search_page(ALL_ISSUES_JQL, fields=["key"], max_results=3)["issues"]
    handles = [first[0]["key"], first[1]["id"], first[0]["id"], first[2]["key"], first[1]["id"]]
    fetched = bulk_fetch_issues(client, handles, fields=["summary"])
    assert [issue["id"] for issue in fetched.issues] == [first[0]["id"], first[1]["id"], first[2]["id"]]
    assert fetched.missing == [] and fetched.errors == []


def test_bulk_fetch_skips_issues_deleted_after_the_search() -> None:
    with FakeJira(issues=30, seed=2) as site:
        client = make_client(site)
        ids = [issue["id"] for issue in iter_search_issues(client, ALL_ISSUES_JQL)]
        gone = [ids[3], ids[10]]
        for issue_id in gone:
            site.delete_issue(issue_id)
        result = bulk_fetch_issues(client, ids)
        assert result.missing == gone
        assert result.errors == []
        assert [issue["id"] for issue in result.issues] == [i for i in ids if i not in gone]
        assert [issue["id"] for issue in bulk_fetch(client, ids)] == [i for i in ids if i not in gone]


def test_bulk_fetch_survives_faults(jira: FakeJira) -> None:
    jira.set_faults(script=["drop", "503", "truncate"])
    ids = sorted(live_ids(jira))
    issues = bulk_fetch(make_client(jira, workers=2), ids)
    assert [issue["id"] for issue in issues] == ids
    assert all("summary" in issue["fields"] for issue in issues)


# --- field discovery and JQL windows against the emulator -------------------------------------------------


def test_story_points_fields_are_found_on_the_site(jira: FakeJira) -> None:
    ids = story_points_field_ids(make_client(jira).fields())
    assert ids == ["customfield_10028", "customfield_10016"]  # "Story Points" first, then the estimate


def test_story_points_ignores_fields_that_are_not_numbers() -> None:
    fields = [
        {"id": "customfield_1", "name": "Story Points", "custom": True, "schema": {"type": "string"}},
        {"id": "summary", "name": "Story Points", "custom": False, "schema": {"type": "number"}},
        {
            "id": "customfield_3",
            "name": "Story point estimate",
            "custom": True,
            "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points"},
        },
        {
            "id": "customfield_4",
            "name": "story points",
            "custom": True,
            "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"},
        },
    ]
    assert story_points_field_ids(fields) == ["customfield_4", "customfield_3"]


@pytest.mark.parametrize("time_zone", ["America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin"])
def test_window_jql_selects_exactly_the_window_in_the_accounts_zone(time_zone: str) -> None:
    with FakeJira(issues=60, seed=1, time_zone=time_zone) as site:
        client = make_client(site)
        tz = client.time_zone()
        assert tz.key == time_zone
        truth = [
            (dt.datetime.strptime(entry["updated"], "%Y-%m-%dT%H:%M:%S.%f%z"), str(entry["id"]))
            for entry in site.ground_truth()
            if not entry["deleted"]
        ]
        minutes = sorted({moment.replace(second=0, microsecond=0) for moment, _ in truth})
        assert len(minutes) >= 8, "the generated site should spread its updates over time"
        # Bounds inside a minute, so rounding matters: lower keeps its whole minute, upper keeps its own too
        # (a window may only grow at either end: see window_jql).
        lower = minutes[len(minutes) // 4] + dt.timedelta(seconds=30)
        upper = minutes[3 * len(minutes) // 4] + dt.timedelta(seconds=45)
        jql = window_jql(source_jql(None, [p["key"] for p in site.site.projects]), lower, upper, tz)
        found = [issue["id"] for issue in iter_search_issues(client, jql, fields=["updated"], max_results=9)]
        low, high = minutes[len(minutes) // 4], minutes[3 * len(minutes) // 4] + dt.timedelta(minutes=1)
        expected = [issue_id for moment, issue_id in truth if low <= moment < high]
        assert sorted(found) == sorted(expected)
        assert 0 < len(found) < len(truth)


# --- what the client sends, and answers the emulator does not give -------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """A few answers the emulator never gives: echoing headers, HTML, a 503 whose Retry-After is a date."""

    seen: ClassVar[list[dict[str, str]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.seen.append(dict(self.headers))
            attempt = len(self.seen)
        if self.path == "/html":
            self._reply(200, b"<!DOCTYPE html><html><body>Log in</body></html>", "text/html")
        elif self.path == "/dated" and attempt == 1:
            self._reply(
                503, b"{}", "application/json", {"Retry-After": format_datetime(RETRY_AT, usegmt=True)}
            )
        else:
            self._reply(200, json.dumps(dict(self.headers)).encode(), "application/json")

    def _reply(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_request_carries_the_headers(recorder: str) -> None:
    headers = JiraClient(recorder, JiraCredentials(LONG_TOKEN, "me@example.com")).get("/echo")
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("jira-sync/")
    assert headers["Accept-Language"] == "en"
    assert headers["X-Force-Accept-Language"] == "true"
    assert headers["Authorization"].startswith("Basic ")
    bearer = JiraClient(recorder, JiraCredentials(LONG_TOKEN)).get("/echo")
    assert bearer["Authorization"] == f"Bearer {LONG_TOKEN}"


def test_html_instead_of_json_is_a_request_error(recorder: str) -> None:
    client = JiraClient(recorder, JiraCredentials(LONG_TOKEN, "me@example.com"))
    with pytest.raises(JiraRequestError, match=r"text/html instead of JSON .* check the site URL"):
        client.get("/html")
    assert client.stats.requests == 1


def test_retry_after_as_an_http_date(recorder: str, clock: VirtualClock) -> None:
    client = JiraClient(recorder, JiraCredentials(LONG_TOKEN), backoff_seconds=0.01, max_retry_seconds=10)
    client.get("/dated")
    assert client.stats.retries == 1
    assert clock.sleeps == [2.0]  # the clock reads 2 s before the date: no more, no less


def test_a_ca_bundle_is_used_even_when_the_environment_names_another(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE override a session's `verify`; the client's own bundle must win."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with FakeJira(issues=5, seed=1, tls=True) as site:
        assert site.cert_path
        credentials = JiraCredentials(token=site.token, email=site.email)
        with JiraClient(site.url, credentials, verify=site.cert_path) as client:
            assert client.myself()["accountId"]
