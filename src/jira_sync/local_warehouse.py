"""Snowpark sessions for local runs: the embedded warehouse (a fakesnow server persisted in a folder, so no
Snowflake account is needed) or a real account named in connections.toml. Never used inside Snowflake."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from snowflake.snowpark import Session

DEFAULT_DATABASE = "JIRA_SYNC"
DEFAULT_SCHEMA = "JIRA"
DEFAULT_LOCAL_DIR = ".jira-sync/warehouse"

# Snowpark cancels queries on close; the embedded warehouse has nothing to cancel.
_NOP_REGEXES = [r"select system\$cancel_all_queries"]


@contextlib.contextmanager
def embedded_server(session_parameters: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """A fakesnow server on a free loopback port, in a daemon thread; yields Snowpark connection kwargs.

    Like `fakesnow.server()`, but quiet (it logs every request at INFO) and startable more than once per
    process: calling `fakesnow.server()` imports the `fakesnow.server` module, which replaces that very
    function on the package, so a second call fails.
    """
    import uvicorn
    from fakesnow.server import app

    for noisy in ("fakesnow", "fakesnow.server", "sqlglot", "snowflake"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="embedded warehouse", daemon=True)
    thread.start()
    while thread.is_alive() and not server.started:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the embedded warehouse (fakesnow server) did not start")
    try:
        yield {
            "user": "fake",
            "password": "snow",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": port,
            "protocol": "http",
            "session_parameters": {
                "CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False,
                **(session_parameters or {}),
            },
            "network_timeout": 1,
        }
    finally:
        server.should_exit = True
        thread.join()


@contextlib.contextmanager
def embedded_session(
    folder: str | Path, database: str = DEFAULT_DATABASE, schema: str = DEFAULT_SCHEMA
) -> Iterator[Session]:
    """A Snowpark Session on a fakesnow server whose databases persist in `folder`."""
    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    parameters = {"FAKESNOW_DB_PATH": str(path), "nop_regexes": _NOP_REGEXES}
    with embedded_server(parameters) as connection:
        session = Session.builder.configs({**connection, "server_session_keep_alive": True}).create()
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
