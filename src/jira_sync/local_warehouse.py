"""Snowpark sessions for local runs: the embedded warehouse (a fakesnow server persisted in a folder, so no
Snowflake account is needed) or a real account named in connections.toml. Never used inside Snowflake.

The embedded warehouse runs in a process of its own (`python -m jira_sync.local_warehouse`), started on first
use and shared by every session of the process that started it (one start-up, about a second, overlapped with
Snowpark's import): its SQL translation (sqlglot), DuckDB and the JSON it decodes use another core, not the
client's, and its memory is not the client's either. It listens on a free loopback port, watches its stdin so
it ends with the process that started it (even one killed with SIGKILL), and is stopped cleanly at exit. Set
JIRA_SYNC_EMBEDDED_SERVER=thread to run it in a thread of the client instead, as before (the baseline of
bench/bench_sync.py); `embedded_server`, an in-thread server, serves the tests' isolated in-memory sessions
and any ASGI `app` given (the deploy tests' recorder), where a process would cost a start per test.

A warehouse that cannot be opened (a folder that is a file or cannot be written, a damaged database file, a
connection that fails) raises `WarehouseError` with one line naming the fix, before anything is written: the
server keeps the last error it logged (its client only sees "HTTP 500") and hands it over on request.

The embedded warehouse answers a NULL timestamp as NULL, as Snowflake does (fakesnow alone answers 1970-01-01,
whichever client reads it): `null_timestamps` below says why it is corrected on the wire. `tune_fakesnow`
says what else the server changes in fakesnow, for speed only.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import gc
import http.client
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from jira_sync import fastjson
from jira_sync.jira.errors import one_line

if TYPE_CHECKING:  # Snowpark is imported where a session is made: `jira-sync --help` must not wait for it
    from snowflake.connector import SnowflakeConnection
    from snowflake.snowpark import Session

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "JIRA_SYNC"
DEFAULT_SCHEMA = "JIRA"
DEFAULT_LOCAL_DIR = ".jira-sync/warehouse"
SERVER_MODE_ENV = "JIRA_SYNC_EMBEDDED_SERVER"
"""`thread`: the embedded warehouse's server runs in a thread of the client (the old shape); otherwise in a
process of its own."""

# Snowpark cancels queries on close; the embedded warehouse has nothing to cancel.
_NOP_REGEXES = [r"select system\$cancel_all_queries"]
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
_CONTROL = "/_jira_sync/"  # the server's own requests (last error, release a session), beside fakesnow's
_START_SECONDS = 120  # how long the server process may take to listen (imports on a loaded machine)
_STOP_SECONDS = 30  # how long it may take to close its databases when asked to stop


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or used; the one-line message names the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class WarehouseSpecError(WarehouseError):
    """The ``--warehouse`` argument itself is wrong (a usage error)."""


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


# --- the server: in a process of its own, or in a thread -----------------------------------------------------


class _ServerErrors(logging.Handler):
    """Keeps the last error the embedded warehouse's server logged: its client only sees "HTTP 500", and the
    server's own traceback would otherwise land on stderr. The client takes it with `_take_last_error`;
    ``jira-sync --debug`` logs it whole."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None
        self.detail: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self.last = one_line(str(error) if error else record.getMessage())
        self.detail = record.getMessage()
        if record.exc_info:
            self.detail += "\n" + "".join(traceback.format_exception(*record.exc_info))
        log.debug("embedded warehouse server: %s", record.getMessage(), exc_info=record.exc_info)


_SERVER_ERRORS = _ServerErrors()


def server_app(app: Any = None) -> Any:
    """The embedded warehouse's ASGI app: `app` (default fakesnow's), quiet, with fakesnow tuned
    (`tune_fakesnow`), NULL timestamps answered as NULL (`null_timestamps`) and the server's own requests
    (`_control`). Like `fakesnow.server()`, but startable more than once per process: calling
    `fakesnow.server()` imports the `fakesnow.server` module, which replaces that very function on the
    package, so a second call fails."""
    from fakesnow.server import app as fakesnow_app

    tune_fakesnow()
    for noisy in ("fakesnow", "fakesnow.server", "sqlglot", "snowflake"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
    for name in ("uvicorn.error", "fakesnow.server"):
        if _SERVER_ERRORS not in logging.getLogger(name).handlers:
            logging.getLogger(name).addHandler(_SERVER_ERRORS)
    logging.getLogger("uvicorn.error").propagate = False  # an ASGI traceback; fakesnow's own errors propagate
    return _control(null_timestamps(app or fakesnow_app))


def _connection_kwargs(port: int, session_parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Snowpark connection kwargs for the embedded warehouse listening on `port`."""
    return {
        "user": "fake",
        "password": "snow",
        "account": "fakesnow",
        "host": "127.0.0.1",
        "port": port,
        "protocol": "http",
        "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False, **(session_parameters or {})},
        "network_timeout": 1,
    }


@contextlib.contextmanager
def embedded_server(
    session_parameters: dict[str, Any] | None = None, app: Any = None
) -> Iterator[dict[str, Any]]:
    """A fakesnow server on a free loopback port, in a daemon thread of this process; yields Snowpark
    connection kwargs. `app`: an ASGI app to serve instead of fakesnow's own (the deploy tests wrap it in one
    that records what the `snow` CLI sends); either way it is served as `server_app` makes it."""
    import uvicorn

    app = server_app(app)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="embedded warehouse", daemon=True)
    thread.start()
    while thread.is_alive() and not server.started:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the embedded warehouse (fakesnow server) did not start")
    try:
        yield _connection_kwargs(port, session_parameters)
    finally:
        server.should_exit = True
        thread.join()


class ServerProcess:
    """The embedded warehouse's server in a process of its own: `python -m jira_sync.local_warehouse`.

    It prints its port when it listens, and reads its stdin: a line `stop` closes its databases and ends it;
    the end of its stdin without one (this process died, even by SIGKILL) ends it at once, so a new run can
    open the folder. It runs in a session of its own, so Ctrl-C in a terminal reaches this process only, which
    can still record how its run ended."""

    def __init__(self) -> None:
        package_root = str(Path(__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jira_sync.local_warehouse"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self._port: int | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    def port(self) -> int:
        """The port it listens on, once it does (waits for it; raises WarehouseError if it cannot start)."""
        with self._lock:
            if self._port is None:
                self._port = self._read_port()
            return self._port

    def _read_port(self) -> int:
        assert self.process.stdout is not None
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            ready = selector.select(_START_SECONDS)
        line = self.process.stdout.readline().decode(errors="replace").strip() if ready else ""
        if not line.isdigit():
            self.kill()
            raise WarehouseError(
                "the embedded warehouse (a fakesnow server in its own process) did not start"
                + (f": {line}" if line else "")
                + "; run again with jira-sync --debug, or set JIRA_SYNC_EMBEDDED_SERVER=thread"
            )
        return int(line)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Ask it to close its databases and end; kill it if it has not within _STOP_SECONDS."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.write(b"stop\n")
                self.process.stdin.close()
        try:
            self.process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


_SHARED: ServerProcess | None = None
_SHARED_LOCK = threading.Lock()


def server_process() -> ServerProcess:
    """This process's embedded warehouse server, started on first use (a dead one is replaced); stopped at
    exit. Returns at once: `ServerProcess.port` waits for it to listen."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or not _SHARED.alive():
            if _SHARED is None:
                atexit.register(stop_server_process)
            _SHARED = ServerProcess()
        return _SHARED


def stop_server_process() -> None:
    """Stop this process's embedded warehouse server, if one runs (at exit; tests and benchmarks too)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None:
            _SHARED.stop()
            _SHARED = None


def _thread_mode() -> bool:
    return os.environ.get(SERVER_MODE_ENV, "").strip().lower() == "thread"


@contextlib.contextmanager
def _embedded_connection(session_parameters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Connection kwargs of the embedded warehouse: this process's server process (Snowpark is imported while
    it starts), or a server in a thread (SERVER_MODE_ENV=thread) for as long as the context lasts."""
    _release_large_buffers()
    if _thread_mode():
        _lean_request_bodies()
        with embedded_server(session_parameters) as connection:
            yield connection
        return
    server = server_process()  # starts first: its start-up overlaps Snowpark's import below
    import snowflake.snowpark  # noqa: F401

    _lean_request_bodies()
    yield _connection_kwargs(server.port(), session_parameters)


class _StoredGzip:
    """The `gzip` module as the connector's network layer sees it, compressing at level 0 (stored)."""

    def __getattr__(self, name: str) -> Any:
        import gzip

        return getattr(gzip, name)

    @staticmethod
    def compress(data: bytes, compresslevel: int = 9, *, mtime: float | None = None) -> bytes:
        import gzip

        return gzip.compress(data, compresslevel=0, mtime=mtime)


def _release_large_buffers() -> None:
    """Have glibc's malloc hand buffers of 1 MiB and more straight back to the system when freed.

    Its default threshold for that starts at 128 kB and rises to the size of each large buffer freed (up to
    32 MiB), after which such buffers come from the heap and its free space stays resident. A run frees a few
    MB-sized buffers per statement (a MERGE's rows, its request body) and per Jira answer; with the threshold
    fixed at 1 MiB the sync process peaked 70 MiB lower (bench/bench_sync.py, 5,000 issues: 522 -> 452 MiB,
    three runs each), at no cost in time. Elsewhere than glibc this does nothing."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def _lean_request_bodies() -> None:
    """Make the connector write its request bodies with orjson (`_FastRequestJson`) and send them stored
    (gzip level 0) in this process.

    The connector gzips every request body at level 9, with no setting to change it (connector 4.7.5,
    `SnowflakeRestful._request_exec`). A MERGE's rows are one body of up to 8 MB of JSON: level 9 packs 5 MB
    in 200 ms of the client's one core (48 MB/s), level 1 in 25 ms, level 0 (gzip's framing and checksum only)
    in 9 ms, and on loopback the bytes saved buy nothing. Any server reads any level, so this stays valid for
    a real account opened later in the same process; it would only send it larger bodies.
    """
    from snowflake.connector import network

    if not isinstance(network.gzip, _StoredGzip):
        network.gzip = _StoredGzip()
    if not isinstance(network.json, _FastRequestJson):
        network.json = _FastRequestJson()


class _FastRequestJson:
    """The `json` module as the connector's network layer sees it, writing request bodies with orjson.

    The connector writes each request body with `json.dumps` (connector 4.7.5, `SnowflakeRestful.request`):
    for a MERGE that is its rows, one bind of up to 8 MB of JSON text, escaped again as a JSON string, 14% of
    the sync thread's time at 20,000 issues (py-spy). orjson writes the same JSON (non-ASCII as UTF-8 rather
    than `\\u` escapes: the same text once read) several times as fast; what it cannot write, the standard
    library does, with the connector's encoder."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def dumps(value: Any, **kwargs: Any) -> str:
        try:
            return fastjson.dumps(value)
        except (TypeError, ValueError):
            return json.dumps(value, **kwargs)


def decline_dataframe_libraries() -> None:
    """Have this process do without pandas and pyarrow, unless they are loaded already or the embedded
    warehouse's server runs in this process (SERVER_MODE_ENV=thread: fakesnow answers with pyarrow).

    The connector imports both at its own import when they are installed (connector 4.7.5,
    `snowflake/connector/options.py`), only to offer `fetch_pandas_*`; Snowpark takes its word on whether they
    are there. A sync builds no dataframe, and the connector reads its answers' Arrow with its own reader
    (nanoarrow), so they were 137 MiB of a `jira-sync run` process's resident memory and most of a second
    of its start-up for nothing. `sys.modules[name] = None` is the import system's own way to make an import
    of `name` fail: both then see them as not installed, as on a machine without them."""
    if _thread_mode():
        return
    for name in _DATAFRAME_LIBRARIES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


_DATAFRAME_LIBRARIES = ("pandas", "pyarrow")


def main() -> None:
    """`python -m jira_sync.local_warehouse`: serve the embedded warehouse until stdin says `stop` or ends
    (see `ServerProcess`). Prints the port on stdout when listening; nothing else is printed."""
    import uvicorn

    warnings.simplefilter("ignore")  # a server's warnings are nobody's business on the user's terminal
    app = server_app()
    logging.getLogger("fakesnow.server").propagate = False  # no root handler here: keep lastResort quiet
    # IPPROTO_TCP given, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it every
    # answer (headers, then body) waits out the client's delayed ACK, 40 ms a statement (measured)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    config = uvicorn.Config(app, log_level="warning", log_config=None, lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    threading.Thread(target=_watch_parent, args=(server,), name="parent watch", daemon=True).start()
    sys.stdout.write(f"{listener.getsockname()[1]}\n")
    sys.stdout.flush()
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), sys.stdout.fileno())  # nobody reads it any more: never block on it
    server.run(sockets=[listener])
    _close_all_sessions()
    os._exit(0)  # the databases are closed: skip the interpreter's teardown, the parent waits for it


def _watch_parent(server: Any) -> None:
    """`stop` on stdin: a clean stop. The end of stdin without it: the parent is gone, end at once."""
    for line in sys.stdin.buffer:
        if line.strip() == b"stop":
            server.should_exit = True
            time.sleep(_STOP_SECONDS)
            os._exit(1)  # a clean stop that hangs
    os._exit(0)


def _close_all_sessions() -> None:
    from fakesnow import server

    for token in list(server.sessions):
        _release(token)


# --- the server's own requests: its last error, the release of a closed session ------------------------------


def _control(app: _ASGIApp) -> _ASGIApp:
    """`app`, answering POST /_jira_sync/last-error (the last error the server logged, then forgotten) and
    POST /_jira_sync/release (body: a session token; closes the server's side of a closed session)."""

    async def wrapped(scope: _Message, receive: _Receive, send: _Send) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        if not path.startswith(_CONTROL):
            await app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        what = path[len(_CONTROL) :]
        if what == "last-error":
            answer: dict[str, Any] = {"error": _SERVER_ERRORS.last, "detail": _SERVER_ERRORS.detail}
            _SERVER_ERRORS.last = _SERVER_ERRORS.detail = None
        elif what == "release":
            await asyncio.get_running_loop().run_in_executor(None, _release, body.decode())
            answer = {"released": True}
        else:
            answer = {"error": f"unknown request {what!r}"}
        payload = json.dumps(answer).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return wrapped


def _release(token: str) -> None:
    """Drop the server's side of a closed session. fakesnow keeps every session's DuckDB connection, and so
    its database file, until the process ends (sessions skip the logout, see tests/conftest.py): without
    this the same folder could not be opened again while the server runs."""
    from fakesnow import server

    connection = server.sessions.pop(token, None) if token else None
    if connection is not None:
        connection.close()
        del connection
        gc.collect()  # DuckDB lets go of the file when the last reference (some in cycles) is gone


def _ask(port: int, what: str, body: str = "") -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", _CONTROL + what, body=body.encode())
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def _take_last_error(port: int) -> str | None:
    """The last error the server logged (its one line), forgotten there; None if it logged none."""
    try:
        answer = _ask(port, "last-error")
    except (OSError, ValueError):
        return None
    if answer.get("detail"):
        log.debug("embedded warehouse server: %s", answer["detail"])
    return answer.get("error")


# --- fakesnow, tuned: changes for speed, none its clients can see -----------------------------------------
#
# Measured on fakesnow 0.12.1 with an initial load's rows (bench/bench_sync.py), the server spent its time in two
# places the answers do not depend on:
#
# - FLATTEN (its `_fs_flatten` table macro) hashes and copies its whole input for every row it returns, so a
#   MERGE whose rows arrive as one JSON array (jira_sync.warehouse) costs rows x bytes: 0.5 s for 500 issues
#   of 18 kB. FAST_FLATTEN computes the same six columns (SEQ, KEY, PATH, INDEX, VALUE, THIS; same values,
#   same errors, also correlated: tests/jira_sync/test_embedded_server.py compares the two) once per input:
#   0.07 s.
# - Translating a statement from Snowflake's SQL to DuckDB's (sqlglot: parse, about 80 rewrites, MERGE split
#   into four statements, each generated back to text) took 150-300 ms per MERGE, whatever its rows, more
#   than DuckDB took to run it. A sync sends the same few MERGE texts over and over with other binds, so each
#   translation is kept (by text, current database and schema, after session variables are put in) and
#   replayed. Only MERGEs: fakesnow translates them from their text alone (its MERGE rewrite reads no table),
#   while other statements can change what the session is (USE, CREATE DATABASE, SET) or read the catalog
#   while translated. The server's request bodies (a MERGE's rows, megabytes of JSON) are read with orjson.
# - DuckDB checkpoints after every 16 MB of write-ahead log: 256 MB here (`_checkpoint_less_often`).
#
# All apply to fakesnow 0.12.1, the version pyproject.toml pins; another version is served untouched.

TUNED_FAKESNOW = "0.12.1"
_MERGE_PLANS_KEPT = 256

FAST_FLATTEN = Template(
    """
CREATE OR REPLACE MACRO ${catalog}._fs_flatten(input) AS TABLE
    SELECT
        e.h::UBIGINT AS SEQ,
        e.k AS KEY,
        COALESCE(e.k, '[' || e.i || ']') AS PATH,
        e.i AS INDEX,
        e.v AS VALUE,
        e.j AS THIS
    FROM (
        SELECT j, hash(j) AS h, UNNEST(
            CASE WHEN json_type(j) = 'OBJECT'
                 THEN list_transform(
                    json_keys(j), lambda x: struct_pack(k := x, v := CAST(j -> x AS JSON), i := NULL::BIGINT)
                 )
                 ELSE list_transform(
                    CAST(j AS JSON[]), lambda x, n: struct_pack(k := NULL::VARCHAR, v := x, i := (n - 1)::BIGINT)
                 )
            END, recursive := true
        )
        FROM (SELECT TO_JSON(input) AS j)
    ) AS e(j, h, k, v, i)
    """
)

_tuned = False


def tune_fakesnow() -> None:
    """Put FAST_FLATTEN and the MERGE translation cache into fakesnow (once per process; see above)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    from importlib.metadata import version

    if version("fakesnow") != TUNED_FAKESNOW:
        log.debug("fakesnow %s is not %s: served untuned", version("fakesnow"), TUNED_FAKESNOW)
        return
    from fakesnow import macros, server
    from fakesnow.cursor import FakeSnowflakeCursor
    from fakesnow.instance import FakeSnow

    macros.FS_FLATTEN = FAST_FLATTEN
    _cache_merge_translations(FakeSnowflakeCursor, server)
    _checkpoint_less_often(FakeSnow)
    _large_binds_unprinted(server)


def _checkpoint_less_often(instance_class: Any) -> None:
    """DuckDB folds its write-ahead log into the database file every 16 MB of log by default: an initial load
    writes a few hundred MB of JSON, and each checkpoint rewrites the row groups still filling, so 50,000
    issues' RAW took 11.1 s to store instead of 6.2 s with 256 MB (DuckDB 2.0.1, 263 rows a commit). Commits
    stay as durable (the log is written at each), a crash replays at most 256 MB of log, and closing a
    database checkpoints it anyway."""
    create = instance_class.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        create(self, *args, **kwargs)
        self.duck_conn.execute(f"SET checkpoint_threshold = '{_CHECKPOINT_THRESHOLD}'")

    instance_class.__init__ = init


_CHECKPOINT_THRESHOLD = "256MB"


class _LongText(str):
    """A bind value that prints as its length: the text itself, everywhere else."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self):,} characters>"


_LONG_TEXT = 4096  # characters: a MERGE's rows are megabytes, any other bind a few dozen


def _large_binds_unprinted(server: Any) -> None:
    """fakesnow's server formats every statement's binds into a debug line before the logger decides to
    drop it (an f-string): for a MERGE's rows that was an 8 MB `repr`, a fifth of the server's busy time at
    50,000 issues (py-spy). Long text binds get a short `repr`; DuckDB reads them as the text they are."""
    convert = server.from_binding

    def from_binding(binding: dict[str, Any]) -> Any:
        value = convert(binding)
        return _LongText(value) if type(value) is str and len(value) > _LONG_TEXT else value

    server.from_binding = from_binding


def _is_merge(command: str) -> bool:
    """A MERGE whose translation depends on its text alone (no IDENTIFIER(?), whose name is a bind)."""
    return command.lstrip()[:10].lower() == "merge into" and "identifier(" not in command.lower()


def _cache_merge_translations(cursor_class: Any, server: Any) -> None:
    """Make `cursor_class.execute` run a MERGE as one DuckDB statement (`_NativeMerge`; fakesnow's own
    translation where that cannot be), and replay the translation of a MERGE it has translated before: the
    DuckDB statement(s) it became (their SQL text generated once too), and the server's own parse of its text."""
    import snowflake.connector.errors

    execute, execute_translated = cursor_class.execute, cursor_class._execute
    plans = _Recent(_MERGE_PLANS_KEPT)  # (text, database, schema...) -> [(statement, takes the binds)]
    recording = threading.local()  # the statements one translation produced, as `execute` runs them

    def record(self: Any, transformed: Any, params: Any = None) -> Any:
        steps = getattr(recording, "steps", None)
        if steps is not None:
            steps.append((transformed, params is not None))
        return execute_translated(self, transformed, params)

    def cached_execute(self: Any, command: str, params: Any = None, *args: Any, **kwargs: Any) -> Any:
        binds = kwargs.get("binding_params")
        conn = self._conn
        if (
            not kwargs.get("server")
            or binds is None
            or not _is_merge(command)
            or (conn.nop_regexes and any(re.match(p, command, re.IGNORECASE) for p in conn.nop_regexes))
        ):
            return execute(self, command, params, *args, **kwargs)
        key = (self._inline_variables(command), conn.database, conn.schema, conn.database_set, conn.schema_set)
        values = binds if isinstance(binds, (list, dict)) else list(binds)
        plan = plans.get(key)
        if plan is None:
            self._sqlstate = None
            try:
                plan = _native_merge(self, command, values)
            except snowflake.connector.errors.ProgrammingError as exc:  # e.g. no current database
                self._sqlstate = exc.sqlstate
                raise
            except Exception:  # what it cannot translate as one statement: fakesnow's own way, its errors
                log.debug("MERGE run by fakesnow's translation", exc_info=True)
                plan = None
            if plan is not None:
                plans.put(key, plan)
        if plan is None:
            recording.steps = []
            try:
                execute(self, command, params, *args, **kwargs)
                plans.put(key, [(_with_fixed_sql(step), with_binds) for step, with_binds in recording.steps])
            finally:
                recording.steps = None
            return self
        self._sqlstate = None
        try:
            if isinstance(plan, _NativeMerge):
                plan.run(self, values)
                return self
            for transformed, with_binds in plan:
                self._execute(transformed, values if with_binds else None)
        except snowflake.connector.errors.ProgrammingError as exc:
            self._sqlstate = exc.sqlstate
            raise
        return self

    parse, parsed = server.parse_one, _Recent(_MERGE_PLANS_KEPT)

    def cached_parse(sql: str, *args: Any, **kwargs: Any) -> Any:
        """The server parses each statement before running it, for its type: a MERGE's once per text."""
        if args or kwargs or not _is_merge(sql):
            return parse(sql, *args, **kwargs)
        expression = parsed.get(sql)
        if expression is None:
            expression = parse(sql)
            parsed.put(sql, expression)
        return expression

    cursor_class._execute = record
    cursor_class.execute = cached_execute
    server.parse_one = cached_parse
    server.json = _FastJson()  # the request bodies (a MERGE's rows: megabytes) read by orjson


class _Recent:
    """A mapping, safe across threads, that keeps its `size` most recently used entries."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class _NativeMerge:
    """A MERGE as one DuckDB statement (DuckDB's own MERGE INTO, 1.4 and later), its answer Snowflake's.

    fakesnow 0.12.1 runs a MERGE as four statements: a temporary table of the target joined with the source,
    an UPDATE and an INSERT from it, and a count. DuckDB runs the same clauses natively: no temporary table
    written and read back (a MERGE's rows are megabytes), one statement, so one commit. `RETURNING
    merge_action` says what each row became; the answer is then Snowflake's, one row of counts ("number of
    rows inserted", "... updated", "... deleted": the columns of the operations the MERGE has, in that order)."""

    statement: Any  # the translated MERGE, its DuckDB SQL generated once (`_with_fixed_sql`)
    operations: tuple[str, ...]

    def run(self, cursor: Any, values: Any) -> None:
        import sqlglot

        cursor._execute(self.statement, values)
        done = Counter(cursor._arrow_table.column(0).to_pylist()) if cursor._arrow_table.num_rows else Counter()
        counts = ", ".join(f'{done[_MERGE_ACTIONS[op]]} AS "number of rows {op}"' for op in self.operations)
        summary = sqlglot.parse_one(f"SELECT {counts}", read="duckdb")
        summary.set("merge_counts", True)  # fakesnow then reports their total as the rows affected
        cursor._execute(summary)


_MERGE_ACTIONS = {"inserted": "INSERT", "updated": "UPDATE", "deleted": "DELETE"}
_DUCKDB_MERGE_SINCE = (1, 4)  # MERGE INTO ... RETURNING merge_action


def _native_merge(cursor: Any, command: str, values: Any) -> _NativeMerge | None:
    """`command` (a MERGE) translated by fakesnow as one statement, or None where DuckDB has no MERGE."""
    import duckdb

    if tuple(int(part) for part in duckdb.__version__.split(".")[:2]) < _DUCKDB_MERGE_SINCE:
        return None
    from fakesnow.dialect import parse_one
    from fakesnow.transforms.merge import operations
    from sqlglot import exp

    expression = parse_one(cursor._inline_variables(command))
    cursor.check_db_and_schema(expression)
    performed = tuple(op for op, clauses in operations(expression).items() if clauses)
    merge = cursor._transform(expression, values)
    if not isinstance(merge, exp.Merge):
        return None
    for update in merge.find_all(exp.Update):  # DuckDB's SET names a target column without its table
        for assignment in update.expressions:
            if isinstance(assignment.this, exp.Column):
                assignment.this.set("table", None)
    merge.set("returning", exp.Returning(expressions=[exp.column("merge_action")]))
    return _NativeMerge(_with_fixed_sql(merge), performed)


def _with_fixed_sql(transformed: Any) -> Any:
    """`transformed` answering its DuckDB SQL, which `_execute` asks it for every time, from a string made once."""
    duckdb_sql = transformed.sql(dialect="duckdb")
    generate = transformed.sql

    def sql(dialect: Any = None, **opts: Any) -> str:
        return duckdb_sql if dialect == "duckdb" and not opts else generate(dialect=dialect, **opts)

    transformed.sql = sql
    return transformed


class _FastJson:
    """The `json` module as fakesnow's server sees it, reading with orjson where it can (about twice as fast on
    a MERGE's megabytes of rows); everything else, and whatever orjson refuses, is the standard library's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def loads(data: Any, **kwargs: Any) -> Any:
        return json.loads(data, **kwargs) if kwargs else fastjson.loads(data)


# --- sessions ---------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def embedded_session(
    folder: str | Path, database: str = DEFAULT_DATABASE, schema: str = DEFAULT_SCHEMA
) -> Iterator[Session]:
    """A Snowpark Session on the embedded warehouse, its databases persisted in `folder` (created if missing).

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
    with _embedded_connection(parameters) as connection:
        from snowflake.snowpark import Session

        port = connection["port"]
        _take_last_error(port)  # forget what an earlier session made it log
        session = Session.builder.configs({**connection, "server_session_keep_alive": True}).create()
        token = _server_session_token(session)
        try:
            try:
                session.sql(f"CREATE DATABASE IF NOT EXISTS {database}").collect()
                session.sql(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}").collect()
                session.sql(f"USE SCHEMA {database}.{schema}").collect()
            except Exception as exc:  # fakesnow answers what DuckDB raised as a bare HTTP 500
                detail = _take_last_error(port) or first_line(exc)
                raise WarehouseError(
                    f"cannot open the embedded warehouse in {path}: {detail}; if {database_file.name} is "
                    "damaged, move it away (the next run loads everything again) or restore it from a backup"
                ) from None
            yield session
        finally:
            session.close()
            if token:
                with contextlib.suppress(OSError, ValueError):
                    _ask(port, "release", token)


def _server_session_token(session: Session) -> str | None:
    connector = getattr(getattr(session, "_conn", None), "_conn", None)
    return getattr(getattr(connector, "rest", None), "token", None)


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


if __name__ == "__main__":
    main()
