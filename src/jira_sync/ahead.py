"""Work on the next item while the caller handles this one: `prepared_ahead`.

A sync writes a batch (waiting on the warehouse) and then flattens the next one and asks Jira for its child
rows (comments, changelog pages); done one after the other, the client's CPU and Jira's round trips sit idle
while the warehouse works, and the other way round. Here the next batch is pulled and prepared on a thread
of its own while the caller writes the current one. The caller's thread alone talks to the warehouse, so the
Snowpark session is never shared between threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["prepared_ahead"]

T = TypeVar("T")
R = TypeVar("R")

_END = object()


def prepared_ahead(items: Iterable[T], prepare: Callable[[T], R]) -> Iterator[tuple[T, R]]:
    """Each item with `prepare(item)`, in order, one item pulled and prepared ahead on another thread.

    An error pulling or preparing an item is raised where that item would have been handed out, after the
    items before it. Closing this generator early waits for the item being prepared (a pull cannot be
    interrupted halfway), then closes `items`.
    """
    iterator = iter(items)

    def pull_and_prepare() -> object:
        item = next(iterator, _END)
        return item if item is _END else (item, prepare(item))  # type: ignore[arg-type]

    executor = ThreadPoolExecutor(1, thread_name_prefix="jira-sync prepare")
    try:
        future = executor.submit(pull_and_prepare)
        while (got := future.result()) is not _END:
            future = executor.submit(pull_and_prepare)  # the next, while the caller handles this one
            yield got  # type: ignore[misc]
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
