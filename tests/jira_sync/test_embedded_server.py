"""The embedded warehouse's server: in a process of its own that ends with its parent, and fakesnow tuned for
speed without changing an answer (local_warehouse.py: `ServerProcess`, `FAST_FLATTEN`, the MERGE cache)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fakesnow.macros import FS_FLATTEN
from snowflake.snowpark import Session

from jira_sync.local_warehouse import FAST_FLATTEN

FLATTEN_INPUTS = [
    '[1, {"b": [2]}, "x", null, [3], 2.5, true]',
    '{"a": 1, "b": [2], "c": {"d": null}, "e.f": 3, "": 4}',
    "[]",
    "{}",
    '"scalar"',
    "5",
    "null",
    '[{"a": 1}, {"a": 2}]',
    json.dumps([{"ID": n, "RAW": {"text": "é" * n}} for n in range(300)]),
]


def _flatten(connection: duckdb.DuckDBPyConnection, macro: str, value: str) -> Any:
    try:
        return connection.execute(f"select * from {macro}(json(?))", [value]).fetchall()
    except duckdb.Error as exc:
        return type(exc).__name__


def test_fast_flatten_answers_as_fakesnows_own() -> None:
    """Every column (SEQ, KEY, PATH, INDEX, VALUE, THIS) alike, for arrays, objects, scalars and NULL, and
    the same error where fakesnow's raises one; also correlated, one input per row of a table."""
    connection = duckdb.connect()
    connection.execute("create schema fast")
    connection.execute(FS_FLATTEN.substitute(catalog="memory"))
    connection.execute(
        FAST_FLATTEN.substitute(catalog="memory").replace("memory._fs_flatten", "memory.fast._fs_flatten")
    )
    for value in FLATTEN_INPUTS:
        assert _flatten(connection, "memory.fast._fs_flatten", value) == _flatten(
            connection, "memory._fs_flatten", value
        ), value
    connection.execute("create table t (id int, labels json)")
    connection.execute(
        """insert into t values (1, '["a","b"]'), (2, '["c"]'), (3, '[]'), (4, NULL), (5, '{"k": [1]}'),
        (6, '["d","e","f"]')"""
    )
    correlated = "select t.id, f.* from t, {}(t.labels) f order by t.id, f.path"
    assert (
        connection.execute(correlated.format("memory.fast._fs_flatten")).fetchall()
        == connection.execute(correlated.format("memory._fs_flatten")).fetchall()
    )


def test_a_merge_replayed_from_its_translation_answers_each_time(snowpark_session: Session) -> None:
    """The same MERGE text with other binds: each run inserts, updates or refuses as it would translated
    afresh, answers Snowflake's counts, and a refused one leaves the next to run. It runs as one DuckDB
    MERGE (`_NativeMerge`)."""
    session = snowpark_session
    session.sql("create table T (ID number(38,0) primary key, V varchar, N number(38,0))").collect()
    merge = (
        "merge into T t using (select f.value:ID::number(38,0) ID, f.value:V::varchar V, f.value:N::number(38,0) N "
        "from (select 1) p, lateral flatten(input => parse_json(?)) f) src on t.ID = src.ID "
        "when matched and src.N > t.N then update set V = src.V, N = src.N "
        "when not matched then insert (ID, V, N) values (src.ID, src.V, src.N)"
    )

    def run(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return session.sql(merge, params=[json.dumps(rows)]).collect()[0].as_dict()

    assert run([{"ID": 1, "V": "a", "N": 1}, {"ID": 2, "V": "b", "N": 1}])["number of rows inserted"] == 2
    counts = run([{"ID": 1, "V": "A", "N": 2}, {"ID": 2, "V": "old", "N": 0}, {"ID": 3, "V": "c", "N": 1}])
    assert (counts["number of rows inserted"], counts["number of rows updated"]) == (1, 1)
    with pytest.raises(Exception, match=r"(?i)conver|cast|number"):
        run([{"ID": "not a number", "V": "x", "N": 1}])
    assert run([{"ID": 4, "V": "d", "N": 1}])["number of rows inserted"] == 1
    stored = session.sql("select ID, V, N from T order by ID").collect()
    assert [tuple(row) for row in stored] == [(1, "A", 2), (2, "b", 1), (3, "c", 1), (4, "d", 1)]
    assert run([{"ID": 4, "V": "same", "N": 1}]) == {"number of rows inserted": 0, "number of rows updated": 0}
    # one DuckDB MERGE, not fakesnow's four statements: no temporary table of candidates was written
    with pytest.raises(Exception, match=r"(?i)merge_candidates"):
        session.sql("select count(*) from merge_candidates").collect()


def test_a_long_text_bind_is_stored_as_given_and_printed_as_its_length(snowpark_session: Session) -> None:
    """The server prints a long bind as its length (never its megabytes), and stores it unchanged:
    a text longer than the threshold, with quotes, backslashes and non-ASCII, reads back equal."""
    from fakesnow import server

    long_text = json.dumps({"text": 'é"\\ ' * 5000})
    value = server.from_binding({"type": "TEXT", "value": long_text})
    assert value == long_text and repr(value) == f"<{len(long_text):,} characters>"
    assert repr(server.from_binding({"type": "TEXT", "value": "short"})) == "'short'"
    assert server.from_binding({"type": "FIXED", "value": "12"}) == 12
    session = snowpark_session
    session.sql("create table LONG_TEXT (V varchar)").collect()
    session.sql("insert into LONG_TEXT select ?", params=[long_text]).collect()
    assert session.sql("select V from LONG_TEXT").collect()[0][0] == long_text


def test_the_server_process_is_shared_and_ends_with_its_parent(tmp_path: Path) -> None:
    """Two sessions of one process share one server process; killing the process (SIGKILL, no clean-up of
    its own) ends the server too, which lets go of the folder."""
    script = textwrap.dedent(
        f"""
        import json, sys, time
        from jira_sync import local_warehouse
        from jira_sync.local_warehouse import embedded_session
        with embedded_session({str(tmp_path / "a")!r}) as one, embedded_session({str(tmp_path / "b")!r}) as two:
            one.sql("create table X (I int)").collect()
            two.sql("select 1").collect()
            print(json.dumps({{"server": local_warehouse._SHARED.pid}}), flush=True)
            time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        server = json.loads(child.stdout.readline())["server"]
        assert _alive(server)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 10
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server), "the server outlived its parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" not in status.read()
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover
        return os.path.exists(f"/proc/{pid}")


def test_request_bodies_are_written_by_orjson_and_read_as_the_connectors_own(tmp_path: Path) -> None:
    """The connector's request bodies (a MERGE's megabytes of rows, escaped as one JSON string) are written by
    orjson in a process that opened the embedded warehouse; they read back as what the connector's own
    `json.dumps` writes, for a UUID, non-ASCII, quotes and backslashes, and a lone surrogate (orjson refuses
    it: the standard library writes it, as before)."""
    from snowflake.connector import network

    from jira_sync.local_warehouse import _FastRequestJson, embedded_session

    with embedded_session(tmp_path) as session:
        assert session.sql("select 1 as ONE").collect()[0][0] == 1
    assert isinstance(network.json, _FastRequestJson)
    rows = json.dumps([{"ID": 1, "RAW": {"text": 'é"\\ ünïcode ✓'}}], ensure_ascii=False)
    for value in (rows, "lone \ud800 surrogate"):
        body = {"sqlText": "merge into T ...", "requestId": uuid.uuid4(), "bindings": {"1": {"value": value}}}
        ours = network.json.dumps(body, cls=network.SnowflakeRestfulJsonEncoder)
        theirs = json.dumps(body, cls=network.SnowflakeRestfulJsonEncoder)
        assert json.loads(ours) == json.loads(theirs)
        ours.encode("utf-8", "surrogatepass")  # the connector then encodes it: text it can encode
