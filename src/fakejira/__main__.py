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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fakejira", description="Serve an emulated Jira Cloud site.")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    p.add_argument("--issues", type=int, default=200, help="issues to generate")
    p.add_argument("--seed", type=int, default=1, help="generator seed: same seed, same data")
    p.add_argument("--timezone", type=_time_zone, default="UTC", help="time zone of the accounts")
    p.add_argument("--latency-ms", type=float, default=0.0, help="latency added to every /rest/ request")
    p.add_argument("--tls", action="store_true", help="serve https with a self-signed certificate")
    p.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=(0.0, 0),
        metavar="RATE[/CAPACITY]",
        help="token bucket: requests per second and burst size; 429 beyond it",
    )
    p.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500/502/503")
    p.add_argument("--search-lag-ms", type=float, default=0.0, help="search index lag behind writes")
    p.add_argument("--fault-seed", type=int, default=0, help="seed of random fault decisions")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    site = generate_site(args.issues, args.seed, args.timezone)
    faults = Faults(
        FaultConfig(
            latency_ms=args.latency_ms,
            rate_limit=args.rate_limit[0],
            rate_limit_capacity=args.rate_limit[1],
            error_rate=args.error_rate,
            search_lag_ms=args.search_lag_ms,
            seed=args.fault_seed,
        )
    )
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
