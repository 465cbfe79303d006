"""Time for the client's retries that passes only when they sleep: retry tests count and check their waits
instead of spending them, and the same run makes the same decisions on a fast or a busy machine.

`JiraClient` takes no clock or sleep function, so :meth:`VirtualClock.install` swaps the `time` module seen by
tenacity's sleep, by tenacity's attempt timing and by the client module for one with virtual `sleep`,
`monotonic` and `time`: a sleep returns at once and moves the clock on by what it was asked to wait, for the
thread that slept (each request's retries, timing and deadline live in one thread, and a wait in one thread
must not age another's request). Nothing else in the process (the emulator, requests, fakesnow) is affected.
"""

from __future__ import annotations

import threading
import time
import types

import pytest
import tenacity
import tenacity.nap

import jira_sync.jira.client as client_module


class VirtualClock:
    """``sleeps``: every wait asked for, in order. ``wall_start``: pin ``time.time()`` (an epoch second) so a
    ``Retry-After`` date yields an exact wait; None follows the machine's clock, shifted by the sleeps."""

    def __init__(self, wall_start: float | None = None, *, frozen: bool = False) -> None:
        self.sleeps: list[float] = []
        self.wall_start = wall_start
        self.frozen = frozen  # monotonic time is the sleeps alone, from 0: a wait's end is exact
        self._offset = threading.local()
        self._lock = threading.Lock()

    def _slept_here(self) -> float:
        return getattr(self._offset, "seconds", 0.0)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(float(seconds))
        self._offset.seconds = self._slept_here() + float(seconds)

    def monotonic(self) -> float:
        return (0.0 if self.frozen else time.monotonic()) + self._slept_here()

    def time(self) -> float:
        return (time.time() if self.wall_start is None else self.wall_start) + self._slept_here()

    @property
    def slept(self) -> float:
        return sum(self.sleeps)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> VirtualClock:
        def patched(**overrides: object) -> types.SimpleNamespace:
            names = {name: getattr(time, name) for name in dir(time) if not name.startswith("_")}
            return types.SimpleNamespace(**{**names, **overrides})

        monkeypatch.setattr(tenacity.nap, "time", patched(sleep=self.sleep))
        monkeypatch.setattr(tenacity, "time", patched(monotonic=self.monotonic))
        monkeypatch.setattr(client_module, "time", patched(monotonic=self.monotonic, time=self.time))
        return self
