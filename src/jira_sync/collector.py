"""Python's cyclic garbage collector, paced for a sync's stream of large short-lived trees.

A bulk fetch answer of 100 issues decodes into some 60,000 dicts and lists, and a sync keeps a few dozen
such answers alive at once (fetched ahead, being flattened, being written). With the default pacing, a
young-generation pass runs every 700 container allocations: each decode sets off dozens of passes, and each
pass ages everything still held into the older generations, which are traversed again and again. Measured
on a walk of 50,000 issues (`python -m bench.bench_fetch`), that was 5 of the client's 12 seconds of CPU.

These trees hold no cycles: reference counting frees every one of them the moment its batch is written, and
the young generation's count goes down again as they are freed, so a threshold well above the live set
means no pass at all in the steady state (at 50,000 issues: a download of 9 s instead of 15 s). Garbage
that does form cycles is collected once a million containers of it have piled up, so whatever a cycle holds
must be small: a Snowpark statement's plan is such a cycle, and the warehouse empties the list of bind
values it hands to one (a MERGE's rows, up to 8 MB) once the statement has run.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "paced_for_bulk_data"]

YOUNG_THRESHOLD = 1_000_000
"""Net container allocations between young-generation passes while paced (the default is 700): above the
live set of a sync's fetched-ahead batches (about 300,000 containers), so the steady state sets off none."""

_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def paced_for_bulk_data() -> Iterator[None]:
    """Raise the young generation's threshold to YOUNG_THRESHOLD for the duration; nested and concurrent
    uses share one change, and the last to leave restores the thresholds found. A threshold already higher
    is kept as it is."""
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            young, *older = _saved
            gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
