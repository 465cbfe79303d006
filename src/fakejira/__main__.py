"""`python -m fakejira --port 0 --issues N --seed S`: serve an emulated Jira Cloud site until SIGINT/SIGTERM.

The first stdout line is the base URL (flushed at once, so a parent process can read it), then the
credentials, then the CA bundle path with --tls.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
import zoneinfo

from fakejira.faults import FaultConfig, Faults
from fakejira.generator import (
    BEARER_TOKEN,
    DEMO_EMAIL,
    DEMO_TOKEN,
    LIMITED_EMAIL,
    LIMITED_TOKEN,
    generate_site,
)
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
    site = generate_site(args.issues, args.seed, args.timezone)
    tls_dir = make_tls_dir() if args.tls else None
    server = FakeJiraHTTPServer(App(site, faults), args.port, tls_dir)
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
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        if tls_dir is not None:
            shutil.rmtree(tls_dir, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
