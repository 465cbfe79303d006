"""The `jira-sync` command as users run it: real processes, the emulator started as `python -m fakejira`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent
TOKEN_ENV = "JIRA_SYNC_TEST_TOKEN"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fakejira", "--port", "0", "--issues", "90", "--seed", "4"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:")
    yield url
    process.terminate()
    process.wait(timeout=30)


def jira_sync(*args: str, token: str = "demo-token") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, TOKEN_ENV: token}
    return subprocess.run(
        [str(BIN / "jira-sync"), *args], capture_output=True, text=True, timeout=300, env=env
    )


def eng_issue_ids(url: str) -> set[int]:
    truth = requests.get(f"{url}/_fakejira/ground-truth", timeout=30).json()
    issues = truth["issues"] if isinstance(truth, dict) else truth
    return {int(i["id"]) for i in issues if i["project"] == "ENG" and not i["deleted"]}


def test_run_syncs_into_the_embedded_warehouse_and_prints_json_last(emulator: str, tmp_path: Path) -> None:
    warehouse = f"local:{tmp_path / 'wh'}"
    common = ["--site", emulator, "--email", "demo@example.com", "--token-env", TOKEN_ENV, "--project", "ENG"]
    first = jira_sync("run", *common, "--warehouse", warehouse)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    (source,) = summary["sources"]
    assert source["status"] == "SUCCEEDED"
    assert source["issues_inserted"] == len(eng_issue_ids(emulator))

    again = json.loads(jira_sync("run", *common, "--warehouse", warehouse).stdout.strip().splitlines()[-1])
    assert (again["sources"][0]["issues_inserted"], again["sources"][0]["issues_updated"]) == (0, 0)

    query = jira_sync(
        "sql", "--warehouse", warehouse, "--format", "json", "SELECT ID FROM JIRA_ISSUES WHERE NOT IS_DELETED"
    )
    assert query.returncode == 0, query.stderr
    stored = {json.loads(line)["ID"] for line in query.stdout.strip().splitlines()}
    assert stored == eng_issue_ids(emulator)

    refreshed = jira_sync("run", *common, "--warehouse", warehouse, "--full-refresh")
    assert json.loads(refreshed.stdout.strip().splitlines()[-1])["sources"][0]["issues_fetched"] == len(
        stored
    )


def test_a_run_on_the_embedded_warehouse_loads_no_dataframe_library_and_reads_its_answers_right(
    emulator: str, tmp_path: Path
) -> None:
    """`jira-sync run` declines pandas and pyarrow (137 MiB the connector would import for nothing): the run,
    launched as the console script's `main`, succeeds without them, reads back what it stored (timestamps,
    NULL ones included, and VARIANTs through the connector's own Arrow reader), and never loads them."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in ('pandas', 'pyarrow') "
        "if sys.modules.get(m) is not None), file=sys.stderr))\n"
        "from jira_sync.cli import main\n"
        "main()\n"
    )
    warehouse = f"local:{tmp_path / 'wh'}"
    args = ["run", "--site", emulator, "--email", "demo@example.com", "--token-env", TOKEN_ENV, "--project", "ENG"]
    env = {**os.environ, TOKEN_ENV: "demo-token"}
    env.pop("JIRA_SYNC_EMBEDDED_SERVER", None)
    for _ in range(2):  # an initial load, then a run that reads the state it wrote
        done = subprocess.run(
            [sys.executable, "-c", code, *args, "--warehouse", warehouse],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "LOADED []" in done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["sources"][0]["status"] == "SUCCEEDED"
    assert summary["sources"][0]["watermark_before"] == summary["sources"][0]["watermark_after"] is not None
    query = jira_sync(
        "sql", "--warehouse", warehouse, "--format", "json",
        "SELECT ID, UPDATED, RESOLVED, RAW:key::varchar AS RAW_KEY, KEY FROM JIRA_ISSUES",
    )  # fmt: skip
    rows = [json.loads(line) for line in query.stdout.strip().splitlines()]
    assert {row["ID"] for row in rows} == eng_issue_ids(emulator)
    assert all(row["RAW_KEY"] == row["KEY"] and row["UPDATED"] for row in rows)
    assert any(row["RESOLVED"] is None for row in rows) and any(row["RESOLVED"] for row in rows)


def test_run_with_a_wrong_token_fails_clearly_and_never_prints_it(emulator: str, tmp_path: Path) -> None:
    secret = "wr0ng-t0ken-that-must-not-leak"
    result = jira_sync(
        "run", "--site", emulator, "--email", "demo@example.com", "--token-env", TOKEN_ENV,
        "--jql", "project = ENG", "--warehouse", f"local:{tmp_path / 'wh'}", token=secret,
    )  # fmt: skip
    assert result.returncode == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "FAILED" and "401" in summary["sources"][0]["error"]
    assert secret not in result.stdout + result.stderr


def test_run_refuses_bad_arguments_before_doing_anything(emulator: str, tmp_path: Path) -> None:
    both = jira_sync("run", "--site", emulator, "--token-env", TOKEN_ENV, "--jql", "project = ENG",
                     "--project", "ENG", "--warehouse", f"local:{tmp_path / 'wh'}")  # fmt: skip
    assert both.returncode == 2 and "either a JQL query or project keys" in both.stderr
    unset = jira_sync("run", "--site", emulator, "--token-env", "NO_SUCH_VARIABLE_SET", "--project", "ENG")
    assert unset.returncode == 2 and "NO_SUCH_VARIABLE_SET" in unset.stderr
    assert not (tmp_path / "wh").exists()


def test_check_reports_account_time_zone_and_count_without_writing(emulator: str) -> None:
    result = jira_sync("check", "--site", emulator, "--email", "demo@example.com", "--token-env", TOKEN_ENV,
                       "--project", "ENG")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "time zone: UTC" in result.stdout
    assert f"issues:    about {len(eng_issue_ids(emulator))}" in result.stdout
    bad = jira_sync("check", "--site", emulator, "--email", "demo@example.com", "--token-env", TOKEN_ENV,
                    "--jql", "project = NOPE")  # fmt: skip
    assert bad.returncode == 1 and "NOPE" in bad.stderr
