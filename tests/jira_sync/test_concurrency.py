"""The adaptive in-flight limit: its policy as properties (Hypothesis), its pause with threads, and a whole
walk against the emulator's rate limit (real HTTP)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from fakejira import FakeJira
from jira_sync.incremental import WindowWalk
from jira_sync.jira import JiraClient, JiraCredentials, source_jql
from jira_sync.jira.concurrency import AdaptiveLimit

EVENTS = st.lists(
    st.tuples(st.sampled_from(["ok", "near", "refused"]), st.integers(min_value=0, max_value=3)), max_size=200
)


@given(ceiling=st.integers(min_value=1, max_value=64), start=st.integers(min_value=1, max_value=64), events=EVENTS)
def test_the_limit_stays_between_one_and_the_ceiling(ceiling: int, start: int, events: list) -> None:
    """Whatever Jira answers, in whatever order and from whichever epoch, the limit is never below 1 nor
    above the source's ceiling."""
    limit = AdaptiveLimit(ceiling, start=start)
    for kind, age in events:
        with limit.slot() as epoch:
            epoch = max(0, epoch - age)  # answers of requests sent before some step downs
            if kind == "refused":
                limit.refused(epoch)
            else:
                limit.answered(epoch, near_limit=kind == "near")
        assert 1 <= limit.limit <= ceiling


@given(ceiling=st.integers(min_value=2, max_value=64), refusals=st.integers(min_value=1, max_value=64))
def test_a_burst_of_refusals_halves_the_limit_once(ceiling: int, refusals: int) -> None:
    """Requests sent together and refused together describe one overload: the limit halves once, not once
    per request (which would collapse it to 1)."""
    limit = AdaptiveLimit(ceiling)
    with limit.slot() as epoch:
        pass
    for _ in range(refusals):
        limit.refused(epoch)
    assert limit.limit == max(1, ceiling // 2)


@settings(max_examples=50)
@given(ceiling=st.integers(min_value=2, max_value=64), start=st.integers(min_value=1, max_value=8))
def test_busy_clean_answers_grow_to_the_ceiling_quickly(ceiling: int, start: int) -> None:
    """Slow start: while every slot is busy and answers are clean, each answer adds a slot, so the limit
    doubles every round trip and reaches the ceiling in about log2(ceiling / start) rounds."""
    limit = AdaptiveLimit(ceiling, start=min(start, ceiling))
    rounds = 0
    while limit.limit < ceiling:
        rounds += 1
        held = limit.limit
        slots = [limit.slot() for _ in range(held)]
        epochs = [slot.__enter__() for slot in slots]
        for epoch in epochs:  # a round: every request in flight answers, then their slots are free
            limit.answered(epoch)
        for slot in slots:
            slot.__exit__(None, None, None)
    assert rounds <= (ceiling // max(1, min(start, ceiling))).bit_length()


def test_an_idle_caller_does_not_grow_the_limit() -> None:
    """One request at a time says nothing about how many Jira would take: the limit stays where it is."""
    limit = AdaptiveLimit(16, start=4)
    for _ in range(100):
        with limit.slot() as epoch:
            limit.answered(epoch)
    assert limit.limit == 4


def test_near_limit_steps_back_before_jira_refuses() -> None:
    limit = AdaptiveLimit(16)
    with limit.slot() as epoch:
        limit.answered(epoch, near_limit=True)
    assert limit.limit == 12


def test_retry_after_holds_every_request_not_only_the_refused_one() -> None:
    """After a 429 with Retry-After, no other thread sends until the pause is over: no 429 storm."""
    limit = AdaptiveLimit(8)
    with limit.slot() as epoch:
        limit.refused(epoch, retry_after=0.3)
    sent_at: list[float] = []
    started = time.monotonic()

    def send() -> None:
        with limit.slot():
            sent_at.append(time.monotonic() - started)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(sent_at) == 4 and min(sent_at) >= 0.29


def test_slots_never_exceed_the_limit_under_threads() -> None:
    limit = AdaptiveLimit(3, start=3)
    lock = threading.Lock()
    holding = [0, 0]  # now, most

    def work() -> None:
        for _ in range(20):
            with limit.slot():
                with lock:
                    holding[0] += 1
                    holding[1] = max(holding[1], holding[0])
                time.sleep(0.001)
                with lock:
                    holding[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert holding[1] == 3


def test_a_walk_under_jira_rate_limit_backs_off_and_loses_nothing() -> None:
    """A whole window walk against the emulator's token bucket (real HTTP, real 429s with Retry-After and
    NearLimit warnings): every issue arrives, the limit came down from its ceiling, and the refusals stay
    few (the pause stops the others from storming the limit)."""
    with FakeJira(issues=600, seed=19, latency_ms=20, rate_limit=40, rate_limit_capacity=10) as jira:
        credentials = JiraCredentials(jira.token, jira.email)
        with JiraClient(jira.url, credentials, workers=16, backoff_seconds=0.05) as client:
            upper = datetime.now(UTC).replace(second=0, microsecond=0)
            walk = WindowWalk(
                client, source_jql("", ("ENG", "OPS", "DATA", "SUP", "MKT")), lower=None, upper=upper,
                time_zone=ZoneInfo("UTC"), batch_size=100, fields=["updated"],
            )  # fmt: skip
            fetched = {issue["id"] for batch in walk.batches() for issue in batch.issues}
            assert len(fetched) == 600 and walk.complete
            assert client.in_flight.limit < 16
            stats = client.stats.as_dict()
    assert stats["rate_limited"] <= 4, stats
