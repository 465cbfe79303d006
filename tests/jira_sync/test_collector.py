"""The garbage collector's pacing during a sync: raised while any user is inside, restored after the last."""

from __future__ import annotations

import gc
import threading

from jira_sync.collector import YOUNG_THRESHOLD, paced_for_bulk_data


def test_the_threshold_is_raised_inside_and_restored_after_the_last_user_leaves() -> None:
    before = gc.get_threshold()
    with paced_for_bulk_data():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        with paced_for_bulk_data():  # nested: one change
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the outer user is still inside
    assert gc.get_threshold() == before


def test_a_higher_threshold_is_kept_and_restored_even_after_an_error() -> None:
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD * 2, *before[1:])
    try:
        try:
            with paced_for_bulk_data():
                assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
                raise KeyError("boom")
        except KeyError:
            pass
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
    finally:
        gc.set_threshold(*before)


def test_threads_entering_and_leaving_in_any_order_restore_the_threshold() -> None:
    before = gc.get_threshold()
    inside = threading.Barrier(4)

    def user() -> None:
        with paced_for_bulk_data():
            inside.wait(timeout=10)
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD

    threads = [threading.Thread(target=user) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert gc.get_threshold() == before
