"""How many requests a run keeps in flight: as many as Jira answers well, never more than the source allows.

An AIMD limit, the scheme TCP congestion control and Netflix's concurrency-limits use: it starts at
``start`` and doubles every round trip while answers come back clean and every slot is busy (slow start);
after the first sign of pressure it halves and then grows by one per round trip (congestion avoidance).
Pressure is what Jira says about its rate limit:

- a 429, or a 503 with ``Retry-After``: halve, and hold *every* request until the ``Retry-After`` has passed,
  so the threads do not storm a limit that has already said no;
- ``X-RateLimit-NearLimit: true`` or a ``RateLimit-Reason`` on a good answer: less than a fifth of some
  budget is left; step back by a quarter before Jira starts refusing.

A request that started before the latest step down does not step down again (its answer describes the load
that step already answered for), so a burst of refusals halves the limit once, not once per request. No
maintained Python library adapts a thread pool's concurrency this way (aiolimiter and pyrate-limiter cap a
fixed rate, which would have to be known in advance); the whole policy is the small class below.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

__all__ = ["AdaptiveLimit"]

NEAR_LIMIT_FACTOR = 0.75  # Jira warns before it refuses: step back gently
REFUSED_FACTOR = 0.5  # Jira refused: step back hard


class AdaptiveLimit:
    """Slots for requests in flight, between 1 and ``ceiling``; thread-safe. Use :meth:`slot` around one
    HTTP exchange and report its outcome with :meth:`answered` or :meth:`refused`."""

    def __init__(self, ceiling: int, start: int | None = None) -> None:
        if ceiling < 1:
            raise ValueError("ceiling must be at least 1")
        self.ceiling = int(ceiling)
        self._limit = float(min(self.ceiling, start or self.ceiling))
        self._slow_start = self._limit < self.ceiling
        self._in_flight = 0
        self._epoch = 0  # bumped at every step down
        self._resume_at = 0.0  # monotonic time before which nothing is sent (Retry-After)
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        """How many requests may be in flight now."""
        return max(1, int(self._limit))

    @property
    def in_flight(self) -> int:
        """How many requests hold a slot now."""
        return self._in_flight

    @contextlib.contextmanager
    def slot(self) -> Iterator[int]:
        """Wait for a free slot (and for any ``Retry-After`` pause to end), hold it for the body of the
        ``with``; yields the epoch to hand back to :meth:`answered` or :meth:`refused`."""
        with self._changed:
            while True:
                pause = self._resume_at - time.monotonic()
                if pause > 0:
                    self._changed.wait(pause)
                elif self._in_flight < self.limit:
                    break
                else:
                    self._changed.wait()
            self._in_flight += 1
            epoch = self._epoch
        try:
            yield epoch
        finally:
            with self._changed:
                self._in_flight -= 1
                self._changed.notify_all()

    def answered(self, epoch: int, *, near_limit: bool = False) -> None:
        """A request that began in ``epoch`` got an answer; ``near_limit``: Jira said a budget runs low."""
        with self._changed:
            if near_limit:
                self._step_down(epoch, NEAR_LIMIT_FACTOR)
            elif 2 * self._in_flight >= self.limit:  # grow only while the caller keeps the slots busy
                self._limit = min(self.ceiling, self._limit + (1 if self._slow_start else 1 / self._limit))
            self._changed.notify_all()

    def refused(self, epoch: int, retry_after: float | None = None) -> None:
        """Jira refused a request that began in ``epoch`` (429, or 503 with ``Retry-After``): halve, and
        send nothing more until ``retry_after`` seconds have passed."""
        with self._changed:
            if retry_after:
                self._resume_at = max(self._resume_at, time.monotonic() + retry_after)
            self._step_down(epoch, REFUSED_FACTOR)
            self._changed.notify_all()

    def _step_down(self, epoch: int, factor: float) -> None:
        self._slow_start = False
        if epoch != self._epoch:
            return  # this request was sent before the latest step down, which already answered for it
        self._limit = max(1.0, self._limit * factor)
        self._epoch += 1
