"""Shared by the fault tests: one emulator per module (seed from the module's `SEED`), reset to calm before
and after every test, and a bounded poll for what a fault changes over time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fixtures_conformance import JiraHttp, http_for

from fakejira import FakeJira

CALM = {
    "latency_ms": 0,
    "rate_limit": 0,
    "rate_limit_capacity": 0,
    "error_rate": 0,
    "drop_rate": 0,
    "truncate_rate": 0,
    "search_lag_ms": 0,
    "trickle_rate": 0,
    "trickle_interval_ms": 2000,
    "clock_offset_ms": 0,
    "script": [],
    "seed": 0,
}


@pytest.fixture(scope="module")
def jira(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with FakeJira(issues=40, seed=getattr(request.module, "SEED", 31)) as running:
        yield running


@pytest.fixture(scope="module")
def api(jira: FakeJira) -> JiraHttp:
    return http_for(jira)


@pytest.fixture(autouse=True)
def calm(jira: FakeJira) -> Iterator[None]:
    """Every test starts and ends with no faults configured."""
    jira.set_faults(**CALM)
    yield
    jira.set_faults(**CALM)


def eventually(check: Callable[[], bool], attempts: int = 200, pause: float = 0.05) -> bool:
    """Poll ``check`` a bounded number of times; True as soon as it holds."""
    for _ in range(attempts):
        if check():
            return True
        time.sleep(pause)
    return False
