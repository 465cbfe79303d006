"""Two faults about time, from the client's side of a real socket: a server that trickles its answer one byte
at a time (alive enough that no per-read timeout fires, too slow to ever finish a run), and a Jira whose
clock is not this machine's (the stamps it writes, its ``Date`` header and JQL's ``now`` all follow it).

Durations are only asserted as lower bounds (sleeps guarantee them); clock readings get a minute of slack.
"""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import fixtures_faults
import pytest
import requests
from fixtures_conformance import TIMEOUT, JiraHttp, live_ground_truth

from fakejira import FakeJira
from fakejira.lifecycle import parse_jira_time

# The module-scoped emulator, its calm reset and HTTP helper (shared with the other fault tests):
jira, api, calm = fixtures_faults.jira, fixtures_faults.api, fixtures_faults.calm
eventually = fixtures_faults.eventually
SEED = 37  # the emulator fixture's seed (fixtures_faults.jira)
MYSELF = "/rest/api/3/myself"
MISSING = "/rest/api/3/issue/NOPE-999999"  # a short 404 body: quick to trickle
TEN_YEARS_MS = 10 * 365 * 86_400_000
DAY_MS = 86_400_000
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
SLACK = timedelta(minutes=1)






def date_of(response: requests.Response) -> datetime:
    value = response.headers["Date"]
    assert IMF_FIXDATE.match(value), value
    return parsedate_to_datetime(value)


def close_to(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) <= SLACK


# --- trickling answers ---------------------------------------------------------------------------------


def test_trickled_answer_outlives_the_read_timeout(jira: FakeJira, api: JiraHttp) -> None:
    """Each byte comes well within the read timeout, so `requests` never gives up: the answer is whole and
    correct, and it took longer than the read timeout (which is why a client needs a total deadline)."""
    expected = api.get(MISSING)
    jira.set_faults(script=["trickle"], trickle_interval_ms=40)
    logged = jira.request_log()["total"]
    began = time.monotonic()
    response = requests.get(api.url(MISSING), auth=api.session.auth, timeout=(5, 2.0))
    elapsed = time.monotonic() - began
    assert response.status_code == 404
    assert response.content == expected.content
    assert elapsed >= len(response.content) * 0.040 > 2.0
    assert date_of(response)
    # The server logs a request once it has sent the last byte, which may be just after the client read it
    # (and the plain request before it may land in the log late too).
    for _ in range(250):
        log = jira.request_log()
        if log["total"] > logged and log["requests"][-1].get("fault") == "trickle":
            break
        time.sleep(0.02)
    assert log["requests"][-1]["path"] == MISSING and log["requests"][-1].get("fault") == "trickle"


def test_trickled_body_arrives_byte_by_byte(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(script=["trickle"], trickle_interval_ms=30)
    host, port = api.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw:
        basic = base64.b64encode(":".join(jira.auth).encode()).decode()
        raw.sendall(
            f"GET {MISSING} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {basic}\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += raw.recv(1)
        assert head.startswith(b"HTTP/1.1 404")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        chunks = []
        while sum(map(len, chunks)) < length:
            chunks.append(raw.recv(65536))
    assert sum(map(len, chunks)) == length
    assert len(chunks) > length // 2, "the body came in one piece, not trickled"


def test_client_hanging_up_ends_the_trickle(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(script=["trickle"], trickle_interval_ms=200)
    jira.reset_request_log()
    with pytest.raises(requests.RequestException):  # headers arrive; the first byte is 0.2 s away
        requests.get(api.url(MYSELF), auth=api.session.auth, timeout=(5, 0.01), stream=True).content  # noqa: B018
    assert eventually(lambda: jira.request_log()["total"] == 1), "the trickling thread never noticed"
    assert jira.request_log()["requests"][0]["fault"] == "trickle"
    assert api.get(MYSELF).status_code == 200


def test_trickle_rate_is_a_share(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(trickle_rate=0.5, trickle_interval_ms=1, seed=4)
    jira.reset_request_log()
    statuses = [api.get(MISSING).status_code for _ in range(24)]
    assert set(statuses) == {404}, "a trickled answer is still the whole answer"
    faults = [r.get("fault") for r in jira.request_log()["requests"]]
    assert 3 <= faults.count("trickle") <= 21, faults


def test_bad_trickle_settings_are_refused(api: JiraHttp) -> None:
    for bad in ({"trickle_rate": 1.5}, {"trickle_rate": -0.1}, {"trickle_interval_ms": 0}, {"script": ["slow"]}):
        response = api.session.put(api.url("/_fakejira/faults"), json=bad, timeout=TIMEOUT)
        assert response.status_code == 400, bad
        assert "error" in response.json()


# --- the site's clock ------------------------------------------------------------------------------------


def test_every_answer_carries_a_date_header_from_the_site_clock(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(clock_offset_ms=-TEN_YEARS_MS, script=["ok", "429", "503", "503-retry", "500", "truncate"])
    expected = datetime.now(UTC) - timedelta(milliseconds=TEN_YEARS_MS)
    answers = [api.get(MYSELF) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 429, 503, 503, 500]
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        api.get(MYSELF)
    answers += [api.get(MISSING), api.session.get(api.url("/_fakejira/faults"), timeout=TIMEOUT)]
    for answer in answers:
        assert close_to(date_of(answer), expected), (answer.status_code, answer.headers["Date"])
    limited = answers[1]
    reset = datetime.strptime(limited.headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    assert close_to(reset, expected)
    assert close_to(jira.now(), expected)


def test_server_time_follows_the_offset(jira: FakeJira, api: JiraHttp) -> None:
    jira.set_faults(clock_offset_ms=DAY_MS)
    server_time = datetime.fromisoformat(api.ok_get("/rest/api/3/serverInfo")["serverTime"])
    assert close_to(server_time, datetime.now(UTC) + timedelta(days=1))


def test_new_stamps_come_from_the_site_clock(jira: FakeJira, api: JiraHttp) -> None:
    project = live_ground_truth(jira)[0]["project"]
    jira.set_faults(clock_offset_ms=-TEN_YEARS_MS)
    behind = datetime.now(UTC) - timedelta(milliseconds=TEN_YEARS_MS)
    created = jira.create_issue(project, {"summary": "written by a clock ten years behind"})
    fields = api.ok_get(f"/rest/api/3/issue/{created['key']}", {"fields": "created,updated"})["fields"]
    assert close_to(datetime.fromisoformat(fields["created"]), behind)
    assert close_to(datetime.fromisoformat(fields["updated"]), behind)

    jira.set_faults(clock_offset_ms=DAY_MS)
    ahead = datetime.now(UTC) + timedelta(days=1)
    jira.update_issue(created["key"], {"summary": "written by a clock a day ahead"})
    updated = api.ok_get(f"/rest/api/3/issue/{created['key']}", {"fields": "updated"})["fields"]["updated"]
    assert close_to(datetime.fromisoformat(updated), ahead)


def test_stamps_never_go_backwards_when_the_clock_does(jira: FakeJira) -> None:
    row = live_ground_truth(jira)[1]
    jira.set_faults(clock_offset_ms=DAY_MS)
    ahead = jira.update_issue(row["key"], {"labels": ["ahead"]})["fields"]["updated"]
    jira.set_faults(clock_offset_ms=-TEN_YEARS_MS)
    later = jira.update_issue(row["key"], {"labels": ["behind"]})["fields"]["updated"]
    assert parse_jira_time(later) == parse_jira_time(ahead) + 1, "updated is strictly increasing per issue"


def test_jql_relative_dates_use_the_site_clock(jira: FakeJira, api: JiraHttp) -> None:
    project = live_ground_truth(jira)[0]["project"]
    jira.set_faults(clock_offset_ms=-TEN_YEARS_MS)
    key = jira.create_issue(project, {"summary": "fresh on a slow clock"})["key"]
    recent = {i["key"] for i in api.search_all(f"project = {project} AND created >= -1h", "key")}
    assert key in recent, "created an hour ago by the site's clock"
    assert key in {i["key"] for i in api.search_all(f"project = {project} AND created <= now()", "key")}
    jira.set_faults(clock_offset_ms=0)
    assert key not in {i["key"] for i in api.search_all(f"project = {project} AND created >= -1h", "key")}


def test_bad_clock_offsets_are_refused(api: JiraHttp) -> None:
    for bad in ({"clock_offset_ms": 1e15}, {"clock_offset_ms": "soon"}, {"clock_offset_ms": None}):
        response = api.session.put(api.url("/_fakejira/faults"), json=bad, timeout=TIMEOUT)
        assert response.status_code == 400, bad


# --- start-up flags --------------------------------------------------------------------------------------


def test_start_up_flags_set_the_new_faults() -> None:
    command = [
        sys.executable, "-m", "fakejira", "--port", "0", "--issues", "5",
        "--clock-offset-ms", str(-DAY_MS), "--trickle-rate", "0.25", "--trickle-interval-ms", "5",
        "--drop-rate", "0.1", "--truncate-rate", "0.05",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        faults = requests.get(f"{url}/_fakejira/faults", timeout=TIMEOUT)
        settings = faults.json()
        assert settings["clock_offset_ms"] == -DAY_MS
        assert (settings["trickle_rate"], settings["trickle_interval_ms"]) == (0.25, 5)
        assert (settings["drop_rate"], settings["truncate_rate"]) == (0.1, 0.05)
        assert close_to(date_of(faults), datetime.now(UTC) - timedelta(days=1))
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_bad_start_up_flags_are_one_line_errors() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "fakejira", "--trickle-rate", "2"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert "trickle-rate must be between 0 and 1" in bad.stderr
    assert "Traceback" not in bad.stderr
