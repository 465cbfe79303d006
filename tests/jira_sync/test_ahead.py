"""prepared_ahead: the next item pulled and prepared on another thread while the caller handles this one."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_sync.ahead import prepared_ahead


@given(st.lists(st.integers(), max_size=30))
def test_every_item_comes_once_in_order_with_what_it_prepared(items: list[int]) -> None:
    assert list(prepared_ahead(items, lambda n: n * 2)) == [(n, n * 2) for n in items]


def test_the_next_item_is_prepared_while_the_caller_holds_this_one() -> None:
    prepared = {n: threading.Event() for n in range(3)}

    def prepare(n: int) -> int:
        prepared[n].set()
        return n

    handed = prepared_ahead(range(3), prepare)
    assert next(handed) == (0, 0)
    assert prepared[1].wait(timeout=10), "item 1 was not prepared while item 0 was held"
    assert not prepared[2].is_set()  # one ahead, not more
    assert list(handed) == [(1, 1), (2, 2)]


def test_an_error_comes_where_its_item_would_have_and_not_before() -> None:
    def prepare(n: int) -> int:
        if n == 2:
            raise ValueError("item 2 cannot be prepared")
        return n

    handed: list[int] = []
    with pytest.raises(ValueError, match="item 2"):
        for item, _ in prepared_ahead(range(5), prepare):
            handed.append(item)
    assert handed == [0, 1]


def test_closing_early_closes_the_source_once_nothing_runs_on_it() -> None:
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed.set()

    handed = prepared_ahead(source(), lambda n: n)
    assert next(handed) == (0, 0)
    handed.close()
    assert closed.is_set()
