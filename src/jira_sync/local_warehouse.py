"""Snowpark sessions for local runs: the embedded warehouse (a fakesnow server persisted in a folder, so no
Snowflake account is needed) or a real account named in connections.toml. Never used inside Snowflake.

A warehouse that cannot be opened (a folder that is a file or cannot be written, a damaged database file, a
connection that fails) raises `WarehouseError` with one line naming the fix, before anything is written.

The embedded warehouse answers a NULL timestamp as NULL, as Snowflake does (fakesnow alone answers 1970-01-01,
whichever client reads it): `null_timestamps` below says why it is corrected on the wire.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import json
import logging
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jira_sync.jira.errors import one_line

if TYPE_CHECKING:  # Snowpark is imported where a session is made: `jira-sync --help` must not wait for it
    from snowflake.connector import SnowflakeConnection
    from snowflake.snowpark import Session

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "JIRA_SYNC"
DEFAULT_SCHEMA = "JIRA"
DEFAULT_LOCAL_DIR = ".jira-sync/warehouse"

# Snowpark cancels queries on close; the embedded warehouse has nothing to cancel.
_NOP_REGEXES = [r"select system\$cancel_all_queries"]
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or used; the one-line message names the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class WarehouseSpecError(WarehouseError):
    """The ``--warehouse`` argument itself is wrong (a usage error)."""


class _ServerErrors(logging.Handler):
    """Keeps the last error the embedded warehouse's server logged: its client only sees "HTTP 500", and the
    server's own traceback would otherwise land on stderr. ``jira-sync --debug`` still shows it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.last = one_line(str(error) if error else record.getMessage())
        log.debug("embedded warehouse server: %s", record.getMessage(), exc_info=record.exc_info)


_SERVER_ERRORS = _ServerErrors()


def local_folder(spec: str | None, connection: str | None = None) -> Path | None:
    """The folder of a ``local:DIR`` warehouse (None for a ``--connection``), checked without touching it."""
    if connection:
        return None
    spec = spec or f"local:{DEFAULT_LOCAL_DIR}"
    if not spec.startswith("local:") or not spec[len("local:") :].strip():
        raise WarehouseSpecError(
            f"--warehouse must look like local:DIR, not {spec!r} (or use --connection NAME for a Snowflake account)"
        )
    path = Path(spec[len("local:") :]).expanduser()
    if path.exists() and not path.is_dir():
        raise WarehouseSpecError(
            f"--warehouse {spec}: {path} is a file, not a folder; point --warehouse at a folder "
            "(it is created if missing)"
        )
    return path


@contextlib.contextmanager
def embedded_server(
    session_parameters: dict[str, Any] | None = None, app: Any = None
) -> Iterator[dict[str, Any]]:
    """A fakesnow server on a free loopback port, in a daemon thread; yields Snowpark connection kwargs.

    Like `fakesnow.server()`, but quiet (it logs every request at INFO) and startable more than once per
    process: calling `fakesnow.server()` imports the `fakesnow.server` module, which replaces that very
    function on the package, so a second call fails. `app`: an ASGI app to serve instead of fakesnow's own
    (the deploy tests wrap it in one that records what the `snow` CLI sends). Either answers NULL timestamps
    as NULL, as Snowflake does (`null_timestamps`).
    """
    import uvicorn
    from fakesnow.server import app as fakesnow_app

    app = null_timestamps(app or fakesnow_app)

    for noisy in ("fakesnow", "fakesnow.server", "sqlglot", "snowflake"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name in ("uvicorn.error", "fakesnow.server"):
        if _SERVER_ERRORS not in logging.getLogger(name).handlers:
            logging.getLogger(name).addHandler(_SERVER_ERRORS)
    logging.getLogger("uvicorn.error").propagate = False  # an ASGI traceback; fakesnow's own errors propagate
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)
    server = uvicorn.Server(config)
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
    """A Snowpark Session on a fakesnow server whose databases persist in `folder` (created if missing).

    Raises `WarehouseError` if the folder cannot be written or its database file is damaged.
    """
    path = local_folder(f"local:{folder}")
    assert path is not None
    path = path.resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise WarehouseError(
            f"cannot write to the warehouse folder {path} ({exc.strerror or exc}); choose a folder you can "
            "write to (--warehouse local:DIR)"
        ) from None
    database_file = path / f"{database}.db"
    _check_database_file(database_file)
    parameters = {"FAKESNOW_DB_PATH": str(path), "nop_regexes": _NOP_REGEXES}
    from snowflake.snowpark import Session

    with embedded_server(parameters) as connection:
        _SERVER_ERRORS.last = None
        session = Session.builder.configs({**connection, "server_session_keep_alive": True}).create()
        token = _server_session_token(session)
        try:
            try:
                session.sql(f"CREATE DATABASE IF NOT EXISTS {database}").collect()
                session.sql(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}").collect()
                session.sql(f"USE SCHEMA {database}.{schema}").collect()
            except Exception as exc:  # fakesnow answers what DuckDB raised as a bare HTTP 500
                detail = _SERVER_ERRORS.last or first_line(exc)
                raise WarehouseError(
                    f"cannot open the embedded warehouse in {path}: {detail}; if {database_file.name} is "
                    "damaged, move it away (the next run loads everything again) or restore it from a backup"
                ) from None
            yield session
        finally:
            session.close()
            _release_server_session(token)


def _server_session_token(session: Session) -> str | None:
    connector = getattr(getattr(session, "_conn", None), "_conn", None)
    return getattr(getattr(connector, "rest", None), "token", None)


def _release_server_session(token: str | None) -> None:
    """Drop the server's side of a closed session. fakesnow keeps every session's DuckDB connection, and so
    its database file, until the process ends (sessions skip the logout, see tests/conftest.py): without
    this the same folder could not be opened again in this process."""
    from fakesnow import server

    connection = server.sessions.pop(token, None) if token else None
    if connection is not None:
        connection.close()
        del connection
        gc.collect()  # DuckDB lets go of the file when the last reference (some in cycles) is gone


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (connector errors run on for lines), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_database_file(database_file: Path) -> None:
    """Refuse a database file that is not DuckDB's (garbage, truncated to nothing useful, another format)."""
    try:
        with database_file.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise WarehouseError(
            f"cannot read the warehouse database {database_file} ({exc.strerror or exc}); check its permissions"
        ) from None
    if head and head[8:12] != _DUCKDB_MAGIC:
        raise WarehouseError(
            f"{database_file} is not a DuckDB database (damaged, or not written by jira-sync); move it away "
            "to start afresh (the next run loads everything again) or restore it from a backup"
        )


@contextlib.contextmanager
def connection_session(name: str) -> Iterator[Session]:
    """A Snowpark Session on a real account, from a named connection in connections.toml."""
    from snowflake.snowpark import Session

    try:
        session = Session.builder.config("connection_name", name).create()
    except Exception as exc:  # the connector's own errors: a missing name, a refused login, no network
        raise _cannot_connect(name, exc) from None
    try:
        yield session
    finally:
        session.close()


@contextlib.contextmanager
def connector_connection(name: str) -> Iterator[SnowflakeConnection]:
    """A plain connector connection from connections.toml, for commands that only send statements and read
    rows (`jira-sync check --connection`): Snowpark, with pandas behind it, is not imported for them."""
    import snowflake.connector

    try:
        connection = snowflake.connector.connect(connection_name=name)
    except Exception as exc:
        raise _cannot_connect(name, exc) from None
    try:
        yield connection
    finally:
        connection.close()


def _cannot_connect(name: str, exc: BaseException) -> WarehouseError:
    return WarehouseError(
        f"cannot connect with the connection {name!r}: {first_line(exc)}; "
        "check it in connections.toml (snow connection test -c NAME)"
    )


@contextlib.contextmanager
def open_warehouse(spec: str | None = None, connection: str | None = None) -> Iterator[Session]:
    """`local:DIR` (the default, in .jira-sync/warehouse) or a connections.toml name."""
    folder = local_folder(spec, connection)
    if folder is None:
        assert connection is not None
        with connection_session(connection) as session:
            yield session
        return
    with embedded_session(folder) as session:
        yield session


# --- NULL timestamps ----------------------------------------------------------------------------------------
#
# NULL timestamps from the embedded warehouse as NULL: an ASGI wrapper around the fakesnow server.
#
# Snowflake sends a query's rows to the connector as Arrow (`queryResultFormat: arrow`), a timestamp column as
# a struct of `epoch`, `fraction` (and `timezone` for TIMESTAMP_TZ), and a NULL timestamp as a NULL *struct*.
# fakesnow 0.12.1 builds those structs without a validity bitmap (`fakesnow.arrow.timestamp_to_sf_struct`):
# the NULL survives only in the children, and the connector, which reads a struct's own validity and then
# its children's values, turns every NULL TIMESTAMP_TZ, _NTZ or _LTZ into 1970-01-01. Measured on
# connector 4.7.5 and Snowpark 1.53 against fakesnow 0.12.1, no client-side path recovers it:
# `Session.sql().collect()`, `DataFrame.to_pandas()`, `cursor.fetchall()` and `cursor.fetch_arrow_all()` all
# answer 1970-01-01 (or its pandas Timestamp), and the JSON result format the connector could ask for instead
# is refused (`ALTER SESSION SET PYTHON_CONNECTOR_QUERY_RESULT_FORMAT = 'json'`: not implemented). Rewriting
# the user's SQL cannot do it either: a `SELECT *` around it changes nothing, and adding `col IS NULL` per
# column needs the column list first, fails on SHOW/DESCRIBE/DML, and drops the inner ORDER BY's guarantee.
#
# So the answer is corrected where it is wrong, on the wire: for the query endpoint only, every timestamp
# struct whose `epoch` child is NULL becomes a NULL struct, as Snowflake sends it. Every client path then
# reads a real None (tests/jira_sync/test_cli_output.py checks `collect()` and the cursor). This relies only on
# Snowflake's wire format, not on fakesnow's internals: if fakesnow fixes its encoding, this changes nothing.
# On a real account nothing is wrapped; Snowflake's answers are already right.

_QUERY_PATH = "/queries/v1/query-request"

_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Message, _Receive, _Send], Awaitable[None]]


def null_timestamps(app: _ASGIApp) -> _ASGIApp:
    """`app` with its query answers' NULL timestamps sent as NULL structs (see the comment above)."""

    async def wrapped(scope: _Message, receive: _Receive, send: _Send) -> None:
        if scope.get("type") != "http" or scope.get("path") != _QUERY_PATH:
            await app(scope, receive, send)
            return
        start: _Message | None = None
        chunks: list[bytes] = []

        async def corrected(message: _Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = list(start.get("headers", []))
            body = b"".join(chunks)
            if not any(name.lower() == b"content-encoding" for name, _ in headers):
                body = fix_answer(body)
            headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, corrected)

    return wrapped


def fix_answer(body: bytes) -> bytes:
    """A query answer (JSON) with its Arrow rowset's NULL timestamps made NULL structs; else `body` as is."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict) or data.get("queryResultFormat") != "arrow" or not data.get("rowsetBase64"):
        return body
    fixed = fix_rowset(base64.b64decode(data["rowsetBase64"]))
    if fixed is None:
        return body
    data["rowsetBase64"] = base64.b64encode(fixed).decode("ascii")
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


def fix_rowset(rowset: bytes) -> bytes | None:
    """An Arrow IPC stream with each timestamp struct NULL where its `epoch` is; None if none needed it."""
    import pyarrow as pa

    table = pa.ipc.open_stream(rowset).read_all()
    columns = []
    changed = False
    for field, column in zip(table.schema, table.columns, strict=True):
        logical = (field.metadata or {}).get(b"logicalType", b"").upper()
        if pa.types.is_struct(field.type) and logical.startswith(b"TIMESTAMP"):
            fixed = [_null_where_epoch_is(chunk) for chunk in column.chunks]
            if any(chunk is not None for chunk in fixed):
                changed = True
                pairs = zip(fixed, column.chunks, strict=True)
                column = pa.chunked_array(
                    [old if new is None else new for new, old in pairs], type=field.type
                )
        columns.append(column)
    if not changed:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(pa.Table.from_arrays(columns, schema=table.schema))
    return sink.getvalue().to_pybytes()


def _null_where_epoch_is(chunk: Any) -> Any | None:
    """The struct array NULL wherever its `epoch` is; None if that changes nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    children = [chunk.field(i) for i in range(chunk.type.num_fields)]
    # `epoch` comes first in Snowflake's timestamp structs; a struct already NULL stays NULL
    missing = pc.or_(children[0].is_null(), chunk.is_null())
    if missing.true_count == chunk.null_count:  # nothing hidden: already right, or no NULLs at all
        return None
    return pa.StructArray.from_arrays(children, fields=list(chunk.type), mask=missing)
