"""Shared measuring helpers: wall time and peak resident memory (RSS) of one call, and a table printer.

Memory is the process's peak RSS, as the operating system counts it (Python heap, C libraries, thread stacks
and all), never a Python heap trace: the peak is reset before the call (``/proc/self/clear_refs``) and read
after it (``VmHWM``), so each call of one benchmark gets a figure of its own."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    label: str
    seconds: float
    peak_mib: float
    result: Any


def reset_peak_rss() -> None:
    """Make the process's peak RSS its current RSS (Linux 4.0+: writing 5 to ``clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as control:
        control.write("5")


def peak_rss_mib(pid: int | str = "self") -> float:
    """The peak resident memory of a process (``VmHWM``), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        found = re.search(r"^VmHWM:\s+(\d+) kB", status.read(), re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def measure(label: str, function: Callable[[], Any]) -> Measurement:
    """Run `function` once; its memory is the process's peak RSS during the call, reset just before it."""
    reset_peak_rss()
    started = time.perf_counter()
    try:
        result = function()
    finally:
        seconds = time.perf_counter() - started
        peak = peak_rss_mib()
    return Measurement(label, seconds, peak, result)


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
