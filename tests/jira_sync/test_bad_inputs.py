"""Every bad input: one clear line naming the fix, the right exit code, and nothing changed.

The catalog listed in the README under "When something is wrong". Each case runs `jira-sync` in-process
(click's CliRunner; a few as real processes) against the emulator and an embedded warehouse folder, then reads
the tables back with `Warehouse`: no RUNNING run left, no watermark moved, no JIRA_SOURCES row rewritten.
Exit codes: 2 for a bad argument or setting (refused before anything is written), 1 for a run that failed.
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from snowflake.snowpark import Session

from fakejira import FakeJira
from fakejira.generator import LIMITED_EMAIL, LIMITED_TOKEN
from jira_sync import procedure
from jira_sync.cli import main
from jira_sync.config import ConfigError
from jira_sync.local_warehouse import embedded_session
from jira_sync.sync import SyncError
from jira_sync.warehouse import State, Warehouse

TOKEN_ENV = "JIRA_SYNC_BAD_INPUT_TOKEN"
MARS_EMAIL, MARS_TOKEN = "mars@example.com", "mars-token-0123456789"
FAST = ("--retry-seconds", "0", "--request-timeout", "5")  # a failing request fails at once


# --- running the command ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def jira_sync(*args: str, token: str | None) -> Outcome:
    """`jira-sync ARGS` in-process with the token in TOKEN_ENV (None: unset); no exception may escape."""
    started = time.monotonic()
    result = CliRunner(mix_stderr=False).invoke(main, list(args), env={TOKEN_ENV: token})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("jira-sync raised instead of printing one line") from result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr, time.monotonic() - started)


def jira_sync_process(*args: str, token: str) -> Outcome:
    """`jira-sync ARGS` as a real process, as a user runs it."""
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "jira-sync"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, TOKEN_ENV: token},
    )
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def one_clear_line(outcome: Outcome, exit_code: int, *fix: str) -> str:
    """The outcome has the exit code and exactly one error line (besides click's usage hint), which says
    every text of `fix`; no traceback anywhere. Returns the line."""
    assert outcome.exit_code == exit_code, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome
    lines = [
        line
        for line in outcome.stderr.splitlines()
        if line.strip() and not line.startswith(("Usage: ", "Try '"))
    ]
    assert len(lines) == 1 and lines[0].startswith("Error: "), outcome.stderr
    for text in fix:
        assert text.lower() in lines[0].lower(), (text, lines[0])
    return lines[0]


def source_args(jira: FakeJira, *scope: str, email: str | None = None) -> list[str]:
    return ["--site", jira.url, "--email", email or jira.email, *(scope or ("--project", "ENG"))]


def run_args(folder: Path, *more: str) -> list[str]:
    return ["run", "--token-env", TOKEN_ENV, "--warehouse", f"local:{folder}", *more]


# --- what is stored ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    sources: dict[str, dict[str, Any]]
    states: dict[str, State | None]
    runs: dict[str, tuple[str | None, str | None]]  # run id -> (status, error message)
    issues: int


def stored(folder: Path) -> Stored:
    """Sources, state, run log and issue count, read with `Warehouse` on an embedded session."""
    with embedded_session(folder) as session:
        warehouse = Warehouse(session)
        sources = {row["NAME"]: row for row in warehouse.read_sources()}
        return Stored(
            sources=sources,
            states={name: warehouse.read_state(name) for name in sources},
            runs={r.run_id: (r.status, r.error_message) for r in warehouse.recent_runs(limit=100_000)},
            issues=session.sql("SELECT COUNT(*) FROM JIRA_ISSUES").collect()[0][0],
        )


def run_sql(folder: Path, statement: str) -> None:
    with embedded_session(folder) as session:
        session.sql(statement).collect()


def assert_consistent(
    folder: Path, before: Stored, *, failed_runs: int = 0, new_source: str | None = None
) -> None:
    """Nothing changed but, at most, `failed_runs` FAILED runs (and the row of `new_source`, added by the
    command, without any state): no RUNNING run, no watermark moved, no row rewritten, no issue touched."""
    after = stored(folder)
    assert {n: r for n, r in after.sources.items() if n != new_source} == before.sources
    assert {n: s for n, s in after.states.items() if n != new_source} == before.states
    if new_source is not None:
        assert after.states.get(new_source) is None, "a failed first run left a watermark"
    assert all(status != "RUNNING" for status, _ in after.runs.values())
    added = [run for run_id, run in after.runs.items() if run_id not in before.runs]
    assert [status for status, _ in added] == ["FAILED"] * failed_runs
    assert all(error and "\n" not in error for _, error in added)
    assert after.issues == before.issues


def files_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=20, seed=1) as site:
        # The emulator refuses invalid zones in set_time_zone; a new account takes its zone as given.
        site.add_account(MARS_EMAIL, MARS_TOKEN, time_zone="Mars/Olympus_Mons")
        yield site


@pytest.fixture(scope="module")
def seeded(jira: FakeJira, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Stored]:
    """A warehouse with the source `default` (ENG) loaded once, and what it holds."""
    folder = tmp_path_factory.mktemp("seed") / "wh"
    first = jira_sync(*run_args(folder, *source_args(jira)), token=jira.token)
    assert first.exit_code == 0, first
    return folder, stored(folder)


@pytest.fixture
def loaded(seeded: tuple[Path, Stored], tmp_path: Path) -> tuple[Path, Stored]:
    """A copy of the seeded warehouse for one test, and what it holds."""
    folder = tmp_path / "wh"
    shutil.copytree(seeded[0], folder)
    return folder, seeded[1]


@contextmanager
def loopback_server(respond: Callable[[socket.socket, bytes], None]) -> Iterator[str]:
    """A TCP server on loopback calling `respond(connection, request bytes)`; yields its http:// URL."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with suppress(OSError):  # the client gave up: fine
                respond(self.request, self.request.recv(65536))

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def http_answer(status: str, content_type: str, body: bytes, headers: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{headers}"
        "Connection: close\r\n\r\n"
    ).encode() + body


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- refused before anything is written (exit 2, no warehouse created, no request) ---------------------------

GOOD = "<the emulator's token>"
ENG = ("--project", "ENG")
REFUSED_UP_FRONT: dict[str, tuple[tuple[str, ...], str | None, tuple[str, ...]]] = {
    # case: (arguments besides --site URL and --email, token, what the one line must say)
    "token only whitespace": (ENG, " \t  ", ("holds only whitespace", TOKEN_ENV)),
    "token variable unset": (ENG, None, ("empty or unset", TOKEN_ENV)),
    "token variable empty": (ENG, "", ("empty or unset", TOKEN_ENV)),
    "token too short": (ENG, "Zq7!x9", ("too short to be a Jira API token", TOKEN_ENV)),
    "token with a line break": (ENG, "abcdefgh\nijklmnop", ("line breaks", "copy the token again")),
    "site URL without https://": (
        (*ENG, "--site", "acme.atlassian.net"),
        GOOD,
        ("must start with https://", "--site"),
    ),
    "atlassian.net URL with a path": (
        (*ENG, "--site", "https://acme.atlassian.net/jira/software/projects/ENG"),
        GOOD,
        ("has no path", "use https://acme.atlassian.net", "--site"),
    ),
    "URL with a query string": (
        (*ENG, "--site", "https://acme.atlassian.net/?os_authType=basic"),
        GOOD,
        ("must not have a query", "--site"),
    ),
    "gateway URL without cloudId": ((*ENG, "--site", "https://api.atlassian.com"), GOOD, ("cloudId",)),
    "bad source name": ((*ENG, "--source", "bad name!"), GOOD, ("Source name 'bad name!' is invalid",)),
    "both --jql and --project": ((*ENG, "--jql", "project = ENG"), GOOD, ("not both", "--jql or --project")),
    "neither --jql nor --project": ((), GOOD, ("set a JQL query or at least one project key",)),
    "bad project key": (("--project", "ENG;DROP"), GOOD, ("project key 'ENG;DROP' is invalid", "--project")),
    "lower-case project key": (("--project", "eng"), GOOD, ("project key 'eng' is invalid",)),
    "unbalanced JQL": (
        ("--jql", "project = A) OR (project = B"),
        GOOD,
        ("closes a parenthesis it never opened", "--jql"),
    ),
    "JQL with an open parenthesis": (("--jql", "(project = A"), GOOD, ("leaves 1 parenthesis open",)),
    "JQL with an unclosed quote": (("--jql", 'summary ~ "oops'), GOOD, ("never closed",)),
    "JQL that is only an ORDER BY": (("--jql", "ORDER BY created"), GOOD, ("only an ORDER BY",)),
    "batch size 0": ((*ENG, "--batch-size", "0"), GOOD, ("BATCH_SIZE = 0", "1 to 5000", "--batch-size")),
    "page size 99999": ((*ENG, "--page-size", "99999"), GOOD, ("PAGE_SIZE = 99999", "1 to 5000")),
    "workers -1": ((*ENG, "--workers", "-1"), GOOD, ("WORKERS = -1", "1 to 32", "--workers")),
    "overlap of 2 days": ((*ENG, "--overlap-minutes", "2880"), GOOD, ("0 to 1440 minutes",)),
    "negative search lag": ((*ENG, "--search-lag-seconds", "-5"), GOOD, ("0 to 3600 seconds",)),
    "time budget 0": (
        (*ENG, "--time-budget-seconds", "0"),
        GOOD,
        ("1 to 86400 seconds", "UPDATE JIRA_SOURCES SET TIME_BUDGET_SECONDS"),
    ),
    "knob that is not a number": ((*ENG, "--workers", "many"), GOOD, ("--workers", "not a valid integer")),
    "warehouse without local:": ((*ENG, "--warehouse", "warehouse-dir"), GOOD, ("local:DIR",)),
    "new source without --site": (("--source", "ghost"), GOOD, ("no source 'ghost'", "give --site")),
}


@pytest.mark.parametrize("case", sorted(REFUSED_UP_FRONT))
def test_refused_before_anything_is_written(case: str, jira: FakeJira, tmp_path: Path) -> None:
    extra, token, fix = REFUSED_UP_FRONT[case]
    site = () if case == "new source without --site" else ("--site", jira.url, "--email", jira.email)
    jira.reset_request_log()
    outcome = jira_sync(
        *run_args(tmp_path / "wh", *site, *extra), token=jira.token if token == GOOD else token
    )
    one_clear_line(outcome, 2, *fix)
    assert not (tmp_path / "wh").exists(), "a refused run created the warehouse"
    assert jira.request_log()["total"] == 0, "a refused run talked to Jira"


def test_credentials_in_the_site_url_are_refused_and_never_stored(
    jira: FakeJira, loaded: tuple[Path, Stored], tmp_path: Path
) -> None:
    password = "Pa55-w0rd-in-the-url"
    site = jira.url.replace("http://", f"http://jira-user:{password}@")
    for folder in (tmp_path / "fresh", loaded[0]):  # a new warehouse, and one with a source to rewrite
        outcome = jira_sync(*run_args(folder, "--site", site, *ENG), token=jira.token)
        line = one_clear_line(outcome, 2, "must not contain credentials", "--site")
        assert password not in outcome.stdout + outcome.stderr and "jira-user" not in line
    assert not (tmp_path / "fresh").exists()
    assert password.encode() not in files_bytes(loaded[0])
    assert_consistent(*loaded)
    assert password.encode() not in files_bytes(loaded[0])


# --- the warehouse itself is bad ---------------------------------------------------------------------------


def test_a_warehouse_path_that_is_a_file(jira: FakeJira, tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("not a warehouse")
    outcome = jira_sync(*run_args(file, *source_args(jira)), token=jira.token)
    one_clear_line(outcome, 2, "is a file, not a folder", "--warehouse")
    assert file.read_text() == "not a warehouse"


@pytest.mark.parametrize("where", ["under a file", "in /proc"])
def test_an_unwritable_warehouse_folder(where: str, jira: FakeJira, tmp_path: Path) -> None:
    """Tests run as root, whom chmod does not stop: a folder under a file, or in /proc, cannot be written."""
    (tmp_path / "file").write_text("")
    folder = tmp_path / "file" / "wh" if where == "under a file" else Path("/proc/self")
    outcome = jira_sync(*run_args(folder, *source_args(jira)), token=jira.token)
    one_clear_line(outcome, 1, "cannot write to the warehouse folder", "choose a folder you can write to")


@pytest.mark.parametrize("damage", ["garbage bytes", "truncated"])
def test_a_damaged_warehouse_file(damage: str, jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    database = loaded[0] / "JIRA_SYNC.db"
    damaged = os.urandom(8192) if damage == "garbage bytes" else database.read_bytes()[:20_000]
    database.write_bytes(damaged)
    outcome = jira_sync(*run_args(loaded[0]), token=jira.token)
    one_clear_line(outcome, 1, "JIRA_SYNC.db", "move it away", "backup")
    assert database.read_bytes() == damaged, "the damaged file was changed"


def test_a_damaged_warehouse_in_a_real_process(jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    (loaded[0] / "JIRA_SYNC.db").write_bytes(b"\x00garbage" * 1000)
    one_clear_line(jira_sync_process(*run_args(loaded[0]), token=jira.token), 1, "not a DuckDB database")


# --- refused after reading the source's row (exit 2, nothing written) ----------------------------------------

BAD_ROWS = {
    # column set with UPDATE JIRA_SOURCES: what the one line must say
    "BATCH_SIZE = 0": ("BATCH_SIZE = 0", "1 to 5000", "UPDATE JIRA_SOURCES SET BATCH_SIZE", "--batch-size"),
    "PAGE_SIZE = 99999": ("PAGE_SIZE = 99999", "1 to 5000", "--page-size"),
    "WORKERS = -1": ("WORKERS = -1", "1 to 32", "UPDATE JIRA_SOURCES SET WORKERS"),
    "TIME_BUDGET_SECONDS = 0": ("TIME_BUDGET_SECONDS = 0", "1 to 86400"),
    "SITE_URL = NULL": ("has no site URL", "--site", "UPDATE JIRA_SOURCES SET SITE_URL"),
    "SITE_URL = 'https://u:p@acme.atlassian.net'": ("must not contain credentials",),
    "JQL = 'project = A) OR (project = B', PROJECTS = NULL": ("closes a parenthesis it never opened",),
}


@pytest.mark.parametrize("update", sorted(BAD_ROWS))
def test_an_absurd_row_set_with_update_is_refused_not_reset(
    update: str, jira: FakeJira, loaded: tuple[Path, Stored]
) -> None:
    """TIME_BUDGET_SECONDS = 'abc' cannot be stored (the column is a NUMBER); the values that can are refused
    with the column and how to fix it, and the row stays as the user left it."""
    folder = loaded[0]
    run_sql(folder, f"UPDATE JIRA_SOURCES SET {update} WHERE NAME = 'default'")
    before = stored(folder)
    one_clear_line(jira_sync(*run_args(folder), token=jira.token), 2, "Source 'default'", *BAD_ROWS[update])
    assert_consistent(folder, before)


def test_a_bad_knob_flag_on_an_existing_source_changes_nothing(
    jira: FakeJira, loaded: tuple[Path, Stored]
) -> None:
    outcome = jira_sync(*run_args(loaded[0], "--batch-size", "0"), token=jira.token)
    one_clear_line(outcome, 2, "BATCH_SIZE = 0")
    assert_consistent(*loaded)


def test_an_unknown_source_on_an_existing_warehouse(jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    outcome = jira_sync(*run_args(loaded[0], "--source", "ghost"), token=jira.token)
    one_clear_line(outcome, 2, "There is no source 'ghost'", "give --site and --jql or --project")
    assert_consistent(*loaded)


# --- runs that fail (exit 1): one FAILED run, the same line in the run log, nothing else changed -----------


def failed_run(
    loaded: tuple[Path, Stored], *args: str, token: str, new_source: str | None, fix: tuple[str, ...]
) -> Outcome:
    folder, before = loaded
    outcome = jira_sync(*run_args(folder, *FAST, *args), token=token)
    line = one_clear_line(outcome, 1, *fix)
    assert_consistent(folder, before, failed_runs=1, new_source=new_source)
    (logged,) = [error for status, error in stored(folder).runs.values() if status == "FAILED"]
    assert logged is not None and logged in line, "the run log says something else"
    return outcome


FAILED_RUNS: dict[str, tuple[str | None, Callable[[FakeJira], list[str]], str, tuple[str, ...]]] = {
    # case: (a new source to add, or None for the loaded one; its arguments; token; what the line must say)
    "wrong credentials": (None, lambda jira: [], "wrong-token-of-good-length", ("401", "API token")),
    "invalid account time zone": (
        "mars",
        lambda jira: source_args(jira, email=MARS_EMAIL),
        MARS_TOKEN,
        ("'Mars/Olympus_Mons'", "not a valid IANA time zone name", "Jira profile"),
    ),
    "project the account cannot see": (
        "hidden",
        lambda jira: source_args(jira, "--project", "OPS", email=LIMITED_EMAIL),
        LIMITED_TOKEN,
        ("'OPS'", "Browse projects permission", "check the key"),
    ),
    "unknown project": (
        "unknown",
        lambda jira: source_args(jira, "--project", "NOPE"),
        GOOD,
        ("'NOPE' does not exist", "check the key"),
    ),
    "JQL Jira refuses": (
        "badjql",
        lambda jira: source_args(jira, "--jql", "project = ENG AND status === Done"),
        GOOD,
        ("Jira rejected the JQL", "status === Done", "Fix the source's JQL"),
    ),
    "unreachable site": (
        "nowhere",
        lambda jira: ["--site", f"http://127.0.0.1:{unused_port()}", *ENG],
        GOOD,
        ("cannot reach 127.0.0.1", "connection refused", "Check the site URL"),
    ),
}


@pytest.mark.parametrize("case", sorted(FAILED_RUNS))
def test_a_run_that_fails_at_jira(case: str, jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    source, args, token, fix = FAILED_RUNS[case]
    more = ("--source", source, *args(jira)) if source else ()
    outcome = failed_run(
        loaded, *more, token=jira.token if token == GOOD else token, new_source=source, fix=fix
    )
    assert "tzdata" not in outcome.stderr


def test_a_site_that_is_not_jira(jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    page = b"<!DOCTYPE html><html><body>Welcome to the intranet</body></html>"
    with loopback_server(lambda conn, _: conn.sendall(http_answer("200 OK", "text/html", page))) as url:
        failed_run(
            loaded,
            "--source", "intranet", "--site", url, *ENG,
            token=jira.token,
            new_source="intranet",
            fix=("instead of JSON", "not a Jira Cloud REST endpoint", "check the site URL"),
        )  # fmt: skip


def test_a_trickling_site_ends_at_the_request_deadline(jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    """One byte every 2 s: each read is within the 3 s read timeout, the whole answer never is."""

    def trickle(conn: socket.socket, _: bytes) -> None:
        for byte in http_answer("200 OK", "application/json", b'{"timeZone": "UTC"}'):
            conn.sendall(bytes([byte]))
            time.sleep(2)

    with loopback_server(trickle) as url:
        outcome = failed_run(
            loaded,
            "--source", "slow", "--site", url, *ENG, "--request-timeout", "3",
            token=jira.token,
            new_source="slow",
            fix=("no complete answer within the 6 s deadline",),
        )  # fmt: skip
    assert outcome.seconds < 30


def test_wrong_credentials_in_a_real_process(jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    outcome = jira_sync_process(*run_args(loaded[0], *FAST), token="wrong-token-of-good-length")
    one_clear_line(outcome, 1, "401")
    assert_consistent(*loaded, failed_runs=1)


# --- JQL with its own ORDER BY: accepted, the ORDER BY dropped (the sync orders by updated) ----------------


def test_jql_with_its_own_order_by_is_accepted_and_the_order_by_dropped(
    jira: FakeJira, tmp_path: Path
) -> None:
    jira.reset_request_log()
    args = source_args(jira, "--jql", "project = ENG ORDER BY priority DESC, key")
    outcome = jira_sync(*run_args(tmp_path / "wh", *args), token=jira.token)
    assert outcome.exit_code == 0, outcome
    sent = [r["jql"] for r in jira.request_log()["requests"] if r.get("jql")]
    assert sent and all("project = ENG" in q and "priority" not in q for q in sent), sent


# --- the procedure path ------------------------------------------------------------------------------------


@pytest.fixture
def fake_secret(monkeypatch: pytest.MonkeyPatch, jira: FakeJira) -> None:
    """`_snowflake` exists only inside Snowflake; this stands in for it with the emulator's credential."""
    module = types.ModuleType("_snowflake")
    module.get_username_password = lambda alias: types.SimpleNamespace(  # type: ignore[attr-defined]
        username=jira.email, password=jira.token
    )
    monkeypatch.setitem(sys.modules, "_snowflake", module)


def no_running_run(session: Session) -> bool:
    return all(run.status != "RUNNING" for run in Warehouse(session).recent_runs(limit=1000))


def test_sync_jira_with_a_source_name_that_does_not_exist(
    snowpark_session: Session, jira: FakeJira, fake_secret: None
) -> None:
    procedure.add_jira_source(snowpark_session, "good", jira.url, projects=["ENG"])
    with pytest.raises(ConfigError) as refused:
        procedure.sync_jira(snowpark_session, "ghost")
    assert "No Jira source named 'ghost'" in str(refused.value) and "\n" not in str(refused.value)
    assert no_running_run(snowpark_session) and Warehouse(snowpark_session).read_state("good") is None


def test_add_jira_source_refuses_credentials_in_the_url_before_writing(snowpark_session: Session) -> None:
    with pytest.raises(ConfigError, match="must not contain credentials") as refused:
        procedure.add_jira_source(
            snowpark_session, "acme", "https://me:hunter2-secret@acme.atlassian.net", ["ENG"]
        )
    assert "hunter2-secret" not in str(refused.value)
    tables = snowpark_session.sql(
        "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'SYNC'"
    )
    assert tables.collect()[0][0] == 0, "a refused call created tables"


def test_one_invalid_row_fails_only_its_own_source(
    snowpark_session: Session, jira: FakeJira, fake_secret: None
) -> None:
    """Needs `run_sync` to turn a row that `SourceConfig.from_row` refuses into a FAILED run of that source."""
    procedure.add_jira_source(snowpark_session, "good", jira.url, projects=["ENG"])
    procedure.add_jira_source(snowpark_session, "broken", jira.url, projects=["OPS"])
    snowpark_session.sql("UPDATE JIRA_SOURCES SET WORKERS = -1 WHERE NAME = 'broken'").collect()
    with pytest.raises(SyncError) as failed:
        procedure.sync_jira(snowpark_session)
    by_source = {s["source"]: s for s in failed.value.summary["sources"]}
    assert by_source["good"]["status"] == "SUCCEEDED"
    assert by_source["broken"]["status"] == "FAILED" and "WORKERS = -1" in by_source["broken"]["error"]
    logged = [r for r in Warehouse(snowpark_session).recent_runs("broken") if r.status == "FAILED"]
    assert logged and "UPDATE JIRA_SOURCES SET WORKERS" in (logged[0].error_message or "")
    assert no_running_run(snowpark_session)


# --- knobs are set, not reset --------------------------------------------------------------------------------


def source_row(folder: Path, name: str = "default") -> dict[str, Any]:
    return stored(folder).sources[name]


def test_a_run_keeps_knobs_set_with_update_and_rewrites_nothing(
    jira: FakeJira, loaded: tuple[Path, Stored]
) -> None:
    folder = loaded[0]
    run_sql(folder, "UPDATE JIRA_SOURCES SET WORKERS = 7, BATCH_SIZE = 123 WHERE NAME = 'default'")
    set_by_hand = source_row(folder)
    for args in ((), tuple(source_args(jira))):  # the row's values, or the same values again
        outcome = jira_sync(*run_args(folder, *args), token=jira.token)
        assert outcome.exit_code == 0, outcome
        assert source_row(folder) == set_by_hand, "a run rewrote the source row"


def test_knob_flags_set_only_their_column(jira: FakeJira, loaded: tuple[Path, Stored]) -> None:
    folder = loaded[0]
    run_sql(folder, "UPDATE JIRA_SOURCES SET WORKERS = 7, BATCH_SIZE = 0 WHERE NAME = 'default'")
    outcome = jira_sync(*run_args(folder, "--batch-size", "50", "--overlap-minutes", "9"), token=jira.token)
    assert outcome.exit_code == 0, outcome  # the flag repaired the absurd value
    row = source_row(folder)
    assert (row["BATCH_SIZE"], row["OVERLAP_MINUTES"], row["WORKERS"]) == (50, 9, 7)
    assert row["SITE_URL"] == jira.url and row["PROJECTS"] == ["ENG"]


def test_add_jira_source_keeps_knobs_and_writes_only_changes(
    snowpark_session: Session, jira: FakeJira
) -> None:
    assert (
        procedure.add_jira_source(snowpark_session, "acme", jira.url, projects=["ENG"])["status"] == "SAVED"
    )
    snowpark_session.sql("UPDATE JIRA_SOURCES SET WORKERS = 7 WHERE NAME = 'acme'").collect()
    assert (
        procedure.add_jira_source(snowpark_session, "acme", jira.url, projects=["ENG", "OPS"])["status"]
        == "SAVED"
    )
    row = Warehouse(snowpark_session).read_source("acme")
    assert row is not None and row["WORKERS"] == 7 and row["PROJECTS"] == ["ENG", "OPS"]
    again = procedure.add_jira_source(snowpark_session, "acme", jira.url, projects=["ENG", "OPS"])
    assert again["status"] == "UNCHANGED" and Warehouse(snowpark_session).read_source("acme") == row
