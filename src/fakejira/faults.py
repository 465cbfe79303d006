"""Faults and limits the emulator injects into /rest/ traffic: latency, a token-bucket rate limit, 5xx
answers, dropped connections, truncated bodies, trickling bodies, search-index lag, and a site clock that is
off from the machine's (`clock_offset_ms`: every stamp the site writes, its `Date` header and JQL's `now`).

Random faults are decided from (seed, request number), so a sequential client meets the same faults on every
run; `script` lists exact faults for the next requests, for tests that need one specific failure.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

KINDS = ("ok", "429", "500", "502", "503", "503-retry", "504", "drop", "truncate", "trickle")
"""What a scripted entry may say; "503-retry" is a 503 carrying Retry-After; "trickle" sends the body one
byte every `trickle_interval_ms`."""
MAX_CLOCK_OFFSET_MS = 100 * 366 * 86_400_000
"""A site clock more than a century off is a typo, not a test."""


@dataclass
class FaultConfig:
    latency_ms: float = 0.0  # added to every /rest/ request
    rate_limit: float = 0.0  # token refill per second; 0 = no limit
    rate_limit_capacity: int = 0  # bucket size; 0 = same as the refill rate (at least 1)
    error_rate: float = 0.0  # share answered 500/502/503 (some 503 with Retry-After)
    drop_rate: float = 0.0  # share whose connection is closed without an answer
    truncate_rate: float = 0.0  # share whose body is cut short of its Content-Length
    search_lag_ms: float = 0.0  # writes reach the search index this late
    worklog_lag_ms: float = 60_000.0  # /worklog/updated and /deleted leave out the last minute, as Jira does
    seed: int = 0
    script: list[str] = field(default_factory=list)
    trickle_rate: float = 0.0  # share whose body is sent one byte at a time (a server that never quite stalls)
    trickle_interval_ms: float = 2000.0  # pause before each byte of a trickled body
    clock_offset_ms: float = 0.0  # the site's clock minus the machine's: stamps written, Date header, JQL now
    # Triggers for the sync's defences (served in rest_api.py):
    search_page_cap: int = 0  # at most this many issues per search page (0: Jira's own caps, 5,000 / 100)
    echo_credentials: list[int] = field(default_factory=list)  # next /rest/ answers: these statuses (0: as
    # usual), each with an error body that repeats the request's Authorization header and the raw token
    bulkfetch_unserved: int = 0  # the next N bulk fetches list every requested issue in issueErrors
    bulkfetch_unserved_ids: list[str] = field(default_factory=list)  # these ids/keys: in issueErrors always

    def validate(self) -> None:
        for name in ("error_rate", "drop_rate", "truncate_rate", "trickle_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("latency_ms", "rate_limit", "rate_limit_capacity", "search_lag_ms", "worklog_lag_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not 0 < self.trickle_interval_ms <= 600_000:
            raise ValueError("trickle_interval_ms must be above 0 and at most 600000 (10 minutes)")
        if not abs(self.clock_offset_ms) <= MAX_CLOCK_OFFSET_MS:  # also refuses NaN
            raise ValueError(f"clock_offset_ms must be a number of milliseconds within ±{MAX_CLOCK_OFFSET_MS}")
        unknown = [k for k in self.script if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown scripted faults {unknown}; use {', '.join(KINDS)}")


@dataclass(frozen=True)
class Decision:
    """What to do with one request: `kind` None = answer normally."""

    kind: str | None
    latency_s: float
    headers: dict[str, str]


class Faults:
    """Thread-safe fault decisions for /rest/ requests."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = config or FaultConfig()
        self.config.validate()
        self._count = 0
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self._reset_bucket()

    def _reset_bucket(self) -> None:
        self._tokens = float(self.capacity)
        self._stamp = time.monotonic()

    @property
    def capacity(self) -> int:
        cfg = self.config
        return cfg.rate_limit_capacity or max(1, math.ceil(cfg.rate_limit))

    def configure(self, **changes: Any) -> FaultConfig:
        """Change some settings (names of FaultConfig); unknown names raise ValueError."""
        known = {f.name for f in fields(FaultConfig)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        with self._lock:
            merged = FaultConfig(**{**asdict(self.config), **changes})
            merged.script = list(merged.script)
            merged.validate()
            self.config = merged
            if "seed" in changes:
                self._count = 0
            self._reset_bucket()
            return merged

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.config)

    def _take_token(self) -> tuple[bool, dict[str, str]]:
        cfg = self.config
        if cfg.rate_limit <= 0:
            return True, {}
        now = time.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * cfg.rate_limit)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            headers = {
                "X-RateLimit-Limit": str(self.capacity),
                "X-RateLimit-Remaining": str(int(self._tokens)),
            }
            if self._tokens < 0.2 * self.capacity:
                headers["X-RateLimit-NearLimit"] = "true"
            return True, headers
        return False, self.limited_headers((1 - self._tokens) / cfg.rate_limit)

    def limited_headers(self, wait_s: float) -> dict[str, str]:
        """Jira's 429 headers: Retry-After in seconds, reset as ISO minute, the burst-limit reason."""
        retry = max(1, math.ceil(wait_s))
        reset = datetime.now(UTC) + timedelta(seconds=retry, milliseconds=self.config.clock_offset_ms)
        return {
            "Retry-After": str(retry),
            "X-RateLimit-Limit": str(self.capacity),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{reset:%Y-%m-%dT%H:%MZ}",
            "RateLimit-Reason": "jira-burst-based",
        }

    def decide(self) -> Decision:
        """The fault (if any) for the next /rest/ request."""
        with self._lock:
            cfg = self.config
            latency = cfg.latency_ms / 1000
            self._count += 1
            if cfg.script:
                kind = cfg.script.pop(0)
                if kind == "429":
                    return Decision("429", latency, self.limited_headers(1))
                return Decision(None if kind == "ok" else kind, latency, {})
            allowed, headers = self._take_token()
            if not allowed:
                return Decision("429", latency, headers)
            roll = random.Random(f"{cfg.seed}/{self._count}").random()
            if roll < cfg.error_rate:
                kind = ("500", "502", "503", "503-retry")[int(roll / cfg.error_rate * 4)]
                return Decision(kind, latency, headers)
            roll -= cfg.error_rate
            if roll < cfg.drop_rate:
                return Decision("drop", latency, headers)
            roll -= cfg.drop_rate
            if roll < cfg.truncate_rate:
                return Decision("truncate", latency, headers)
            roll -= cfg.truncate_rate
            if roll < cfg.trickle_rate:
                return Decision("trickle", latency, headers)
            return Decision(None, latency, headers)
