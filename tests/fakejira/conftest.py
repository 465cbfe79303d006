"""Fixtures for the emulator's own tests: a small FakeJira per test and an authenticated HTTP session.

Sites are small (generating 80 issues takes milliseconds) so each test gets a fresh one and may mutate it.
Conformance modules build their own module-scoped emulators; their fixture names shadow these.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from fakejira import FakeJira


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=80, seed=11) as running:
        yield running


@pytest.fixture
def http(jira: FakeJira) -> Iterator[requests.Session]:
    """A session authenticated as the default (admin) account."""
    with requests.Session() as session:
        session.auth = jira.auth
        yield session
