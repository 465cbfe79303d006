"""End to end: an initial load from the emulator into the embedded warehouse, as a new user runs it
(`jira-sync run --site ... --project ...`, every entity unless --entities), with the warehouse's server in a
process of its own (what jira-sync does) against the baseline, the same load with the server in a thread of
the client (the shape before, JIRA_SYNC_EMBEDDED_SERVER=thread), and against the two limits measured or
computed in the same run: the download alone (the same window walk and flattening, no warehouse) and the
API-bound limit, (N/5000 + N/100/workers) × latency.

    .venv/bin/python -m bench.bench_sync --issues 5000 50000 [--latency-ms 100] [--skip-baseline]
    .venv/bin/python -m bench.bench_sync --issues 5000 --entities issues      # issues alone

Every load runs in a fresh process (`python -m bench.bench_sync --child ...`, which runs the CLI's own `main`)
on a fresh warehouse folder, so no figure leaks into the next; the emulator runs in its own process too, one
per issue count. Memory is peak RSS (VmHWM) of the process running the sync and, apart, of the warehouse's
server process. Seconds are the whole command, start-up included. Targets (issue 9): at 50,000 issues at
least 600 issues/s, and the jira-sync process under 400 MiB, flat from 5k to 50k.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.bench_fetch import api_bound_seconds
from bench.common import Emulator, emulator_process, peak_rss_mib, print_table
from jira_sync.config import SourceConfig

TARGET_RATE = 600  # issues/s at 50,000 issues
TARGET_MIB = 400  # peak RSS of the jira-sync process
TOKEN_ENV = "JIRA_SYNC_BENCH_TOKEN"
DEFAULT_WORKERS = SourceConfig.__dataclass_fields__["workers"].default
DEFAULT_BATCH = SourceConfig.__dataclass_fields__["batch_size"].default


@dataclass(frozen=True)
class Load:
    label: str
    seconds: float
    issues: int
    client_mib: float
    server_mib: float | None


# --- the child processes -------------------------------------------------------------------------------------


def child_load(url: str, folder: str, projects: str, entities: str | None) -> dict[str, Any]:
    """`jira-sync run` in this process (the CLI's own main), then the peaks of this process and its server."""
    from jira_sync import local_warehouse
    from jira_sync.cli import main

    args = ["run", "--site", url, "--email", "demo@example.com", "--token-env", TOKEN_ENV]
    args += ["--project", projects, "--warehouse", f"local:{folder}"]
    args += ["--entities", entities] if entities else []
    try:
        main(args, standalone_mode=False)
    except SystemExit as exit_:  # `jira-sync run` exits with its status
        if exit_.code:
            raise
    server = local_warehouse._SHARED  # the server process this run started (None: it ran in a thread)
    return {"client_mib": peak_rss_mib(), "server_mib": peak_rss_mib(server.pid) if server else None}


def child_download(url: str, projects: list[str], batch_size: int) -> dict[str, Any]:
    """The sync's download alone: the window walk with its bulk fetches (the sync's workers), each issue
    flattened, nothing stored; then the peak of this process."""
    from jira_sync.incremental import WindowWalk
    from jira_sync.jira import JiraClient, JiraCredentials, source_jql
    from jira_sync.model import flatten_issue

    jql = source_jql(None, projects)
    upper = datetime.now(UTC).replace(second=0, microsecond=0)
    count = 0
    credentials = JiraCredentials(os.environ[TOKEN_ENV], "demo@example.com")
    with JiraClient(url, credentials, workers=DEFAULT_WORKERS) as client:
        walk = WindowWalk(
            client, jql, lower=None, upper=upper, time_zone=ZoneInfo("UTC"), batch_size=batch_size
        )
        now = datetime.now(UTC)
        for batch in walk.batches():
            for issue in batch.issues:
                flatten_issue(issue, source="bench", story_points_fields=[], synced_at=now, run_id="bench")
                count += 1
    return {"issues": count, "client_mib": peak_rss_mib(), "server_mib": None}


def _child(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("job", choices=["load", "download"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--projects", required=True)
    parser.add_argument("--folder")
    parser.add_argument("--entities")
    args = parser.parse_args(argv)
    if args.job == "load":
        found = child_load(args.url, args.folder, args.projects, args.entities)
    else:
        found = child_download(args.url, args.projects.split(","), DEFAULT_BATCH)
    print(json.dumps(found), flush=True)


# --- the parent ----------------------------------------------------------------------------------------------


def run_child(label: str, job: list[str], env: dict[str, str] | None = None) -> tuple[float, dict[str, Any]]:
    """Run `python -m bench.bench_sync --child JOB...` to its end: its wall time and what it printed last."""
    root = str(Path(__file__).resolve().parents[1])
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_sync", "--child", *job],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{label} failed ({done.returncode}): {done.stderr[-3000:]}")
    return seconds, json.loads(lines[-1])


def measure_issue_count(
    issues: int, latency_ms: int, entities: str | None, skip_baseline: bool
) -> tuple[list[Load], float]:
    """The download alone, then jira-sync and (unless skipped) the baseline, on one emulator."""
    loads = []
    with emulator_process(issues, latency_ms=latency_ms) as jira, tempfile.TemporaryDirectory() as tmp:
        projects = ",".join(jira.projects())
        common = ["--url", jira.url, "--projects", projects]
        env = {TOKEN_ENV: jira.token}
        seconds, found = run_child("download", ["download", *common], env)
        assert found["issues"] == issues, f"the download fetched {found['issues']} of {issues}"
        download = Load("download + flatten only, no warehouse", seconds, issues, found["client_mib"], None)
        runs = [("jira-sync: warehouse server in its own process", "process")]
        if not skip_baseline:
            runs.insert(0, ("baseline: warehouse server in the client's thread", "thread"))
        for label, mode in runs:
            folder = f"{tmp}/{mode}"
            job = ["load", *common, "--folder", folder, *(["--entities", entities] if entities else [])]
            seconds, found = run_child(label, job, {**env, "JIRA_SYNC_EMBEDDED_SERVER": mode})
            _check_stored(jira, folder, issues)
            loads.append(Load(label, seconds, issues, found["client_mib"], found["server_mib"]))
        loads.append(download)
    return loads, api_bound_seconds(issues, DEFAULT_WORKERS, latency_ms / 1000)


def _check_stored(jira: Emulator, folder: str, issues: int) -> None:
    """Every issue arrived: the load is only a figure if it is complete."""
    from jira_sync.local_warehouse import embedded_session, stop_server_process

    with embedded_session(folder) as session:
        stored = session.sql("select count(*) from JIRA_ISSUES where not IS_DELETED").collect()[0][0]
    stop_server_process()
    if stored != issues:
        raise RuntimeError(f"{folder}: {stored} issues stored of {issues} ({jira.url})")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, nargs="+", default=[5000])
    parser.add_argument("--latency-ms", type=int, default=100, help="added to every emulator response")
    parser.add_argument("--entities", help="as `jira-sync run --entities` (default: every entity)")
    parser.add_argument("--skip-baseline", action="store_true", help="no run with the server in a thread")
    args = parser.parse_args(argv)

    peaks: dict[int, float] = {}
    for issues in args.issues:
        loads, limit = measure_issue_count(issues, args.latency_ms, args.entities, args.skip_baseline)
        baseline = next((m for m in loads if m.label.startswith("baseline")), None)
        ours = next(m for m in loads if m.label.startswith("jira-sync"))
        peaks[issues] = ours.client_mib
        rows = [
            (
                m.label,
                m.seconds,
                m.issues / m.seconds,
                m.client_mib,
                "-" if m.server_mib is None else m.server_mib,
                f"{m.seconds / limit:.1f}×",
                f"{baseline.seconds / m.seconds:.2f}×" if baseline and m is ours else "-",
            )
            for m in loads
        ]
        rows.append(("API-bound limit, (N/5000 + N/100/workers) × latency", limit, issues / limit, "-", "-",
                     "1.0×", "-"))  # fmt: skip
        entities = args.entities or "every entity"
        print_table(
            f"Initial load of {issues:,} issues ({entities}) into the embedded warehouse, {args.latency_ms} ms "
            f"per request, {DEFAULT_WORKERS} workers",
            [
                "run",
                "seconds",
                "issues/s",
                "sync process peak MiB",
                "server peak MiB",
                "× limit",
                "vs baseline",
            ],
            rows,
        )
        verdict = "met" if ours.issues / ours.seconds >= TARGET_RATE else "NOT met"
        print(f"  target at 50,000 issues: ≥ {TARGET_RATE} issues/s: {ours.issues / ours.seconds:,.0f} ({verdict}"
              f"{'' if issues == 50_000 else ', at this count for reference'}); "
              f"sync process < {TARGET_MIB} MiB: {ours.client_mib:,.0f} MiB "
              f"({'met' if ours.client_mib < TARGET_MIB else 'NOT met'})")  # fmt: skip
    if len(peaks) > 1:
        low, high = min(peaks), max(peaks)
        print(
            f"\n  sync process peak RSS from {low:,} to {high:,} issues: {peaks[low]:,.0f} → {peaks[high]:,.0f} MiB "
            f"({peaks[high] / peaks[low]:.2f}×; flat means about 1×)"
        )


if __name__ == "__main__":
    main()
