"""Start-up of the `jira-sync` command as users start it: whole processes, wall time, median of several runs,
each beside its target and beside a baseline measured in the same run (a bare `python -c pass`: what any
Python command costs on this machine right now).

    .venv/bin/python -m bench.bench_cli --runs 7

Targets: `jira-sync --help` and `jira-sync check --help` under 1 s, `jira-sync check` (one source checked
against the emulator, which runs in its own process) under 3 s. A command imports only what it uses
(jira_sync/cli.py), so the help never waits for Snowpark or the embedded warehouse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import emulator_process, print_table

TOKEN_ENV = "JIRA_SYNC_BENCH_TOKEN"


def cli_command() -> list[str]:
    """The console script next to this interpreter (as installed), else the module."""
    script = Path(sys.executable).with_name("jira-sync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jira_sync.cli"]


def wall_seconds(command: Sequence[str], runs: int, env: dict[str, str]) -> list[float]:
    """Wall time of `runs` runs of `command` (after one unmeasured warm-up); each must exit 0."""
    times = []
    for n in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
        if n:
            times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="measured runs of each command (after a warm-up)")
    args = parser.parse_args(argv)
    cli = cli_command()
    with emulator_process(issues=50) as jira:
        env = {**os.environ, TOKEN_ENV: jira.token}
        check = [*cli, "check", "--site", jira.url, "--email", jira.email, "--token-env", TOKEN_ENV,
                 "--project", ",".join(jira.projects())]  # fmt: skip
        cases = [
            ("jira-sync --help", [*cli, "--help"], 1.0),
            ("jira-sync check --help", [*cli, "check", "--help"], 1.0),
            ("jira-sync check (emulator)", check, 3.0),
        ]
        baseline = statistics.median(wall_seconds([sys.executable, "-c", "pass"], args.runs, env))
        rows = []
        for label, command, target in cases:
            times = wall_seconds(command, args.runs, env)
            median = statistics.median(times)
            rows.append((label, args.runs, baseline, median, max(times), target, median / baseline,
                         "yes" if median < target else "NO"))  # fmt: skip
    print_table(
        f"Start-up, wall seconds, median of {args.runs} runs (baseline: python -c pass, same run)",
        ["command", "runs", "baseline s", "median s", "max s", "target s", "x baseline", "under target"],
        rows,
    )


if __name__ == "__main__":
    main()
