"""Snowpark sessions for local runs: the embedded warehouse (a fakesnow server persisted in a folder, so no
Snowflake account is needed) or a real account named in connections.toml. Never used inside Snowflake."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

from snowflake.snowpark import Session

DEFAULT_DATABASE = "JIRA_SYNC"
DEFAULT_SCHEMA = "JIRA"
DEFAULT_LOCAL_DIR = ".jira-sync/warehouse"

# Snowpark cancels queries on close; the embedded warehouse has nothing to cancel.
_NOP_REGEXES = [r"select system\$cancel_all_queries"]


def _quiet_embedded_server() -> None:
    """The embedded server logs every HTTP request at INFO (uvicorn configures that when it starts, so this
    runs after): keep the terminal for what the user asked to see."""
    for noisy in ("uvicorn", "uvicorn.access", "uvicorn.error", "fakesnow", "sqlglot", "snowflake"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)


@contextlib.contextmanager
def embedded_session(
    folder: str | Path, database: str = DEFAULT_DATABASE, schema: str = DEFAULT_SCHEMA
) -> Iterator[Session]:
    """A Snowpark Session on a fakesnow server whose databases persist in `folder`."""
    import fakesnow

    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    parameters = {"FAKESNOW_DB_PATH": str(path), "nop_regexes": _NOP_REGEXES}
    with fakesnow.server(session_parameters={"FAKESNOW_DB_PATH": str(path)}) as connection:
        _quiet_embedded_server()
        session = Session.builder.configs(
            {**connection, "session_parameters": parameters, "server_session_keep_alive": True}
        ).create()
        try:
            session.sql(f"CREATE DATABASE IF NOT EXISTS {database}").collect()
            session.sql(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}").collect()
            session.sql(f"USE SCHEMA {database}.{schema}").collect()
            yield session
        finally:
            session.close()


@contextlib.contextmanager
def connection_session(name: str) -> Iterator[Session]:
    """A Snowpark Session on a real account, from a named connection in connections.toml."""
    session = Session.builder.config("connection_name", name).create()
    try:
        yield session
    finally:
        session.close()


@contextlib.contextmanager
def open_warehouse(spec: str | None = None, connection: str | None = None) -> Iterator[Session]:
    """`local:DIR` (the default, in .jira-sync/warehouse) or a connections.toml name."""
    if connection:
        with connection_session(connection) as session:
            yield session
        return
    spec = spec or f"local:{DEFAULT_LOCAL_DIR}"
    if not spec.startswith("local:") or not spec[len("local:") :]:
        raise ValueError(f"--warehouse must look like local:DIR, not {spec!r}")
    with embedded_session(spec[len("local:") :]) as session:
        yield session
