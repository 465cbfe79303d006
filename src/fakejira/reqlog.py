"""The request log: what clients asked, so tests and benchmarks can count calls per endpoint."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class RequestLog:
    """Thread-safe list of served /rest/ requests plus counts per endpoint ("METHOD /path/{template}")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._counts: Counter[str] = Counter()

    def add(
        self,
        method: str,
        path: str,
        endpoint: str,
        status: int,
        *,
        jql: str | None = None,
        account: str | None = None,
        fault: str | None = None,
    ) -> None:
        entry: dict[str, Any] = {
            "time": int(time.time() * 1000),
            "method": method,
            "path": path,
            "endpoint": endpoint,
            "status": status,
        }
        if jql is not None:
            entry["jql"] = jql
        if account is not None:
            entry["account"] = account
        if fault is not None:
            entry["fault"] = fault
        with self._lock:
            self._entries.append(entry)
            self._counts[endpoint] += 1

    def snapshot(self) -> dict[str, Any]:
        """{"requests": [entries, oldest first], "counts": {endpoint: n}, "total": n}."""
        with self._lock:
            return {
                "requests": list(self._entries),
                "counts": dict(self._counts),
                "total": len(self._entries),
            }

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts.clear()
