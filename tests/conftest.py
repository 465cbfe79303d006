"""Shared fixtures: the embedded warehouse (a fakesnow server) and Snowpark sessions on it.

One fakesnow server serves the whole test session (starting one costs about a second); every Snowpark session
a test gets is isolated: by default it has its own in-memory DuckDB (`FAKESNOW_DB_PATH=":isolated:"`), so
tests never see each other's tables and nothing needs dropping (fakesnow cannot DROP DATABASE).

Sessions connect with `server_session_keep_alive=True`: fakesnow's login gives no master token, so the
connector's logout fails half-way, leaves the session looking open, and Snowpark's atexit hook then tries to
close it again against a server that has gone (a stray thread traceback at exit). Skipping the logout closes
the client side cleanly. fakesnow keeps the in-memory data of every session it served until it stops.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings
from snowflake.snowpark import Session

from jira_sync.local_warehouse import embedded_server

# Property tests: a few dozen examples in the suite; `HYPOTHESIS_PROFILE=thorough` for a long exploration.
settings.register_profile("suite", max_examples=12, print_blob=True)
settings.register_profile("thorough", max_examples=400, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

# Snowpark ends a session with this query; fakesnow does not implement it.
NOP_REGEXES = [r"select system\$cancel_all_queries"]


@pytest.fixture(scope="session")
def fakesnow_conn_kwargs() -> Iterator[dict[str, Any]]:
    """Connection kwargs of a fakesnow server on loopback (user, password, account, host, port, ...).

    They carry fakesnow's `network_timeout=1`, which turns off client retries so a server error fails fast;
    statements that run longer than 1 s still complete (the connector's cancel request is a no-op there).
    """
    with embedded_server() as kwargs:
        yield kwargs


SessionFactory = Callable[..., Session]


@pytest.fixture
def make_snowpark_session(fakesnow_conn_kwargs: dict[str, Any]) -> Iterator[SessionFactory]:
    """A factory of Snowpark sessions on the fakesnow server, all closed after the test.

    `make_snowpark_session(database=None, schema="SYNC", shared=False)`: a fresh database name unless given;
    `shared=True` puts the session in the server's shared in-memory store, so several sessions of one test can
    see the same tables (give them the same database name).
    """
    sessions: list[Session] = []

    def make(database: str | None = None, schema: str = "SYNC", *, shared: bool = False) -> Session:
        params = {**fakesnow_conn_kwargs["session_parameters"], "nop_regexes": NOP_REGEXES}
        if not shared:
            params["FAKESNOW_DB_PATH"] = ":isolated:"
        config = {
            **fakesnow_conn_kwargs,
            "server_session_keep_alive": True,
            "database": database or f"TEST_{uuid.uuid4().hex[:12].upper()}",
            "schema": schema,
            "session_parameters": params,
        }
        session = Session.builder.configs(config).create()
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def snowpark_session(make_snowpark_session: SessionFactory) -> Session:
    """A Snowpark session on a fresh, isolated database and schema `SYNC` (both exist and are current)."""
    return make_snowpark_session()
