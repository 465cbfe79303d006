"""Every defence, tested by what it defends against (issue 6).

Each test below makes the emulator produce the very thing a defence exists for, runs the real sync (real
HTTP to the emulator, a real Snowpark session on the embedded warehouse) or the real client, and checks the
outcome the defence guarantees. Each was checked to fail with its defence removed; the mutation tried is in
its docstring. `python -m bench.mutation` repeats that check for every small change a tool can make.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import threading
import traceback
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from snowflake.snowpark import Session
from virtual_clock import VirtualClock

import jira_sync.jira.client as client_module
from fakejira import FakeJira
from fakejira.rest_api import UNSERVED_ISSUE
from jira_sync import deletions
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.entities import ISSUES_ONLY
from jira_sync.jira import (
    JiraClient,
    JiraCredentials,
    JiraError,
    JiraRequestError,
    JiraUnavailableError,
    bulk_fetch,
)
from jira_sync.jira.client import _describe_connection_error, _jira_messages, _retry_after_seconds
from jira_sync.jira.search import _bulk_fetch_call, _is_not_found, bulk_fetch_issues
from jira_sync.model import parse_jira_timestamp
from jira_sync.sync import SyncError, run_sync
from jira_sync.warehouse import Warehouse

SOURCE = "defended"
LEAKY_TOKEN = "ATATT3xFfGF0-echoed-back-0123456789abcdef"
LEAKY_EMAIL = "leaky@example.com"
TABLES = ("JIRA_ISSUES", "JIRA_SYNC_STATE", "JIRA_SYNC_RUNS", "JIRA_SOURCES")


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=150, seed=23, time_zone="Europe/Berlin") as emulator:
        yield emulator


@pytest.fixture
def warehouse(snowpark_session: Session) -> Warehouse:
    return Warehouse(snowpark_session)


def configure(warehouse: Warehouse, jira: FakeJira, **options: Any) -> SourceConfig:
    options.setdefault("projects", tuple(sorted({row["project"] for row in jira.ground_truth()})))
    options.setdefault("email", jira.email)
    options.setdefault("entities", ISSUES_ONLY)
    options.setdefault("deletion_sweep", timedelta(0))  # the sweep's defences, on every run
    source = SourceConfig(name=SOURCE, site_url=jira.url, search_lag=timedelta(0), **options)
    warehouse.ensure_tables()
    warehouse.upsert_source(source)
    return source


def run(warehouse: Warehouse, token: str, email: str | None, **kwargs: Any) -> dict[str, Any]:
    """One sync of the source; the whole summary (its one source's result is ``["sources"][0]``)."""
    return run_sync(warehouse, static_credentials(token, email), source=SOURCE, **kwargs)


def stored_rows(warehouse: Warehouse) -> dict[int, dict[str, Any]]:
    return {int(row["ID"]): row for row in warehouse.read_issues(SOURCE)}


def live(warehouse: Warehouse) -> dict[int, datetime]:
    return {i: row["UPDATED"] for i, row in stored_rows(warehouse).items() if not row["IS_DELETED"]}


def truth(jira: FakeJira) -> dict[int, datetime]:
    return {
        int(row["id"]): parse_jira_timestamp(row["updated"])
        for row in jira.ground_truth()
        if not row["deleted"]
    }


def is_id_listing(jql: str) -> bool:
    """The listing of every id in scope that finds deletions: neither a window (updated) nor a confirmation."""
    return "updated" not in jql and " id in (" not in jql


# --- the confirmation before an issue is marked deleted (deletions.py) --------------------------------------


def test_issues_a_listing_skipped_are_confirmed_live_not_marked_deleted(
    warehouse: Warehouse, jira: FakeJira
) -> None:
    """Token pagination skips as many unread ids as issues leave the results between two pages. Mutation
    tried: `find_departed_ids` returning its candidates unconfirmed; fails at "live issues the listing
    skipped were marked deleted"."""
    configure(warehouse, jira)
    assert run(warehouse, jira.token, jira.email)["status"] == "SUCCEEDED"
    jira.set_faults(search_page_cap=40)  # a small site's id listing then spans pages, as 5,000+ issues do
    churn = jira.skip_ids_in_listing(is_id_listing, count=2)
    result = run(warehouse, jira.token, jira.email)["sources"][0]
    assert result["status"] == "SUCCEEDED", result["error"]
    assert len(churn.skipped) == 2, "the id listing should have spanned several pages"
    rows = stored_rows(warehouse)
    assert [rows[int(i)]["IS_DELETED"] for i in churn.skipped] == [False, False], (
        "live issues the listing skipped were marked deleted"
    )
    assert result["issues_deleted"] == 0  # the two that left had been listed: the next run finds them
    following = run(warehouse, jira.token, jira.email)["sources"][0]
    assert following["issues_deleted"] == 2
    rows = stored_rows(warehouse)
    assert [rows[int(i)]["IS_DELETED"] for i in churn.removed] == [True, True]
    assert live(warehouse) == truth(jira)


def test_departures_are_listed_5000_a_page_confirmed_in_chunks_and_reported_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unit level: one listing request for a project's issues (ids only, 5,000 a page), then one confirming
    `(<scope>) AND id in (...)` query per chunk of candidates and, for a chunk with departures, one bulk fetch
    (id only) telling the deleted from the moved; every departed id comes back once, in order, and only the
    deleted as gone."""
    with FakeJira(issues=130, seed=25) as site:
        client = JiraClient(site.url, JiraCredentials(site.token, site.email))
        projects = Counter(row["project"] for row in site.ground_truth() if not row["deleted"])
        (project, _), (elsewhere, _) = projects.most_common(2)
        stored = sorted(int(r["id"]) for r in site.ground_truth() if not r["deleted"] and r["project"] == project)
        for issue_id in stored[3:8]:
            if not site.issue_truth(issue_id)["deleted"]:  # a sub-task goes with its parent
                site.delete_issue(issue_id)
        moved = max({int(row["id"]) for row in site.ground_truth() if not row["deleted"]} & set(stored))
        site.move_issue(moved, elsewhere)
        live_now = {int(row["id"]) for row in site.ground_truth() if not row["deleted"]}
        gone = sorted(set(stored) - live_now)
        assert len(gone) >= 5 and moved in live_now
        monkeypatch.setattr(deletions, "CONFIRM_CHUNK", 2)
        departures = deletions.find_departed_ids(client, f"project = {project}", sorted([*stored, gone[0]]))
        assert departures == deletions.Departures(sorted([*gone, moved]), gone)
        chunks = -(-len(departures.ids) // 2)  # every chunk of two candidates has a departure
        assert client.stats.requests == 1 + 2 * chunks  # the listing, then a confirmation and a fetch a chunk


# --- the handling of bulk-fetch errors other than "does not exist" (jira/search.py) -------------------------


def test_an_issue_jira_cannot_serve_stops_the_run_short_of_it_and_the_next_run_stores_it(
    warehouse: Warehouse, jira: FakeJira
) -> None:
    """A bulk fetch that lists an existing issue in `issueErrors` (retriable error or payload constraint),
    even after the retry. Mutations tried: `_is_not_found` true for every entry (the issue is taken for
    deleted and skipped), and `bulk_fetch` not raising on `errors`; both fail at `status == "FAILED"`."""
    configure(warehouse, jira, batch_size=20)
    by_update = sorted(truth(jira).items(), key=lambda item: item[1])
    victim, victim_updated = by_update[len(by_update) // 2]
    jira.set_faults(bulkfetch_unserved_ids=[str(victim)])
    summary = run(warehouse, jira.token, jira.email)
    failed = summary["sources"][0]
    assert failed["status"] == "FAILED"
    assert "could not return 1 issue" in failed["error"] and str(victim) in failed["error"]
    assert str(victim) in str(SyncError(summary))
    assert victim not in live(warehouse)
    state = warehouse.read_state(SOURCE)
    watermark = state.watermark if state else None
    assert watermark is None or watermark <= victim_updated, "the watermark passed an issue never stored"
    stored = live(warehouse)
    assert all(stored[i] == truth(jira)[i] for i in stored)

    jira.set_faults(bulkfetch_unserved_ids=[])
    again = run(warehouse, jira.token, jira.email)["sources"][0]
    assert again["status"] == "SUCCEEDED", again["error"]
    assert live(warehouse) == truth(jira)


def test_an_issue_jira_fails_to_serve_once_is_asked_for_again(warehouse: Warehouse, jira: FakeJira) -> None:
    """The first bulk fetch lists every issue in `issueErrors`; the retry serves them. Mutation tried: no
    retry in `_fetch_chunk`; fails at `status == "SUCCEEDED"` (the run stops on the first answer)."""
    configure(warehouse, jira)
    jira.set_faults(bulkfetch_unserved=1)
    result = run(warehouse, jira.token, jira.email)["sources"][0]
    assert result["status"] == "SUCCEEDED", result["error"]
    assert live(warehouse) == truth(jira)


# --- the redaction of a credential a server echoes back (jira/client.py) ------------------------------------


def secret_forms(token: str, email: str | None) -> list[str]:
    forms = [token]
    if email:
        forms.append(base64.b64encode(f"{email}:{token}".encode()).decode())
    return forms


def assert_nowhere(texts: dict[str, str], token: str, email: str | None) -> None:
    for where, text in texts.items():
        for secret in secret_forms(token, email):
            assert secret not in text, f"the credential ({len(secret)} characters) leaked into {where}"


def tables_text(session: Session) -> dict[str, str]:
    return {table: repr(session.sql(f"SELECT * FROM {table}").collect()) for table in TABLES}


@pytest.mark.parametrize("auth", ["basic", "bearer"])
@pytest.mark.parametrize("queued", [[400], [0, 403], [0, 0, 400], [0, 0, 0, 404]], ids=str)
def test_a_credential_jira_echoes_reaches_no_log_error_summary_or_table(
    warehouse: Warehouse,
    jira: FakeJira,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    auth: str,
    queued: list[int],
) -> None:
    """The n-th request of a run is refused with a body that repeats the Authorization header and the token
    (`queued`: 0 answers normally). Mutation tried: `JiraClient._error` not replacing the secrets; fails at
    "leaked into the run's error"."""
    email = LEAKY_EMAIL if auth == "basic" else None
    jira.add_account(LEAKY_EMAIL, LEAKY_TOKEN, auth=auth)
    configure(warehouse, jira, email=email, auth=auth)
    jira.set_faults(echo_credentials=queued)
    caplog.set_level(logging.DEBUG)
    summary = run(warehouse, LEAKY_TOKEN, email)
    result = summary["sources"][0]
    assert result["status"] == "FAILED"
    out, err = capsys.readouterr()
    texts = {
        "the run's error": result["error"],
        "the summary": json.dumps(summary),
        "the procedure's exception": str(SyncError(summary)),
        "the logs": caplog.text,
        "stdout": out,
        "stderr": err,
        **tables_text(warehouse.session),
    }
    assert_nowhere(texts, LEAKY_TOKEN, email)
    assert "***" in result["error"], "the echoed credential should have been quoted, redacted"


def test_every_error_the_client_builds_is_redacted(leaky: FakeJira) -> None:
    """Unit level, the last line of defence: whatever text reaches `_error` (a message, Jira's quoted
    messages), every form of the credential becomes *** and the rest is kept."""
    for email, token in ((LEAKY_EMAIL, LEAKY_TOKEN), (None, LEAKY_TOKEN[::-1])):
        client = JiraClient(leaky.url, JiraCredentials(token, email))
        forms = secret_forms(token, email)
        error = client._error(
            JiraRequestError, f"said {' and '.join(forms)}.", status=400, messages=[f"<{f}>" for f in forms]
        )
        assert (str(error), error.status) == (f"said {' and '.join('***' for _ in forms)}.", 400)
        assert list(error.messages) == ["<***>"] * len(forms)
        assert client._redact(f"a {token} b") == "a *** b"


@pytest.fixture(scope="module")
def leaky() -> Iterator[FakeJira]:
    """A read-only site with a long basic token, an 8-character one (the shortest redacted) and a bearer."""
    with FakeJira(issues=20, seed=24) as site:
        site.add_account(LEAKY_EMAIL, LEAKY_TOKEN)
        site.add_account("short@example.com", "8-chars!")
        site.add_account("leaky-bot@example.com", LEAKY_TOKEN[::-1], auth="bearer")
        yield site


@pytest.mark.parametrize(
    ("email", "token"),
    [(LEAKY_EMAIL, LEAKY_TOKEN), ("short@example.com", "8-chars!"), (None, LEAKY_TOKEN[::-1])],
    ids=["basic", "basic-8", "bearer"],
)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 418, 429, 500])
def test_the_client_redacts_an_echoed_credential_from_every_error(
    leaky: FakeJira,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    status: int,
    email: str | None,
    token: str,
) -> None:
    """Every way an answer becomes an error (each status its own message; 429 and 5xx after retries)
    keeps the credential out of the text, the messages quoted from Jira, the traceback and the logs.
    Mutations tried: `_error` without its `messages` redaction (fails at "the messages"), `secrets()` with
    `<=` for `<` (fails for the 8-character token)."""
    clock = VirtualClock().install(monkeypatch)
    caplog.set_level(logging.DEBUG)
    leaky.set_faults(echo_credentials=[status] * 3)
    client = JiraClient(leaky.url, JiraCredentials(token, email), max_attempts=3)
    try:
        with pytest.raises(JiraError) as caught:
            client.search_page("project = ENG") if status == 400 else client.myself()
    finally:
        leaky.set_faults(echo_credentials=[])
    error = caught.value
    texts = {
        "the message": str(error),
        "the repr": repr(error),
        "the traceback": "".join(traceback.format_exception(error)),
        "the messages": " ".join(error.messages),
        "the logs": caplog.text,
    }
    assert_nowhere(texts, token, email)
    if status in (429, 500):
        assert isinstance(error, JiraUnavailableError) and len(clock.sleeps) == 2
        assert f"Jira GET /rest/api/3/myself: {status} " in caplog.text  # each retry is logged, redacted
    else:
        assert error.status == status and "***" in str(error) and "***" in texts["the messages"]


def test_bulk_fetch_retries_what_was_unserved_and_raises_what_stays_unserved(
    leaky: FakeJira, caplog: pytest.LogCaptureFixture
) -> None:
    """Unit level: an id that does not exist is missing (logged, no error), an unserved one is asked for
    again (with the same fields and expand), and what Jira still cannot serve after the retry is an error,
    never "missing": `bulk_fetch` raises, naming the first five."""
    ids = sorted(str(row["id"]) for row in leaky.ground_truth() if not row["deleted"])[:8]
    client = JiraClient(leaky.url, JiraCredentials(leaky.token, leaky.email), workers=1)
    caplog.set_level(logging.INFO)
    try:
        leaky.set_faults(bulkfetch_unserved_ids=ids[1:7])
        result = bulk_fetch_issues(client, [*ids, "424242"], fields=["summary"])
        assert [issue["id"] for issue in result.issues] == [ids[0], ids[7]]
        assert result.missing == ["424242"]
        assert [error["id"] for error in result.errors] == ids[1:7]
        logged = [r.getMessage() for r in caplog.records if r.name == "jira_sync.jira.search"]
        assert logged == ["bulk fetch: 1 of 9 issues no longer exist or are not visible"]
        sample = "; ".join(f"{i}: {UNSERVED_ISSUE}" for i in ids[1:6])
        expected = (
            f"Jira could not return 6 issue(s) in a bulk fetch ({sample}); the run stops so that they are not "
            "skipped. Try again later."
        )
        with pytest.raises(JiraUnavailableError) as caught:
            bulk_fetch(client, ids)
        assert str(caught.value) == expected
        leaky.set_faults(bulkfetch_unserved_ids=[], bulkfetch_unserved=1)
        again = bulk_fetch(client, [*ids, "424242"], fields=["summary"], expand=["changelog"])
        assert [issue["id"] for issue in again] == ids
        assert all("changelog" in issue and set(issue["fields"]) == {"summary"} for issue in again)
    finally:
        leaky.set_faults(bulkfetch_unserved_ids=[], bulkfetch_unserved=0)
    assert client.stats.requests == 6  # three calls, each retried once


def test_an_issue_asked_for_by_a_key_it_no_longer_has_is_returned_once() -> None:
    with FakeJira(issues=20, seed=26) as site:
        row = next(r for r in site.ground_truth() if not r["deleted"] and r["project"] != "OPS")
        moved = site.move_issue(row["key"], "OPS")
        client = JiraClient(site.url, JiraCredentials(site.token, site.email))
        result = bulk_fetch_issues(client, [row["key"], moved["id"]], fields=["summary"])
        assert [issue["key"] for issue in result.issues] == [moved["key"]]  # once, though asked for twice
        assert result.missing == [row["key"]] and result.errors == []  # the old key matched nothing asked
        old_key_only = bulk_fetch_issues(client, [row["key"]], fields=["summary"])
        assert [issue["id"] for issue in old_key_only.issues] == [moved["id"]]
        assert old_key_only.missing == [row["key"]]


def test_a_bulk_fetch_answer_that_is_no_issue_list_is_refused() -> None:
    class Answering:
        def __init__(self, answer: object) -> None:
            self.answer = answer

        def post(self, path: str, body: object) -> object:
            return self.answer

    for answer, kind in (([{"id": "1"}], "list"), ({"issues": "1"}, "dict"), (None, "NoneType")):
        with pytest.raises(
            JiraRequestError, match=rf"^Jira's bulk fetch answer is not an issue list \({kind}\)$"
        ):
            _bulk_fetch_call(Answering(answer), ["1"], ("*all",), None)  # type: ignore[arg-type]


# --- unit level: the decisions inside the defences, one input at a time -----------------------------------


@pytest.mark.parametrize(
    ("message", "gone"),
    [
        ("Issue does not exist or you do not have permission to see it.", True),  # Jira's wording
        ("The issue does not exist.", True),
        ("You do not have permission to view this issue.", True),
        ("ISSUE DOES NOT EXIST", True),
        (UNSERVED_ISSUE, False),
        ("Internal server error", False),
        ("", False),
        (None, False),
    ],
)
def test_only_gone_or_hidden_issues_count_as_missing(message: str | None, gone: bool) -> None:
    assert _is_not_found({"id": "10001", "errorMessage": message}) is gone


def test_bulk_fetch_passes_expand_on(leaky: FakeJira) -> None:
    ids = sorted(str(row["id"]) for row in leaky.ground_truth() if not row["deleted"])[:3]
    client = JiraClient(leaky.url, JiraCredentials(leaky.token, leaky.email))
    issues = bulk_fetch(client, ids, fields=["summary"], expand=["changelog"])
    assert [issue["id"] for issue in issues] == ids and all("changelog" in issue for issue in issues)


def http_answer(body: bytes, **headers: str) -> requests.Response:
    response = requests.Response()
    response._content = body
    response.status_code = 400
    response.headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return response


def test_retry_after_is_read_as_seconds_or_a_date_and_never_negative(monkeypatch: pytest.MonkeyPatch) -> None:
    now = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    VirtualClock(wall_start=now.timestamp()).install(monkeypatch)
    cases = {
        "7": 7.0,
        " 2.5 ": 2.5,
        "0": 0.0,
        "-3": 0.0,
        format_datetime(now + timedelta(seconds=90), usegmt=True): 90.0,
        format_datetime(now - timedelta(seconds=90), usegmt=True): 0.0,
        "Tue, 06 May 2031 07:09:39": None,  # no zone: no instant
        "soon": None,
    }
    for header, seconds in cases.items():
        assert _retry_after_seconds(http_answer(b"{}", Retry_After=header)) == seconds, header
    assert _retry_after_seconds(http_answer(b"{}")) is None


@pytest.mark.parametrize(
    ("cause", "reason", "permanent"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "Name or service not known", True),
        (socket.gaierror(socket.EAI_NODATA, "No address associated"), "No address associated", True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), None, False),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused", False),
        (ConnectionResetError(104, "Connection reset by peer"), "the connection was reset", False),
        (OSError("no route to host"), "no route to host", False),
    ],
)
def test_only_a_name_that_does_not_exist_is_a_permanent_connection_failure(
    cause: BaseException, reason: str | None, permanent: bool
) -> None:
    """A host name that does not exist will not start existing (fail at once); every other failure to
    connect may pass (retry)."""
    told, is_permanent = _describe_connection_error(requests.exceptions.ConnectionError(cause))
    if isinstance(cause, socket.gaierror):
        reason = f"the host name does not resolve ({reason or cause.strerror})"
    assert (told, is_permanent) == (reason, permanent)


def test_jira_messages_are_read_from_every_shape_of_error_body() -> None:
    token = LEAKY_TOKEN

    def redact(text: str) -> str:
        return text.replace(token, "***")

    cases: list[tuple[bytes, list[str]]] = [
        (b'{"errorMessages": ["first", ""], "errors": {"jql": "bad"}}', ["first", "jql: bad"]),
        (b'{"message": "m"}', ["m"]),
        (b'{"errorMessage": "e"}', ["e"]),
        (b'{"error_description": "d"}', ["d"]),
        (json.dumps({"errorMessages": [str(n) for n in range(7)]}).encode(), ["0", "1", "2", "3", "4"]),
        (json.dumps({"errorMessages": ["x" * 900]}).encode(), ["x" * 500]),
        (json.dumps({"errorMessages": ["x" * 495 + " " + token]}).encode(), ["x" * 495 + " ***"]),
        (b"Down for maintenance\n", ["Down for maintenance"]),
        (b"bad \xff byte", ["bad \ufffd byte"]),
        (f"echoed {token} back".encode(), ["echoed *** back"]),
        (b"<html><body>Log in</body></html>", []),
        (b"  ", []),
    ]
    for body, messages in cases:
        assert _jira_messages(http_answer(body), redact) == messages, body[:40]


def test_a_plain_text_body_full_of_the_token_keeps_no_part_of_it() -> None:
    """The whole body is redacted before it is cut: a token cut in two at the cut would not be recognised."""
    token = LEAKY_TOKEN
    body = (token * 60).encode()
    (message,) = _jira_messages(http_answer(body), lambda text: text.replace(token, "***"))
    assert token[:12] not in message


# --- unit level: the client's retry decisions, on a virtual clock ------------------------------------------


def test_a_read_timeout_is_retried_then_named(leaky: FakeJira, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualClock().install(monkeypatch)
    leaky.set_faults(latency_ms=600)
    try:
        client = JiraClient(leaky.url, JiraCredentials(leaky.token, leaky.email), timeout=0.2, max_attempts=2)
        with pytest.raises(JiraUnavailableError) as caught:
            client.myself()
    finally:
        leaky.set_faults(latency_ms=0)
    assert str(caught.value).startswith(
        "Jira did not answer GET /rest/api/3/myself in time: no answer within 0.2 s, for "
    )
    assert re.search(r", for \d\.\d s over 2 attempts\. ", str(caught.value))  # how long, how often
    assert client.stats.requests == 2 and len(clock.sleeps) == 1


def test_a_tls_failure_is_not_retried_and_names_the_verify_setting() -> None:
    with FakeJira(issues=5, seed=27, tls=True) as site:
        client = JiraClient(site.url, JiraCredentials(site.token, site.email))
        with pytest.raises(JiraUnavailableError) as caught:
            client.myself()
        assert str(caught.value).startswith(
            f"the TLS handshake with {site.url.removeprefix('https://')} failed ("
        )
        assert str(caught.value).endswith(
            "check the site URL and, for a proxy with its own certificate authority, the client's verify setting"
        )
        assert client.stats.requests == 1


def test_get_sends_its_parameters_and_a_closed_client_sends_nothing(leaky: FakeJira) -> None:
    client = JiraClient(leaky.url, JiraCredentials(leaky.token, leaky.email))
    page = client.get("/rest/api/3/project/search", params={"keys": "ENG"})
    assert [project["key"] for project in page["values"]] == ["ENG"]
    client.close()
    with pytest.raises(RuntimeError, match=r"^this JiraClient was closed$"):
        client.myself()
    assert client.stats.requests == 1


def test_a_connect_timeout_is_retried_then_names_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listening socket whose accept queue is full drops new connections' SYNs: the connect times out."""
    clock = VirtualClock().install(monkeypatch)
    monkeypatch.setattr(client_module, "_CONNECT_TIMEOUT_CAP", 0.3)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            client = JiraClient(
                f"http://127.0.0.1:{port}", JiraCredentials(LEAKY_TOKEN), timeout=1, max_attempts=2
            )
            with pytest.raises(JiraUnavailableError) as caught:
                client.myself()
        finally:
            for filler in fillers:
                filler.close()
    assert str(caught.value).startswith(
        f"cannot reach 127.0.0.1:{port}: no connection within 0.3 s (2 attempts"
    )
    assert len(clock.sleeps) == 1


class _Misbehaving(BaseHTTPRequestHandler):
    """Answers the emulator never gives: a redirect loop, an HTML page."""

    def do_GET(self) -> None:
        body, kind = (b"<html>Log in</html>", "text/html") if self.path == "/html" else (b"", "text/plain")
        self.send_response(200 if self.path == "/html" else 302)
        if self.path != "/html":
            self.send_header("Location", "/loop")
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_what_cannot_be_sent_or_read_says_which_request(
    leaky: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    VirtualClock().install(monkeypatch)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Misbehaving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = JiraClient(f"http://127.0.0.1:{server.server_address[1]}", JiraCredentials(LEAKY_TOKEN))
        with pytest.raises(
            JiraRequestError, match=r"^cannot send GET /loop to http://127\.0\.0\.1:\d+: .*redirects"
        ):
            client.get("/loop")
        with pytest.raises(
            JiraRequestError, match=r"^Jira answered GET /html with text/html instead of JSON"
        ):
            client.get("/html")
    finally:
        server.shutdown()
        server.server_close()
    leaky.set_faults(script=["truncate"] * 2)
    broken = JiraClient(leaky.url, JiraCredentials(leaky.token, leaky.email), max_attempts=2)
    with pytest.raises(
        JiraUnavailableError, match=r"kept arriving broken \((the body broke off|the JSON body)"
    ):
        broken.myself()
