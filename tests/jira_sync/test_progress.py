"""Progress on long work: `jira-sync run` on a terminal draws a bar (Jira's estimate as the total, ETA,
issues/s, retries) and still ends with the JSON summary; piped, it prints the summary alone and sends no extra
request. The events come from the sync through an observer; the drawing (rich) stays out of the procedure.

The terminal is real: the command runs in a subprocess on a pseudo-terminal (Python's `pty`), against the Jira
emulator over HTTP and the embedded warehouse, as a user runs it.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest
from snowflake.snowpark import Session
from test_sync import add_source, sync

from fakejira import FakeJira
from jira_sync.artifact import PACKAGE_ROOT, module_path, runtime_modules
from jira_sync.config import SourceConfig
from jira_sync.jira import RequestStats
from jira_sync.local_warehouse import embedded_session
from jira_sync.warehouse import Warehouse

CLI = Path(sys.executable).with_name("jira-sync")
TOKEN_ENV = "JIRA_SYNC_PROGRESS_TOKEN"
COUNT_ENDPOINT = "POST /rest/api/3/search/approximate-count"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Recorder:
    """A SyncObserver that keeps what it heard."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []
        self.batches = 0

    def window_started(self, source: str, total: int | None, stats: RequestStats) -> None:
        assert isinstance(stats, RequestStats)
        self.events.append(("window", source, str(total)))

    def batch_committed(self, source: str, issues: int) -> None:
        self.batches += issues

    def source_finished(self, source: str, status: str) -> None:
        self.events.append(("finished", source, status))


@pytest.fixture(scope="module")
def site() -> Iterator[FakeJira]:
    with FakeJira(issues=24, seed=9) as server:
        yield server


@pytest.fixture
def jira(site: FakeJira) -> FakeJira:
    """The module's emulator with an empty request log and no scripted faults."""
    site.set_faults(script=[])
    site.reset_request_log()
    return site


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, site: FakeJira) -> Path:
    """One embedded warehouse for the CLI runs, its tables made and its source added here, once: the source
    syncs issues only (no other entities), in batches of 5, so each run is a few seconds of real work."""
    path = tmp_path_factory.mktemp("progress") / "wh"
    project, _ = project_of(site)
    source = SourceConfig(
        name="default", site_url=site.url, projects=(project,), email=site.email, entities=(), batch_size=5
    )
    with embedded_session(path) as session:
        warehouse = Warehouse(session)
        warehouse.ensure_schema()
        warehouse.upsert_source(source)
    return path


def project_of(jira: FakeJira) -> tuple[str, int]:
    """The project with the most issues, and how many it has."""
    counts: dict[str, int] = {}
    for issue in jira.ground_truth():
        if not issue["deleted"]:
            counts[issue["project"]] = counts.get(issue["project"], 0) + 1
    project = max(sorted(counts), key=counts.__getitem__)
    return project, counts[project]


def count_requests(jira: FakeJira) -> int:
    return jira.request_log()["counts"].get(COUNT_ENDPOINT, 0)


def test_the_observer_hears_the_estimate_each_batch_and_the_end_and_costs_nothing_unheard(
    snowpark_session: Session, jira: FakeJira
) -> None:
    warehouse = Warehouse(snowpark_session)
    project, issues = project_of(jira)
    add_source(warehouse, jira, projects=(project,), batch_size=3, entities=())
    heard = Recorder()
    summary = sync(warehouse, jira, observer=heard)
    assert summary["status"] == "SUCCEEDED" and summary["issues_fetched"] == issues
    assert heard.events == [("window", "test", str(issues)), ("finished", "test", "SUCCEEDED")]
    assert heard.batches == issues  # every committed batch, however the walk cut them
    assert count_requests(jira) == 1
    jira.reset_request_log()
    assert sync(warehouse, jira, full_refresh=True)["issues_fetched"] == issues  # nobody watching
    assert count_requests(jira) == 0


def run_cli(jira: FakeJira, folder: Path, *, terminal: bool) -> tuple[int, str, str]:
    """`jira-sync run --full-refresh` of the folder's source (every issue read, whatever an earlier run
    stored): (exit code, stdout, stderr); on a 150-column terminal if asked."""
    argv = [str(CLI), "run", "--token-env", TOKEN_ENV, "--warehouse", f"local:{folder}", "--full-refresh"]
    env = {**os.environ, TOKEN_ENV: jira.token, "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    if not terminal:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
        return done.returncode, done.stdout, done.stderr
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
    process = subprocess.Popen(argv, stdin=child, stdout=child, stderr=subprocess.PIPE, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    return process.wait(timeout=60), b"".join(chunks).decode(), stderr


def test_piped_run_prints_only_the_summary_and_asks_no_estimate(jira: FakeJira, folder: Path) -> None:
    code, stdout, stderr = run_cli(jira, folder, terminal=False)
    assert code == 0, stderr
    (line,) = stdout.splitlines()
    assert json.loads(line)["status"] == "SUCCEEDED"
    assert "issues/s" not in stdout + stderr
    assert count_requests(jira) == 0


def test_on_a_terminal_run_draws_the_bar_and_ends_with_the_json_summary(jira: FakeJira, folder: Path) -> None:
    _, issues = project_of(jira)
    jira.set_faults(script=["ok"] * 6 + ["500"])  # one failure for the client to retry, mid-window
    code, output, stderr = run_cli(jira, folder, terminal=True)
    assert code == 0, stderr
    text = ANSI.sub("", output).replace("\r\n", "\n")
    lines = [line for line in text.split("\n") if line.strip()]
    summary = json.loads(lines[-1])  # the last line is the summary, as without a terminal
    (source,) = summary["sources"]
    assert source["status"] == "SUCCEEDED" and source["issues_fetched"] == issues
    assert source["retries"] == 1
    bar = lines[-2].rsplit("\r", 1)[-1]  # the bar as it was last drawn, just above the summary
    assert f"{issues}/{issues} issues" in bar
    assert re.search(r"ETA \d+:\d\d:\d\d", bar)
    assert re.search(r"\d[\d,]*\.\d issues/s", bar)
    assert "1 retry" in bar
    assert "SUCCEEDED" in bar


def test_the_procedure_never_imports_the_progress_bar_or_rich() -> None:
    """What the handlers import (and so what deploy zips) holds neither the bar nor anything importing rich."""
    deployed = runtime_modules()
    assert "jira_sync.observer" in deployed and "jira_sync.progress_bar" not in deployed
    for name in deployed:
        path = module_path(name, PACKAGE_ROOT)
        assert path is not None
        for node in ast.walk(ast.parse(path.read_text())):
            imported = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [m for m in imported if m == "rich" or m.startswith("rich.")], f"{name} imports rich"
