"""Shared measuring helpers: wall time and peak Python memory of one call, and a table printer."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    label: str
    seconds: float
    peak_mib: float
    result: Any


def measure(label: str, function: Callable[[], Any]) -> Measurement:
    """Run `function` once under tracemalloc; its peak is the Python heap the call needed at most."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = function()
    finally:
        seconds = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Measurement(label, seconds, peak / 2**20, result)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class Emulator:
    """A running `python -m fakejira`: where it answers, its account, its pid and how long it took to start."""

    url: str
    email: str = "demo@example.com"
    token: str = "demo-token"
    pid: int = 0
    startup_seconds: float = 0.0

    def projects(self) -> list[str]:
        import requests

        truth = requests.get(f"{self.url}/_fakejira/ground-truth", timeout=60).json()
        issues = truth["issues"] if isinstance(truth, dict) else truth
        return sorted({issue["project"] for issue in issues})


@contextlib.contextmanager
def emulator_process(
    issues: int, seed: int = 1, latency_ms: int = 0, options: Sequence[str] = ()
) -> Iterator[Emulator]:
    """The emulator in its own process, started as users start it (with `options`), so its CPU and memory
    are not ours; its start-up lasts until it prints its URL."""
    command = [sys.executable, "-m", "fakejira", "--port", "0", "--issues", str(issues), "--seed", str(seed)]
    command += ["--latency-ms", str(latency_ms), *options]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the emulator did not start: {url!r}")
        yield Emulator(url=url, pid=process.pid, startup_seconds=time.perf_counter() - started)
    finally:
        process.terminate()
        process.wait(timeout=30)
