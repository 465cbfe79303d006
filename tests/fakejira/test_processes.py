"""`python -m fakejira` as benchmarks start it: prerendered on every core by default, optionally served by
several processes (`--processes`), answering exactly what an in-process emulator without a cache answers.

Several processes each hold a copy of the site, so that mode is read-only: the control API refuses edits
(and the per-process request log) with 409 and says why.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fakejira import FakeJira

ISSUES = 600  # more than two warming chunks: prerendering forks its renderers
SEED = 5
AUTH = ("demo@example.com", "demo-token")


def children_of(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, subprocess.Popen]]:
    command = [sys.executable, "-m", "fakejira", "--port", "0", "--issues", str(ISSUES), "--seed", str(SEED)]
    process = subprocess.Popen([*command, "--processes", "2"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def fresh() -> Iterator[FakeJira]:
    with FakeJira(issues=ISSUES, seed=SEED, render_cache_mib=0) as running:
        yield running


def test_answers_equal_an_uncached_emulator(served: tuple[str, subprocess.Popen], fresh: FakeJira) -> None:
    url, _ = served
    ids = [row["id"] for row in fresh.ground_truth() if not row["deleted"]]
    with requests.Session() as session:
        session.auth = AUTH
        for start in range(0, len(ids), 100):
            for expand in ([], ["transitions", "changelog"]):
                body = {"issueIdsOrKeys": ids[start : start + 100], "fields": ["*all"], "expand": expand}
                answers = [
                    session.post(base + "/rest/api/3/issue/bulkfetch", json=body, timeout=30).content.replace(
                        base.encode(), b"URL"
                    )
                    for base in (url, fresh.url)
                ]
                assert answers[0] == answers[1]
        stats = session.get(url + "/_fakejira/render-cache", timeout=30).json()
    assert stats["entries"] >= len(ids)  # prerendered: every issue, by either process


def test_the_site_is_read_only(served: tuple[str, subprocess.Popen]) -> None:
    url, _ = served
    refused = requests.put(url + "/_fakejira/issues/ENG-1", json={"fields": {"summary": "x"}}, timeout=30)
    assert refused.status_code == 409 and "--processes" in refused.json()["error"]
    assert requests.put(url + "/_fakejira/faults", json={"latency_ms": 5}, timeout=30).status_code == 409
    assert requests.get(url + "/_fakejira/requests", timeout=30).status_code == 409
    truth = requests.get(url + "/_fakejira/ground-truth", timeout=30)
    assert truth.status_code == 200 and len(truth.json()) == ISSUES


def test_processes_stop_together() -> None:
    command = [sys.executable, "-m", "fakejira", "--port", "0", "--issues", "30", "--processes", "3"]
    process = subprocess.Popen([*command, "--no-prerender"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert requests.get(url + "/rest/api/3/myself", auth=AUTH, timeout=30).status_code == 200
    servers = children_of(process.pid)
    assert len(servers) == 2
    process.terminate()
    assert process.wait(timeout=30) == 0
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()]


def test_a_rate_limit_needs_one_process() -> None:
    command = [sys.executable, "-m", "fakejira", "--processes", "2", "--rate-limit", "10"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--rate-limit needs --processes 1" in result.stderr
