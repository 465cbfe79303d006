"""`python -m fakejira --port 0 --issues N --seed S`: serve an emulated Jira Cloud site until SIGINT/SIGTERM.

The first stdout line is the base URL (flushed at once, so a parent process can read it), then the
credentials, then the CA bundle path with --tls.

Started this way (as benchmarks start it), the emulator renders every issue before it prints its URL, on
every core (`--no-prerender` skips it): serving a rendered issue is a lookup, so a client fetching 100
issues a request at 100 ms latency is served well over 10,000 issues/s and measures itself, not the
emulator. `--processes N` serves from N processes (a read-only site: see :func:`fork_servers`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading
import time
import zoneinfo
from typing import NoReturn

from fakejira.faults import FaultConfig, Faults
from fakejira.generator import (
    BEARER_TOKEN,
    DEMO_EMAIL,
    DEMO_TOKEN,
    LIMITED_EMAIL,
    LIMITED_TOKEN,
    generate_site,
)
from fakejira.render_cache import DEFAULT_BUDGET_MIB
from fakejira.server import App, FakeJiraHTTPServer, make_tls_dir


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone {value!r}") from None
    return value


def _rate_limit(value: str) -> tuple[float, int]:
    """RATE or RATE/CAPACITY: tokens refilled per second, bucket size (default: the rate)."""
    rate, _, capacity = value.partition("/")
    try:
        return float(rate), int(capacity) if capacity else 0
    except ValueError:
        raise argparse.ArgumentTypeError("use RATE or RATE/CAPACITY, e.g. 10 or 10/20") from None


FAULTS_EPILOG = """\
Faults apply to /rest/ requests only, never to the control API under /_fakejira/. Random ones are drawn from
(--fault-seed, request number), so a sequential client meets the same faults every run. Every answer carries
a Date header (RFC 7231) from the site's clock. All of them can be changed while the server runs:
  curl -X PUT URL/_fakejira/faults -d '{"trickle_rate": 0.1, "clock_offset_ms": -60000}'
with any of: latency_ms, rate_limit, rate_limit_capacity, error_rate, drop_rate, truncate_rate, trickle_rate,
trickle_interval_ms, clock_offset_ms, search_lag_ms, worklog_lag_ms, seed, script (exact faults for the next
requests: ok 429 500 502 503 503-retry 504 drop truncate trickle); GET URL/_fakejira/faults shows them.
"""


NUMERIC_FAULTS = (  # (FaultConfig setting, default, help): each is a flag --the-setting-with-dashes
    ("latency_ms", 0.0, "latency added to every /rest/ request"),
    ("error_rate", 0.0, "share of requests answered 500/502/503 (a quarter of them 503 with Retry-After)"),
    ("drop_rate", 0.0, "share of connections closed without an answer"),
    ("truncate_rate", 0.0, "share of bodies cut short of their Content-Length"),
    ("trickle_rate", 0.0, "share of bodies sent one byte at a time (never silent long enough for a read timeout)"),
    ("trickle_interval_ms", 2000.0, "pause before each trickled byte"),
    (
        "clock_offset_ms",
        0.0,
        "the site's clock minus this machine's (negative: Jira behind): new created/updated stamps, the Date "
        "header, serverTime and JQL's now() and relative dates",
    ),
    ("search_lag_ms", 0.0, "search index lag behind writes"),
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fakejira",
        description="Serve an emulated Jira Cloud site.",
        epilog=FAULTS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--issues", type=int, default=200, help="issues to generate")
    p.add_argument("--seed", type=int, default=1, help="generator seed: same seed, same data")
    p.add_argument("--timezone", type=_time_zone, default="UTC", help="time zone of the accounts")
    p.add_argument("--tls", action="store_true", help="serve https with a self-signed certificate")
    p.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=(0.0, 0),
        metavar="RATE[/CAPACITY]",
        help="token bucket: requests per second and burst size; 429 beyond it",
    )
    for name, default, text in NUMERIC_FAULTS:
        p.add_argument("--" + name.replace("_", "-"), type=float, default=default, help=text)
    p.add_argument("--fault-seed", type=int, default=0, help="seed of random fault decisions")
    p.add_argument(
        "--render-cache-mib",
        type=float,
        default=DEFAULT_BUDGET_MIB,
        help="rendered issues kept, least recently used out first (0: render every answer)",
    )
    p.add_argument(
        "--prerender",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="render the issues with every field (what a bulk fetch asks), as many as the render cache holds, "
        "on every core before serving, so even the first fetch of an issue costs a lookup and benchmarks "
        "measure the client (about 1 s per 4,000 issues on 2 cores)",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="server processes sharing the port (forked after generation and prerendering): reads scale "
        "with cores; the site is then read-only (the control API refuses changes) and each process keeps "
        "its own request log, faults and rate limit",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    try:
        faults = Faults(
            FaultConfig(
                rate_limit=args.rate_limit[0],
                rate_limit_capacity=args.rate_limit[1],
                seed=args.fault_seed,
                **{name: getattr(args, name) for name, _, _ in NUMERIC_FAULTS},
            )
        )
    except ValueError as e:
        p.error(str(e).replace("_", "-"))
    if args.processes < 1:
        p.error("--processes must be at least 1")
    if args.processes > 1 and args.rate_limit[0] > 0:
        p.error("--rate-limit needs --processes 1: each process would keep a bucket of its own")
    site = generate_site(args.issues, args.seed, args.timezone)
    tls_dir = make_tls_dir() if args.tls else None
    server = FakeJiraHTTPServer(App(site, faults, args.render_cache_mib), args.port, tls_dir)
    if args.prerender:  # before any thread runs: the rendering processes are forked
        server.app.renders.warm(processes=os.cpu_count() or 1)
    children = fork_servers(server, args.processes - 1)
    lines = [
        server.app.base_url,
        f"email: {DEMO_EMAIL}",
        f"token: {DEMO_TOKEN}",
        f"limited: {LIMITED_EMAIL} {LIMITED_TOKEN}",
        f"bearer: {BEARER_TOKEN}",
    ]
    if server.cert_path:
        lines.append(f"ca-bundle: {server.cert_path}")
    print("\n".join(lines), flush=True)

    def stop(signum: int, frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        for pid in children:
            os.waitpid(pid, 0)
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)
    sys.exit(0)


def fork_servers(server: FakeJiraHTTPServer, count: int) -> list[int]:
    """`count` more processes serving the same listening socket; returns their pids.

    A process holds one core at most (the GIL), so more processes serve more; but each has its own copy
    of the site, and an edit made in one would not reach the others: the site is read-only from here on
    (the control API says why when asked to change it). The socket turns non-blocking, so a process whose
    wake-up lost the race for a connection goes back to waiting instead of blocking in accept()."""
    if count <= 0:
        return []
    server.app.read_only = (
        f"this emulator serves from {count + 1} processes (--processes), each with its own copy of the "
        "site, faults and request log: start it with --processes 1 to change them or read the log"
    )
    server.socket.setblocking(False)
    parent, children = os.getpid(), []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            _serve_child(server, parent)
        children.append(pid)
    return children


def _serve_child(server: FakeJiraHTTPServer, parent: int) -> NoReturn:
    """A forked server process: serves until SIGTERM/SIGINT or until its parent is gone, then exits
    without the parent's clean-up (the certificate directory is the parent's to remove)."""

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    def watch_parent() -> None:  # a parent killed with SIGKILL cannot stop its children
        while os.getppid() == parent:
            time.sleep(1)
        server.shutdown()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_parent, daemon=True).start()
    try:
        server.serve_forever()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
