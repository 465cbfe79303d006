"""The emulator's own bulk-fetch throughput: issues/s it serves (POST /rest/api/3/issue/bulkfetch, 100 issues
a request, every field, as the connector asks) to many concurrent clients, before (every answer rendered, the
render cache off) and after (the render cache, warmed before serving with --prerender), at 100 ms and 0 ms
of emulated latency, against the target: 10,000 issues/s at 100 ms, so that benchmarks measure the client.

The load comes from separate processes (several threads each, one keep-alive connection per thread), so the
client's CPU is not the server's; they read every answer whole and check it lists 100 issues and no error,
without decoding it. The emulator runs in its own process, started as users start it (`python -m fakejira`);
its peak RSS and CPU time are read from /proc.

    .venv/bin/python -m bench.bench_emulator --issues 5000 --clients 32 --seconds 4
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import http.client
import json
import multiprocessing
import resource
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import Emulator, emulator_process, peak_rss_mib, print_table

TARGET = 10_000
"""Issues/s the emulator must serve at 100 ms latency (issue 9)."""
CHUNK = 100
BULK_PATH = "/rest/api/3/issue/bulkfetch"
AUTH = "Basic ZGVtb0BleGFtcGxlLmNvbTpkZW1vLXRva2Vu"  # demo@example.com:demo-token, the generator's account
CLEAN_END = b'"issueErrors":[]}'


@dataclass(frozen=True)
class Load:
    """What the clients got in one measurement, and what it cost the emulator's processes."""

    issues: int
    requests: int
    failures: int
    seconds: float
    client_peak_mib: float
    server_cpu_seconds: float = 0.0
    server_peak_mib: float = 0.0

    @property
    def rate(self) -> float:
        return self.issues / self.seconds if self.seconds else 0.0


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 of proc(5) first)."""
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def process_tree(pid: int) -> list[int]:
    """`pid` and its live children (the emulator's server processes with --processes)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat(int(entry.name))[1]) == pid:
                    children.append(int(entry.name))
    return [pid, *children]


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of the processes, and of the children they waited for (the warming ones)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _stat(pid)
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / 100


def processes_peak_rss_mib(pids: Sequence[int]) -> float:
    """Peak RSS (VmHWM) of the processes, summed: pages the forked ones share are counted in each."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += peak_rss_mib(pid)
    return total


def issue_ids(url: str) -> list[str]:
    """Ids of the live issues, from the control API (not a /rest/ request: no latency, no log entry)."""
    host = urlsplit(url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    connection.request("GET", "/_fakejira/ground-truth")
    rows = json.loads(connection.getresponse().read())
    connection.close()
    return [row["id"] for row in rows if not row["deleted"]]


def _client_thread(
    url: str, bodies: list[bytes], counter: Synchronized, limit: int, deadline: float, totals: list[int]
) -> None:
    """One keep-alive connection: takes the next chunk number until `limit` chunks or the deadline; counts
    an answer as its 100 issues when it is a 200 that lists them and no error (read whole, not decoded)."""
    host = urlsplit(url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    headers = {"Authorization": AUTH, "Content-Type": "application/json", "Accept": "application/json"}
    issues = requests = failures = 0
    while time.monotonic() < deadline:
        with counter.get_lock():
            number = counter.value
            counter.value += 1
        if number >= limit:
            break
        requests += 1
        try:
            connection.request("POST", BULK_PATH, bodies[number % len(bodies)], headers)
            response = connection.getresponse()
            status, data = response.status, response.read()
        except (OSError, http.client.HTTPException):
            connection.close()  # the next request reconnects
            status, data = 0, b""
        if status == 200 and data.endswith(CLEAN_END) and data.count(b'"expand":') >= CHUNK:
            issues += CHUNK
        else:
            failures += 1
    connection.close()
    totals[:] = [issues, requests, failures]


def _client_process(
    url: str,
    bodies: list[bytes],
    threads: int,
    counter: Synchronized,
    limit: int,
    ready: Any,
    seconds: float,
    results: Any,
) -> None:
    """`threads` connections in one process, started when every process is ready; reports (issues,
    requests, failures, the monotonic time the last one ended, this process's peak RSS in MiB)."""
    totals = [[0, 0, 0] for _ in range(threads)]
    ready.wait()
    deadline = time.monotonic() + seconds
    workers = [
        threading.Thread(target=_client_thread, args=(url, bodies, counter, limit, deadline, totals[n]))
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((*[sum(t[i] for t in totals) for i in range(3)], time.monotonic(), peak_mib))


def run_load(url: str, ids: list[str], clients: int, processes: int, seconds: float, passes: int = 0) -> Load:
    """`clients` connections spread over `processes` processes fetch 100 ids a request, cycling through
    `ids` in order, for `seconds`; with `passes`, until every chunk was fetched that many times instead."""
    context = multiprocessing.get_context("fork")
    processes = max(1, min(processes, clients))
    bodies = [
        json.dumps({"issueIdsOrKeys": ids[i : i + CHUNK], "fields": ["*all"]}).encode()
        for i in range(0, len(ids) - CHUNK + 1, CHUNK)
    ]
    counter = context.Value("q", 0)
    limit = len(bodies) * passes if passes else 1 << 62
    ready = context.Barrier(processes + 1)
    results = context.Queue()
    per_process = [clients // processes + (n < clients % processes) for n in range(processes)]
    duration = 3600.0 if passes else seconds
    workers = [
        context.Process(
            target=_client_process, args=(url, bodies, threads, counter, limit, ready, duration, results)
        )
        for threads in per_process
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    started = time.monotonic()
    reports = [results.get(timeout=duration + 120) for _ in workers]
    for worker in workers:
        worker.join()
    return Load(
        issues=sum(r[0] for r in reports),
        requests=sum(r[1] for r in reports),
        failures=sum(r[2] for r in reports),
        seconds=max(r[3] for r in reports) - started,
        client_peak_mib=max(r[4] for r in reports),
    )


def measure(jira: Emulator, ids: list[str], clients: int, seconds: float, passes: int = 0) -> Load:
    """One load (see :func:`run_load`) with the CPU it cost the emulator's processes and their peak RSS."""
    pids = process_tree(jira.pid)
    before = cpu_seconds(pids)
    load = run_load(jira.url, ids, clients, min(clients, CLIENT_PROCESSES), seconds, passes)
    return dataclasses.replace(
        load, server_cpu_seconds=cpu_seconds(pids) - before, server_peak_mib=processes_peak_rss_mib(pids)
    )


@dataclass(frozen=True)
class Scenario:
    """One emulator configuration measured: its `python -m fakejira` options and how it is loaded."""

    label: str
    options: tuple[str, ...]
    clients: int | None = None  # None: --clients
    first_pass: bool = False  # fetch every issue once (a cold cache's figure) instead of for --seconds


BEFORE = "before: every answer rendered"
SCENARIOS = (
    Scenario(f"{BEFORE}, 1 client", ("--render-cache-mib", "0", "--no-prerender"), clients=1),
    Scenario(BEFORE, ("--render-cache-mib", "0", "--no-prerender")),
    Scenario("after, no prerender: first fetch of each issue", ("--no-prerender",), first_pass=True),
    Scenario(
        "after, no prerender, 2 processes: first fetch",
        ("--no-prerender", "--processes", "2"),
        first_pass=True,
    ),
    Scenario("after: prerendered (the default)", ()),
    Scenario("after: prerendered, 2 processes", ("--processes", "2")),
)
CLIENT_PROCESSES = 4
"""Processes the clients' connections are spread over (threads in each)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each timed load")
    parser.add_argument("--latencies", default="100,0", help="emulated latencies to measure at, in ms")
    args = parser.parse_args(argv)

    rows, verdicts = [], []
    for latency in [int(x) for x in args.latencies.split(",")]:
        results = []
        for scenario in SCENARIOS:
            with emulator_process(args.issues, latency_ms=latency, options=scenario.options) as jira:
                ids = issue_ids(jira.url)
                clients = scenario.clients or args.clients
                load = measure(jira, ids, clients, args.seconds, passes=1 if scenario.first_pass else 0)
            results.append((scenario, clients, jira, load))
        before = next(load for scenario, _, _, load in results if scenario.label == BEFORE)
        default = next(load for scenario, _, _, load in results if not scenario.options)
        verdicts.append(
            f"{latency} ms: the default emulator served {default.rate:,.0f} issues/s to {args.clients} clients, "
            f"{default.rate / before.rate:.1f}x before; target {TARGET:,} "
            + ("met" if default.rate >= TARGET and not default.failures else "NOT met")
        )
        for scenario, clients, jira, load in results:
            rows.append(
                (
                    latency,
                    scenario.label,
                    clients,
                    load.issues,
                    load.rate,
                    load.rate / before.rate,
                    load.rate / TARGET,
                    1000 * load.server_cpu_seconds / max(load.requests, 1),
                    load.server_peak_mib,
                    load.client_peak_mib,
                    jira.startup_seconds,
                    load.failures,
                )
            )
    print_table(
        f"Emulator bulk fetch, {args.issues:,} issues, 100 issues a request, fields *all "
        f"(target: {TARGET:,} issues/s at 100 ms)",
        [
            "latency ms",
            "emulator",
            "clients",
            "issues",
            "issues/s",
            "vs before",
            "vs target",
            "server CPU ms/request",
            "server peak RSS MiB",
            "client peak RSS MiB",
            "startup s",
            "failures",
        ],
        rows,
    )
    print("\n".join("  " + line for line in verdicts))


if __name__ == "__main__":
    main()
