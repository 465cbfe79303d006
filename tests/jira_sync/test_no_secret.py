"""No secret anywhere: success and failure paths, with debug logging, leave the token in no output, no log
record, no byte of the warehouse folder and no table.

Runs `jira-sync --debug run` in-process against the emulator and against a loopback server that echoes the
credential back in every way a hostile or broken server could (error bodies, a rate-limit reason header, a
time zone, an HTML page, a message long enough to be cut), with basic and bearer auth, and a token too short
to be a Jira API token (refused before it is used). Then scans stdout, stderr, the captured log records, every
file under the warehouse folder, and JIRA_ISSUES, JIRA_SYNC_STATE, JIRA_SYNC_RUNS and JIRA_SOURCES.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bad_inputs import FAST, Outcome, files_bytes, http_answer, jira_sync, loopback_server, run_args

from fakejira import FakeJira
from jira_sync.local_warehouse import embedded_session

EMAIL = "secret-keeper@example.com"
TOKEN = "nO-s3cret-T0ken-7f3a9c21e5b8d4a6"  # distinctive: found nowhere unless it leaked
SHORT_TOKEN = "Qz7-k9w"  # under 8 characters: refused before it is used, so never in a message
STRANGER = "nobody@example.com"  # no such account: the emulator answers 401


def basic(email: str, token: str) -> str:
    return base64.b64encode(f"{email}:{token}".encode()).decode("ascii")


SECRETS = {
    "token": TOKEN,
    "first half of the token": TOKEN[:16],
    "second half of the token": TOKEN[16:],
    "basic-auth base64": basic(EMAIL, TOKEN),
    "basic-auth base64 of the stranger": basic(STRANGER, TOKEN),
    "short token": SHORT_TOKEN,
    "basic-auth base64 of the short token": basic(EMAIL, SHORT_TOKEN),
}


def echo(conn: socket.socket, request: bytes) -> None:
    """Answers with the credential it was sent, in the way the URL's first path segment names."""
    head = request.decode("latin-1").split("\r\n")
    mode, path = head[0].split(" ")[1].split("/", 2)[1], head[0].split(" ")[1]
    auth = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith("authorization:")), "")
    scheme, _, value = auth.partition(" ")
    said = base64.b64decode(value).decode() if scheme == "Basic" else value  # email:token, or the token
    cut = "x" * (500 - len(said) + len(TOKEN) - 20)  # messages are cut at 500: after 20 chars of the token
    errors = {"errorMessages": [f"Bad credentials: {auth} ({said})", cut + said], "errors": {"jql": said}}
    if mode == "unauthorized":
        answer = http_answer("401 Unauthorized", "application/json", json.dumps(errors).encode())
    elif mode == "ratelimited":
        reason = f"RateLimit-Reason: {said}\r\nRetry-After: 0\r\n"
        answer = http_answer("429 Too Many Requests", "application/json", json.dumps(errors).encode(), reason)
    elif mode == "html":
        answer = http_answer("200 OK", "text/html", f"<html>Hello {said}, {auth}</html>".encode())
    elif path.endswith("/myself"):
        zone = auth if mode == "zone" else "UTC"
        body = {"accountId": "echo", "displayName": said, "timeZone": zone}
        answer = http_answer("200 OK", "application/json", json.dumps(body).encode())
    elif path.endswith("/field"):
        answer = http_answer("200 OK", "application/json", b"[]")
    else:  # the search: a 400 that quotes the credential
        answer = http_answer("400 Bad Request", "application/json", json.dumps(errors).encode())
    conn.sendall(answer)


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=20, seed=5) as site:
        site.add_account(EMAIL, TOKEN)
        yield site


def test_no_secret_anywhere(jira: FakeJira, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    folder = tmp_path / "wh"

    def run(source: str, site: str, *args: str, token: str = TOKEN, email: str | None = EMAIL) -> Outcome:
        who = ("--email", email) if email else ()
        command = run_args(folder, *FAST, "--source", source, "--site", site, *who, *args)
        return jira_sync("--debug", *command, token=token)

    outcomes = {"success": run("ok", jira.url, "--project", "ENG")}
    assert outcomes["success"].exit_code == 0, outcomes["success"]
    outcomes["401"] = run("stranger", jira.url, "--project", "ENG", email=STRANGER)
    outcomes["failing run"] = run("failing", jira.url, "--jql", "project = ENG AND status === Done")
    with loopback_server(echo) as server:
        for mode in ("unauthorized", "html", "zone", "badjql"):
            outcomes[mode] = run(mode, f"{server}/{mode}", "--project", "ENG")
        retried = ("--project", "ENG", "--retry-seconds", "2")  # a retry logs a warning quoting the answer
        outcomes["ratelimited"] = run("ratelimited", f"{server}/ratelimited", *retried)
        outcomes["bearer echo"] = run("bearer", f"{server}/unauthorized", "--project", "ENG", email=None)
        outcomes["bearer zone"] = run("bearerzone", f"{server}/zone", "--project", "ENG", email=None)
    outcomes["short token"] = run("short", jira.url, "--project", "ENG", token=SHORT_TOKEN)

    assert outcomes["short token"].exit_code == 2 and "too short" in outcomes["short token"].stderr
    for case, outcome in outcomes.items():
        if case not in ("success", "short token"):
            assert outcome.exit_code == 1, (case, outcome)
    assert "***" in outcomes["unauthorized"].stderr, "the echoed credential was not redacted"
    assert "retrying in" in caplog.text, "the rate-limited run was not retried (its warnings go unscanned)"

    with embedded_session(folder) as session:
        tables = {
            table: repr([tuple(row) for row in session.sql(f"SELECT * FROM {table}").collect()])
            for table in ("JIRA_ISSUES", "JIRA_SYNC_STATE", "JIRA_SYNC_RUNS", "JIRA_SOURCES")
        }
    assert "JIRA-" not in tables["JIRA_ISSUES"] and "ENG-" in tables["JIRA_ISSUES"]  # the scan sees data
    places = {
        **{f"stdout of {case}": o.stdout for case, o in outcomes.items()},
        **{f"stderr of {case}": o.stderr for case, o in outcomes.items()},
        "the captured log records": caplog.text,
        **{f"table {table}": text for table, text in tables.items()},
    }
    assert len(caplog.records) > 100, "debug logging was not on"
    warehouse_files = files_bytes(folder)
    for name, secret in SECRETS.items():
        for place, text in places.items():
            assert secret not in text, f"the {name} is in {place}"
        assert secret.encode() not in warehouse_files, f"the {name} is in a file of the warehouse folder"
