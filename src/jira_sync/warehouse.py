"""The warehouse: DDL, upserts, sync state, run log and the sources table, through a Snowpark `Session`.

The same SQL runs on Snowflake and on fakesnow (DuckDB behind Snowflake SQL, our embedded warehouse), which
shapes a few choices, each measured on fakesnow 0.12.1 (see tests/jira_sync/test_warehouse.py):

- A MERGE's rows travel in one bind: a JSON array of one document per row, exploded in SQL
  (`... from (select 1) p, lateral flatten(input => parse_json(?)) f`, valid Snowflake SQL: a LATERAL may
  follow any table expression and need not refer to it). Snowpark cannot `create_dataframe`/`write_pandas`
  against fakesnow, values are never formatted into SQL text, and a row's columns are typed in one place
  (the `Table` constant). The statement's text is the same whatever its rows, so only its bytes bound it
  (DEFAULT_MAX_BIND_BYTES, well under Snowflake's 16 MB a value); a VALUES list with one `(?)` per row,
  the shape before, cost fakesnow's translation (sqlglot) 1-2 ms per row, more than running it. On
  fakesnow FLATTEN copied its whole input into every row it returned, quadratic in a statement's size: the
  embedded warehouse's server replaces it by a linear one with the same results (local_warehouse.py).
- In a row's document, the semi-structured columns (VARIANT: RAW, most of an issue's bytes) stand apart from
  the typed ones (`{"cols":{...},"RAW":{...}}`, `json_row_chunks`), so the typed columns are read from a
  small document and RAW is parsed once, not once per typed column.
- Upserts are one MERGE per chunk, in autocommit, with no explicit transaction: fakesnow runs MERGE through a
  temporary table, which fails inside BEGIN ... COMMIT ("a single transaction can only write to a single
  attached database"), and no transaction is needed. A checkpoint is the MERGE of a batch *followed by* the
  state row that moves the watermark: a crash between the two leaves the watermark behind the rows, so the
  next run repeats the batch, and the MERGE (only strictly newer copies replace stored rows) writes nothing.
  The watermark can never get ahead of what is stored.
- Keys whose value is None are left out of the JSON: fakesnow turns a JSON null into a VARIANT 'null' (and
  Snowflake keeps JSON nulls as VARIANT nulls too), while a missing key is SQL NULL on both.
- TIMESTAMP_TZ columns are read back as `DATE_PART(EPOCH_MICROSECOND, ...)`: fakesnow's own server answers a
  NULL timestamp as 1970-01-01, which would turn "no watermark yet" into "synced up to 1970". (The embedded
  warehouse's server corrects that answer, local_warehouse.py; this read does not depend on it, so it also
  holds against a bare fakesnow server.)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from jira_sync import fastjson
from jira_sync.entities.fields import TABLE as FIELDS_TABLE
from jira_sync.history import WIDE_VIEW, WIDE_VIEW_TABLES, wide_view_select
from jira_sync.jira.errors import one_line
from jira_sync.model import (
    ARRAY,
    IDENTIFIER,
    ISSUES,
    NUMBER,
    RUN_LOG,
    RUN_STATUSES,
    SOURCES,
    STATE,
    TIMESTAMP_TZ,
    VARCHAR,
    VARIANT,
    Table,
    iso_utc,
)
from jira_sync.schema import MANAGED_TABLES, NOT_DELETED, SCHEMA_VERSIONS, VIEWS, code_versions, view_named

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
# Snowflake caps a VARCHAR (hence a bind value and PARSE_JSON's input) at 16 MB; stay well under it.
DEFAULT_MAX_BIND_BYTES = 8_000_000
MAX_ERROR_MESSAGE_CHARS = 10_000
# By name, not by position: VIEWS holds more views than these two (JIRA_SYNC_STATUS).
ISSUES_CURRENT_VIEW = view_named("JIRA_ISSUES_CURRENT").name
ISSUE_LABELS_VIEW = view_named("JIRA_ISSUE_LABELS").name

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def quote_identifier(name: str) -> str:
    """A validated identifier, upper-cased and quoted: `jira_db` -> `"JIRA_DB"`.

    Upper-casing keeps Snowflake's meaning of an unquoted name (what a user typing `jira_db` in config means);
    quoting makes the SQL safe whatever the name.
    """
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValueError(
            f"invalid identifier {name!r}: use letters, digits, _ and $, not starting with a digit"
        )
    return f'"{name.upper()}"'


@dataclass(frozen=True)
class MergeCounts:
    """Rows an upsert inserted and updated (rows left alone because they were not newer count in neither)."""

    inserted: int = 0
    updated: int = 0

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(self.inserted + other.inserted, self.updated + other.updated)


@dataclass(frozen=True)
class State:
    """A source's sync state: the watermark (max UPDATED merged, UTC) and the Jira account's time zone."""

    source: str
    watermark: datetime | None = None
    account_time_zone: str | None = None
    window_upper: datetime | None = None
    last_run_id: str | None = None
    updated_at: datetime | None = None
    scope_jql: str | None = None
    backfill_jql: str | None = None
    backfill_after_id: int | None = None
    fingerprints: dict[str, str] | None = None
    feed_cursors: dict[str, dict[str, Any]] | None = None
    last_sweep_at: datetime | None = None
    audit_checked_at: datetime | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.scope_jql, self.backfill_jql, self.backfill_after_id)


@dataclass(frozen=True)
class Scope:
    """What a source's watermark covers, kept with it so a change of the source's JQL or projects is safe.

    `jql`: the scope the watermark holds for. `backfill_jql`: a new scope whose added issues (those it matches
    and `jql` does not) are still being loaded, in id order, done up to `backfill_after_id`. A source whose
    scope changes keeps its watermark for what both scopes share and loads only what the new one adds.
    """

    jql: str | None = None
    backfill_jql: str | None = None
    backfill_after_id: int | None = None


@dataclass(frozen=True)
class RunRecord:
    """One row of the run log, as read back."""

    run_id: str
    source: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    status: str | None = None
    issues_fetched: int | None = None
    issues_inserted: int | None = None
    issues_updated: int | None = None
    issues_deleted: int | None = None
    requests: int | None = None
    retries: int | None = None
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    error_message: str | None = None
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class SourcePlan:
    """A source as a run first reads it: its JIRA_SOURCES row, its state, and its run history."""

    row: dict[str, Any]
    state: State | None
    running_runs: int = 0  # runs still marked RUNNING: killed ones, since runs never overlap
    last_started: datetime | None = None  # when its latest run started (None: never run)


@dataclass(frozen=True)
class Plan:
    sources: tuple[SourcePlan, ...]
    schema_current: bool


@dataclass(frozen=True)
class DeletionChecks:
    """How far a source's search for deletions has got: Jira's time of its last sweep, and how far its audit
    log was read (None: the account may not read it; the sweep alone finds deletions)."""

    last_sweep_at: datetime | None
    audit_checked_at: datetime | None


@dataclass(frozen=True)
class ChildRows:
    """A batch's rows of one child table (comments, links...) and the issues they belong to.

    `complete`: the rows are all those issues have, so their stored rows missing here are marked deleted.
    `owner_columns`: the columns naming a row's issue (a link has two)."""

    table: Table
    rows: Sequence[Mapping[str, Any]]
    owners: Sequence[int]
    owner_columns: tuple[str, ...] = ("ISSUE_ID",)
    complete: bool = True


class SourceLike(Protocol):
    """What `upsert_source` reads from a source (config.SourceConfig has it all)."""

    name: str
    site_url: str
    auth: str
    email: str | None
    secret_alias: str
    jql: str | None
    projects: Sequence[str]
    enabled: bool
    overlap: timedelta
    search_lag: timedelta
    batch_size: int
    page_size: int
    workers: int
    time_budget: timedelta
    deletion_sweep: timedelta
    entities: tuple[str, ...] | None


_Record = TypeVar("_Record", State, RunRecord)


def _record_to_row(record: State) -> dict[str, Any]:
    return {f.name.upper(): getattr(record, f.name) for f in dataclasses.fields(record)}


def _row_to_record(cls: type[_Record], row: Mapping[str, Any]) -> _Record:
    return cls(**{f.name: row[f.name.upper()] for f in dataclasses.fields(cls)})


def _typed_selects(
    table: Table, alias: str | None = None, prefix: str = ""
) -> tuple[str, Callable[[Sequence[Any]], dict[str, Any]]]:
    """The select list for a table's columns (timestamps as epoch microseconds: fakesnow's server answers a
    NULL timestamp as 1970-01-01) and the function that turns the values back into a typed row dict."""
    selects = []
    for col in table.columns:
        name = f"{alias}.{quote_identifier(col.name)}" if alias else quote_identifier(col.name)
        label = f'"{prefix}{col.name}"'  # the column's own name, or prefixed where two tables are joined
        value = f"date_part(epoch_microsecond, {name})" if col.sql_type == TIMESTAMP_TZ else name
        selects.append(f"{value} {label}")

    def decode(values: Sequence[Any]) -> dict[str, Any]:
        return {col.name: _from_warehouse(col.sql_type, values[i]) for i, col in enumerate(table.columns)}

    return ", ".join(selects), decode


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} to the warehouse: {value!r}")


ROW_COLUMNS_KEY = "cols"
"""Where a row's document holds its columns when some are kept apart (`json_row_chunks`). Lower case, so no
column (upper-case identifiers) can take the name."""


def _bind_json(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes, with every character beyond U+FFFF (and any lone surrogate) written as
    JSON's `\\u` escapes, a surrogate pair: the same document once read, by either warehouse. Dates and times
    are written by `_json_default`; the rest by `fastjson` (orjson where installed, about 5 times as fast).

    Why: a MERGE's rows travel as one bind of up to 8 MB of text, which the connector escapes again inside
    its JSON request body. One character beyond U+FFFF anywhere (an emoji in one comment) made Python hold
    that whole text, and each copy of it on the way, at 4 bytes a character: 32 MB for 8. Without them it
    takes 1 or 2 bytes a character. Only those few characters are escaped, so text in any script keeps its
    UTF-8 size (escaping all non-ASCII would have made Cyrillic or Japanese text 2-2.5 times longer, and as
    many more MERGEs on a real account). A lone surrogate, which UTF-8 cannot carry at all, is escaped too."""
    data = fastjson.encode(value, default=_json_default)
    if not any(lead in data for lead in _ESCAPED_LEADS):
        return data
    text = data.decode("utf-8", "surrogatepass")
    return _ESCAPED.sub(_json_escape, text).encode("utf-8")


_ESCAPED = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")
_ESCAPED_LEADS = (b"\xed", b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")
"""The UTF-8 lead bytes of what `_ESCAPED` matches (0xED also leads U+D000-U+D7FF: checked, kept)."""


def _json_escape(match: re.Match[str]) -> str:
    """A character as JSON writes it in ASCII: `\\uXXXX`, a UTF-16 surrogate pair beyond U+FFFF."""
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _encode(row: Mapping[str, Any], apart: Collection[str] = ()) -> bytes:
    """One row as compact JSON (`_bind_json`), None-valued keys left out (a missing key is SQL NULL on both
    warehouses).

    With `apart`, those columns stay at the top level and the others go one level down, under
    ROW_COLUMNS_KEY: `{"cols":{"ID":1,...},"RAW":{...}}`. A warehouse reading the typed columns then parses
    the small part once per column, not the large semi-structured values (RAW is most of an issue's bytes).
    """
    values = {k: v for k, v in row.items() if v is not None}
    if not apart:
        return _bind_json(values)
    document: dict[str, Any] = {ROW_COLUMNS_KEY: {k: v for k, v in values.items() if k not in apart}}
    document.update((k, v) for k, v in values.items() if k in apart)
    return _bind_json(document)


def json_row_chunks(
    rows: Iterable[Mapping[str, Any]], batch_size: int | None, max_bytes: int, apart: Collection[str] = ()
) -> Iterator[list[bytes]]:
    """Rows as JSON documents (`_encode`, with `apart`), in chunks of at most `batch_size` rows (None: no
    limit) and (unless one row alone is bigger) `max_bytes` bytes of documents in all."""
    if batch_size is not None and batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    chunk: list[bytes] = []
    size = 0
    for row in rows:
        encoded = _encode(row, apart)
        full = batch_size is not None and len(chunk) >= batch_size
        if chunk and (full or size + len(encoded) > max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        yield chunk


def json_array(documents: Sequence[bytes]) -> str:
    """JSON documents (`_encode`) as one JSON array, the text a bind carries."""
    return (b"[" + b",".join(documents) + b"]").decode("utf-8")


class EncodedRows(list):  # type: ignore[type-arg]
    """Rows with their MERGE's documents already written (`Warehouse.encode_issues`).

    Writing a batch's documents is a quarter of the sync thread's time (every issue's RAW written as JSON),
    and needs no warehouse: done on the thread that prepares the next batch, it overlaps the statements of
    the batch before. It is a list of the rows themselves, deduplicated as the MERGE takes them, so whatever
    reads rows (counts, `mark_missing`) reads it unchanged; `_upsert` takes its documents when they were
    written for that very statement (`shape`), and writes them afresh otherwise."""

    def __init__(self, rows: Iterable[Mapping[str, Any]], chunks: list[list[bytes]], shape: tuple) -> None:
        super().__init__(rows)
        self.chunks = chunks
        self.shape = shape


class Warehouse:
    """The connector's tables in one database and schema, reached through a Snowpark session.

    `database` and `schema` come from config: validated, upper-cased and quoted. With neither, the session's
    current database and schema are used. (A plain class, not a dataclass: the mutation check, which skips
    decorated classes, must reach the checkpoint methods below.)
    """

    def __init__(
        self,
        session: Any,  # snowflake.snowpark.Session (not imported: keeps this module importable without it)
        database: str | None = None,
        schema: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_bind_bytes: int = DEFAULT_MAX_BIND_BYTES,
    ) -> None:
        if database and not schema:
            raise ValueError("a database needs a schema too")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.session = session
        self.database = database
        self.schema = schema
        self.batch_size = batch_size
        self.max_bind_bytes = max_bind_bytes
        self._prefix = "".join(quote_identifier(p) + "." for p in (database, schema) if p)

    def __repr__(self) -> str:
        return f"Warehouse(database={self.database!r}, schema={self.schema!r})"

    # --- plumbing ------------------------------------------------------------------------------------

    def qualified(self, name: str) -> str:
        """A table or view name, qualified with the configured database and schema, quoted."""
        return self._prefix + quote_identifier(name)

    def _sql(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        log.debug("SQL %s", sql)
        binds = list(params) if params else None
        try:
            return self.session.sql(sql, params=binds).collect()
        finally:
            if binds:
                # A Snowpark plan is a reference cycle that keeps its bind values (a MERGE's rows, up to
                # 8 MB) until the cycle collector runs; emptied, the list no longer holds them.
                binds.clear()

    # --- DDL -----------------------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        """Create the tables that are missing and add columns added to the model since (every table checked,
        whatever its recorded version); views only where their definition changed. For set-up and tools;
        a sync run calls `ensure_schema` through `read_plan`, which costs nothing when nothing changed."""
        self.ensure_schema(check_all_tables=True)

    def ensure_schema(self, *, check_all_tables: bool = False) -> list[str]:
        """Bring each table and view whose recorded version differs from the code's to the code's definition,
        record the new versions, and return the names of the objects changed.

        Tables: created if missing, columns added (never dropped or retyped). Views: replaced only when
        their definition changed, since a replaced view breaks the streams on it.
        """
        stored = self.schema_versions()
        wanted = code_versions()
        changed = []
        tables = [t for t in MANAGED_TABLES if check_all_tables or stored.get(t.name) != wanted[t.name]]
        existing = self._existing_columns() if tables else {}
        for table in tables:
            self._ensure_table(table, existing)
            changed.append(table.name)
        for view in VIEWS:
            if stored.get(view.name) != wanted[view.name]:
                self.replace_view(view.name, view.select)
                changed.append(view.name)
        if any(stored.get(name) != wanted[name] for name in WIDE_VIEW_TABLES):
            self.refresh_wide_view()  # a fresh warehouse, or a table it reads redefined: the wide view follows
        at = datetime.now(UTC)
        rows = [
            {"OBJECT": name, "VERSION": wanted[name], "APPLIED_AT": at}
            for name in changed
            if stored.get(name) != wanted[name]
        ]
        if rows:
            log.info("schema brought up to date: %s", ", ".join(r["OBJECT"] for r in rows))
            self._upsert(SCHEMA_VERSIONS, rows)
        return changed

    def replace_view(self, name: str, select: str) -> None:
        """Create or replace a view (keeping its grants) from a SELECT naming tables as `{TABLE_NAME}`."""
        names = {table.name: self.qualified(table.name) for table in MANAGED_TABLES}
        self._sql(f"create or replace view {self.qualified(name)} copy grants as " + select.format(**names))

    def refresh_wide_view(self) -> None:
        """Regenerate JIRA_ISSUES_WIDE from the custom fields of every source in JIRA_FIELDS (two statements):
        after the fields were written, or the tables it reads were (re)defined. See jira_sync.history."""
        self.replace_view(WIDE_VIEW, wide_view_select(self._select(FIELDS_TABLE, NOT_DELETED)))

    def schema_versions(self) -> dict[str, str]:
        """The recorded version of each object ({} before the first `ensure_schema`)."""
        try:
            rows = self._sql(f'select "OBJECT", "VERSION" from {self.qualified(SCHEMA_VERSIONS.name)}')
        except Exception as exc:  # the table does not exist yet (or cannot be read: ensure_schema will say)
            log.debug("no schema versions recorded: %s", exc)
            return {}
        return {str(row[0]): str(row[1]) for row in rows}

    def table_columns(self, table: Table) -> list[str]:
        """The table's column names as the warehouse has them (DESCRIBE TABLE works on both warehouses)."""
        return [str(row[0]).upper() for row in self._sql(f"describe table {self.qualified(table.name)}")]

    def _existing_columns(self) -> dict[str, set[str]] | None:
        """The columns of every table in the schema, by table, in one read of INFORMATION_SCHEMA (None when it
        cannot be read: each table is then described on its own)."""
        columns = f"{quote_identifier(self.database)}.information_schema.columns" if self.database else (
            "information_schema.columns"
        )
        # the schema as quote_identifier names it (upper case), or the session's
        where, params = (
            ("table_schema = ?", [self.schema.upper()]) if self.schema else ("table_schema = current_schema()", [])
        )
        try:
            rows = self._sql(f"select table_name, column_name from {columns} where {where}", params)
        except Exception as exc:  # not readable here: fall back to DESCRIBE TABLE per table
            log.debug("information_schema not readable (%s): describing each table", exc)
            return None
        found: dict[str, set[str]] = {}
        for table_name, column_name in rows:
            found.setdefault(str(table_name).upper(), set()).add(str(column_name).upper())
        return found

    def _ensure_table(self, table: Table, existing: Mapping[str, set[str]] | None = None) -> None:
        """Create the table if it is missing, and add the columns it lacks. `existing`: the schema's columns
        by table, read once for all tables (a missing table is created with no DESCRIBE after it)."""
        name = self.qualified(table.name)
        if existing is not None and table.name in existing:
            present = existing[table.name]
        else:
            columns = ", ".join(
                f"{quote_identifier(c.name)} {c.sql_type}{' NOT NULL' if c.key else ''}" for c in table.columns
            )
            keys = ", ".join(quote_identifier(c.name) for c in table.keys)
            self._sql(f"create table if not exists {name} ({columns}, primary key ({keys}))")
            # with no catalog read, the table may have been there already, with other columns
            present = set(self.table_columns(table)) if existing is None else set(table.names)
        for column in table.columns:
            if column.name not in present:
                log.info("adding column %s to %s", column.name, table.name)
                self._sql(f"alter table {name} add column {quote_identifier(column.name)} {column.sql_type}")

    # --- what a run reads first, in one statement ----------------------------------------------------

    def read_plan(self) -> Plan:
        """Every source with its state and its run history, and whether the schema is current: one statement.

        A schema that is missing or behind the code (a first run, a deploy of new code) makes the statement
        fail or the versions differ: then the DDL runs (`ensure_schema`) and the read is repeated.
        """
        wanted = code_versions()
        try:
            plan = self._read_plan(wanted)
        except Exception as exc:  # a table or column missing: the schema predates this code
            log.info("schema not current (%s): bringing it up to date", one_line(str(exc))[:300])
            self.ensure_schema()
            return self._read_plan(wanted)
        if not plan.schema_current:
            self.ensure_schema()
            plan = dataclasses.replace(plan, schema_current=True)
        return plan

    def _read_plan(self, wanted: Mapping[str, str]) -> Plan:
        source_cols, decode_source = _typed_selects(SOURCES, "s", "S$")
        state_cols, decode_state = _typed_selects(STATE, "t", "T$")
        versions = ", ".join("?" for _ in wanted)
        runs = self.qualified(RUN_LOG.name)
        sql = (
            f"select {source_cols}, {state_cols}, "
            f'coalesce(r."RUNNING", 0) "RUNNING", date_part(epoch_microsecond, r."LAST_STARTED") "LAST_STARTED", '
            f'v."CURRENT" "SCHEMA_CURRENT" '
            f"from {self.qualified(SOURCES.name)} s "
            f'left join {self.qualified(STATE.name)} t on t."SOURCE" = s."NAME" '
            f'left join (select "SOURCE", sum(case when "STATUS" = \'RUNNING\' then 1 else 0 end) "RUNNING", '
            f'max("STARTED_AT") "LAST_STARTED" from {runs} group by "SOURCE") r on r."SOURCE" = s."NAME" '
            f'cross join (select count(*) "CURRENT" from {self.qualified(SCHEMA_VERSIONS.name)} '
            f'where "OBJECT" || \'=\' || "VERSION" in ({versions})) v '
            f'order by s."NAME"'
        )
        rows = self._sql(sql, [f"{name}={version}" for name, version in wanted.items()])
        if not rows:  # no source yet: the versions are still worth checking (one more statement, once)
            return Plan((), self.schema_versions() == dict(wanted))
        width = len(SOURCES.columns) + len(STATE.columns)
        sources = []
        for row in rows:
            values = list(row)
            state_row = decode_state(values[len(SOURCES.columns) : width])
            running, last_started = values[width], values[width + 1]
            sources.append(
                SourcePlan(
                    row=decode_source(values[: len(SOURCES.columns)]),
                    state=_row_to_record(State, state_row) if state_row["SOURCE"] is not None else None,
                    running_runs=int(running or 0),
                    last_started=_from_warehouse(TIMESTAMP_TZ, last_started),
                )
            )
        return Plan(tuple(sources), int(rows[0][width + 2]) == len(wanted))

    # --- the generic upsert and select ---------------------------------------------------------------

    def _source_sql(self, table: Table, columns: Sequence[str], apart: Collection[str]) -> str:
        """A chunk of rows, one bind holding them as a JSON array of documents (`json_row_chunks`), as a typed
        relation named `src`. The SQL is the same whatever the number of rows (see the module's docstring).

        The typed columns are read from ROW_COLUMNS_KEY, itself read once per row in the inner select, so the
        large values kept `apart` are parsed once each, not once per typed column.
        """
        selects = []
        for name in columns:
            col = table.column(name)
            quoted = quote_identifier(name)
            if name in apart:
                selects.append(f"v.{quoted} {quoted}")
                continue
            path = f"v.c:{quoted}" if apart else f"f.value:{quoted}"
            typed = path if col.sql_type == VARIANT else f"{path}::{col.sql_type}"
            selects.append(f"{typed} {quoted}")
        if not apart:
            return f"(select {', '.join(selects)} from {_JSON_ARRAY_ROWS}) src"
        inner = ", ".join(
            [f'f.value:"{ROW_COLUMNS_KEY}" c', *(f"f.value:{quote_identifier(n)} {quote_identifier(n)}" for n in apart)]
        )
        return f"(select {', '.join(selects)} from (select {inner} from {_JSON_ARRAY_ROWS}) v) src"

    def _upsert(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        update_columns: Sequence[str] | None = None,
        update_when: str | None = None,
        insert: bool = True,
        batch_size: int | None = None,
    ) -> MergeCounts:
        """MERGE rows on the table's key: update matching rows where `update_when` holds (`t` is the stored
        row, `src` the incoming one), insert the others; one MERGE per chunk of `max_bind_bytes` (and of
        `batch_size` rows when given: the rows travel in one bind, not as a list of expressions, so only their
        bytes bound a statement)."""
        if not rows:
            return MergeCounts()
        keys = [c.name for c in table.keys]
        if update_columns is None:
            update_columns = [n for n in table.names if n not in keys]
        columns = list(table.names) if insert else [*keys, *update_columns]
        match = " and ".join(f"t.{quote_identifier(k)} = src.{quote_identifier(k)}" for k in keys)
        sets = ", ".join(f"{quote_identifier(c)} = src.{quote_identifier(c)}" for c in update_columns)
        condition = f" and ({update_when})" if update_when else ""
        names = ", ".join(quote_identifier(c) for c in columns)
        values = ", ".join(f"src.{quote_identifier(c)}" for c in columns)
        clauses = f" when matched{condition} then update set {sets}" if update_columns else ""
        if insert:
            clauses += f" when not matched then insert ({names}) values ({values})"
        apart = [c for c in columns if table.column(c).sql_type == VARIANT]
        source = self._source_sql(table, columns, apart)
        sql = f"merge into {self.qualified(table.name)} t using {source} on {match}{clauses}"
        counts = MergeCounts()
        shape = self._shape(table, apart, batch_size)
        written = rows.chunks if isinstance(rows, EncodedRows) and rows.shape == shape else None
        for docs in written or json_row_chunks(rows, batch_size, self.max_bind_bytes, apart):
            result = self._sql(sql, [json_array(docs)])
            outcome = result[0].as_dict() if result else {}
            counts += MergeCounts(
                int(outcome.get("number of rows inserted", 0)), int(outcome.get("number of rows updated", 0))
            )
        return counts

    def _shape(self, table: Table, apart: Sequence[str], batch_size: int | None) -> tuple:
        """What a MERGE's documents depend on besides the rows: written for one shape, valid for it alone."""
        return (table.name, tuple(apart), batch_size, self.max_bind_bytes)

    def _encoded(self, table: Table, rows: Sequence[Mapping[str, Any]], batch_size: int | None) -> EncodedRows:
        """`rows` with the documents `_upsert` would write for them, inserting every column (no session)."""
        apart = [c.name for c in table.columns if c.sql_type == VARIANT]
        chunks = list(json_row_chunks(rows, batch_size, self.max_bind_bytes, apart))
        return EncodedRows(rows, chunks, self._shape(table, apart, batch_size))

    def _select(
        self,
        table: Table,
        where: str = "",
        params: Sequence[Any] = (),
        order: str = "",
        limit: int | None = None,
    ) -> list[dict]:
        """Rows as dicts keyed by column name, with Python values (aware UTC datetimes, parsed VARIANTs)."""
        selects, decode = _typed_selects(table)
        sql = f"select {selects} from {self.qualified(table.name)}"
        sql += f" where {where}" if where else ""
        sql += f" order by {order}" if order else ""
        sql += f" limit {int(limit)}" if limit is not None else ""
        return [decode(row) for row in self._sql(sql, params)]

    # --- issues --------------------------------------------------------------------------------------

    def merge_issues(
        self, rows: Sequence[Mapping[str, Any]], *, force: bool = False, batch_size: int | None = None
    ) -> MergeCounts:
        """Upsert flattened issues on (SOURCE, ID).

        A stored row is replaced only by a strictly newer UPDATED, so rerunning a window writes nothing and an
        older copy never overwrites a newer one. An equally new copy also replaces it when the stored row is
        marked deleted (the deletion sweep may have missed an issue search had not indexed yet, or one moved
        out of the source's scope and back) or when `force` is set (a full refresh rewrites every row, e.g.
        after a change to the flattening). Duplicates in `rows` collapse to the newest copy.
        """
        rewrite_equal = "true" if force else 'coalesce(t."IS_DELETED", false)'
        return self._upsert(
            ISSUES,
            rows if _encoded_for(rows, ISSUES) else _newest_issues(rows),
            update_when=(
                't."UPDATED" is null or src."UPDATED" > t."UPDATED" '
                f'or ({rewrite_equal} and src."UPDATED" >= t."UPDATED")'
            ),
            batch_size=batch_size,
        )

    def encode_issues(self, rows: Sequence[Mapping[str, Any]], *, batch_size: int | None = None) -> EncodedRows:
        """Flattened issues made ready for `merge_issues` (the newest copy of each, its documents written).
        Uses no session: the sync calls it on the thread that prepares the next batch."""
        return self._encoded(ISSUES, _newest_issues(rows), batch_size)

    def mark_deleted(self, source: str, ids: Iterable[int], at: datetime) -> int:
        """Soft-delete issues (IS_DELETED, DELETED_AT); already-deleted ones keep their first DELETED_AT."""
        return self.mark_keys_deleted(ISSUES, source, [{"ID": int(i)} for i in sorted(set(ids))], at)

    def live_issue_ids(self, source: str) -> set[int]:
        """Ids of the source's issues not marked deleted."""
        return set(self.iter_live_issue_ids(source))

    def iter_live_issue_ids(self, source: str) -> Iterator[int]:
        """Ids of the source's live issues, ascending, read a result chunk at a time: the deletion sweep
        compares them with Jira's listing as a stream, never holding every id."""
        query = f'select "ID" from {self.qualified(ISSUES.name)} where "SOURCE" = ? and {NOT_DELETED} order by "ID"'
        return self._stream_ids(query, [source])

    def _stream_ids(self, query: str, params: Sequence[Any]) -> Iterator[int]:
        """The first column of `query`'s rows as ints, read a result chunk at a time (never all at once)."""
        log.debug("SQL %s", query)
        for row in self.session.sql(query, params=list(params)).to_local_iterator():
            yield int(row[0])

    def _is_live_issue(self, column: str) -> str:
        """SQL: the issue `t.<column>` names is a live issue of the row's source (`t` the outer table)."""
        return (
            f'exists (select 1 from {self.qualified(ISSUES.name)} i where i."SOURCE" = t."SOURCE" '
            f'and i."ID" = t.{quote_identifier(column)} and not coalesce(i."IS_DELETED", false))'
        )

    def live_issue_ids_among(self, source: str, ids: Iterable[int]) -> set[int]:
        """Which of `ids` the source has stored as live issues (one read, the ids as one JSON-array bind)."""
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return set()
        rows = self._sql(
            f'select "ID" from {self.qualified(ISSUES.name)} where "SOURCE" = ? and {NOT_DELETED} '
            f'and "ID" in {_bound_list(NUMBER)}',
            [source, fastjson.dumps(wanted)],
        )
        return {int(r[0]) for r in rows}

    def read_issues(self, source: str, *, include_deleted: bool = True) -> list[dict[str, Any]]:
        """The source's issue rows by ID, typed (datetimes, dates, parsed VARIANTs): for checks and tools."""
        where = '"SOURCE" = ?' + ("" if include_deleted else f" and {NOT_DELETED}")
        return self._select(ISSUES, where, [source], order='"ID"')

    # --- entity tables: the same few operations for every one --------------------------------------

    def merge_entity_rows(
        self, table: Table, rows: Sequence[Mapping[str, Any]], *, only_new: bool = False
    ) -> MergeCounts:
        """Upsert an entity's rows on its key; of two copies of a key in `rows`, the later wins.

        A stored row with a newer UPDATED (comments, worklogs) is kept. `only_new`: rows that never change
        once Jira wrote them (changelog items) are inserted, and rewritten only to undo a deletion mark, so
        re-reading an issue's whole history costs no rewrite.
        """
        rows = _latest_by_key(table, rows)
        if only_new:
            when = 'coalesce(t."IS_DELETED", false)'
        elif "UPDATED" in table.names:
            when = 't."UPDATED" is null or src."UPDATED" >= t."UPDATED" or coalesce(t."IS_DELETED", false)'
        else:
            when = None
        return self._upsert(table, rows, update_when=when)

    def mark_missing(
        self,
        table: Table,
        source: str,
        present: Iterable[Mapping[str, Any]],
        at: datetime,
        *,
        owners: Mapping[str, Sequence[int]] | None = None,
        listed: str | None = None,
    ) -> None:
        """Mark deleted the source's live rows (all, or those of `owners`' issues, or those whose boolean
        column `listed` is true) not among `present`.

        One UPDATE naming the rows kept (`key not in (...)`), so a batch pays one statement, not a read and
        a write. The kept keys and the owners' ids travel as JSON arrays, one bind each (`_bound_list`):
        no expression list grows with them, and the embedded warehouse translates three binds, not one per
        key (tens of thousands a batch with every entity).
        """
        keys = [c.name for c in table.keys if c.name != "SOURCE"]
        kept = sorted({tuple(row.get(k) for k in keys) for row in present}, key=repr)
        where, params = (f"coalesce({quote_identifier(listed)}, false)" if listed else ""), []
        if owners is not None:
            owned = [(c, [int(i) for i in ids]) for c, ids in owners.items() if ids]
            if not owned:
                return
            where += (" and " if where else "") + "("
            where += " or ".join(f"{quote_identifier(c)} in {_bound_list(NUMBER)}" for c, _ in owned) + ")"
            params = [fastjson.dumps(ids) for _, ids in owned]
        if kept:
            if len(keys) == 1:
                key_sql, values = quote_identifier(keys[0]), [k[0] for k in kept]
                key_type = table.column(keys[0]).sql_type
            else:  # a composite key as one text: 'issue:sprint'
                key_sql = " || ':' || ".join(f"{quote_identifier(k)}::varchar" for k in keys)
                values, key_type = [":".join(str(v) for v in k) for k in kept], VARCHAR
            where += (" and " if where else "") + f"{key_sql} not in {_bound_list(key_type)}"
            params.append(fastjson.dumps(values, default=str))
        self._sql(
            f'update {self.qualified(table.name)} set "IS_DELETED" = true, "DELETED_AT" = ? '
            f'where "SOURCE" = ? and {NOT_DELETED}' + (f" and {where}" if where else ""),
            [iso_utc(at), source, *params],
        )

    def mark_keys_deleted(
        self, table: Table, source: str, keys: Sequence[Mapping[str, Any]], at: datetime
    ) -> int:
        """Soft-delete rows by key; rows already deleted keep their first DELETED_AT, unknown keys are no-ops."""
        rows = [{**key, "SOURCE": source, "IS_DELETED": True, "DELETED_AT": at} for key in keys]
        counts = self._upsert(
            table,
            rows,
            update_columns=("IS_DELETED", "DELETED_AT"),
            update_when='not coalesce(t."IS_DELETED", false)',
            insert=False,
        )
        return counts.updated

    def mark_owned_deleted(
        self,
        table: Table,
        source: str,
        issue_ids: Sequence[int],
        owner_columns: Sequence[str],
        at: datetime,
        *,
        any_end: bool = False,
    ) -> None:
        """Soft-delete the rows of departing issues (a deleted issue's comments, worklogs, changelog...).

        A row with two issues (a link) goes only when neither end stays: its other end departs too, or is not
        a live issue of the source (a link to an issue that moved out of scope stays, as Jira still shows it
        on the issue that stays). With `any_end` (issues Jira has no more) it goes when either end is one of
        them: Jira took the link away from both. The ids travel as one JSON-array bind (`_bound_list`), so
        any number of them is one statement. Runs before the issues are marked, so a crash between the two
        repeats both.
        """
        if not issue_ids:
            return
        ids = fastjson.dumps(sorted({int(i) for i in issue_ids}))
        listed = _bound_list(NUMBER)
        condition = "(" + " or ".join(f"t.{quote_identifier(c)} in {listed}" for c in owner_columns) + ")"
        binds = [ids] * len(owner_columns)
        if len(owner_columns) > 1 and not any_end:  # and no end stays: each departs too, or is no live issue
            condition += " and " + " and ".join(
                f"(t.{quote_identifier(c)} in {listed} or not {self._is_live_issue(c)})" for c in owner_columns
            )
            binds += [ids] * len(owner_columns)
        self._sql(
            f'update {self.qualified(table.name)} t set "IS_DELETED" = true, "DELETED_AT" = ? '
            f'where t."SOURCE" = ? and not coalesce(t."IS_DELETED", false) and {condition}',
            [iso_utc(at), source, *binds],
        )

    def iter_foreign_owner_ids(
        self, source: str, owned: Sequence[tuple[Table, Sequence[str]]], *, orphaned: bool
    ) -> Iterator[int]:
        """Issue ids that live rows of the `owned` tables (each with the columns naming a row's issues) name
        but that are no live issue of the source, once each, ascending, read a result chunk at a time. With
        `orphaned`, those of rows none of whose issues is a live issue of the source (children a crash stored
        before their issue: were it still in scope the walk would bring it); without, the far ends of rows
        with an issue that is (a link into another project). The sweep asks Jira about both: nothing else
        tells when one leaves."""
        selects = []
        for table, columns in owned:
            for column in columns:
                others = [self._is_live_issue(c) for c in columns if c != column]
                if not orphaned and not others:
                    continue  # a row with one issue has no far end
                rest = " and ".join(f"not {o}" for o in others) if orphaned else " or ".join(others)
                selects.append(
                    f"select t.{quote_identifier(column)} x from {self.qualified(table.name)} t "
                    f'where t."SOURCE" = ? and not coalesce(t."IS_DELETED", false) '
                    f"and t.{quote_identifier(column)} is not null and not {self._is_live_issue(column)}"
                    + (f" and ({rest})" if rest else "")
                )
        if not selects:
            return
        yield from self._stream_ids(f"select x from ({' union '.join(selects)}) o order by x", [source] * len(selects))

    # --- checkpoints: issue changes first, then the state that they make safe ------------------------

    def commit_batch(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        source: str,
        watermark: datetime | None,
        time_zone: str | None,
        run_id: str,
        force: bool = False,
        at: datetime | None = None,
        scope: Scope | None = None,
        children: Sequence[ChildRows] = (),
        fingerprints: Mapping[str, str] | None = None,
    ) -> MergeCounts:
        """MERGE a batch's child rows, then its issues, then move the source's watermark: in that order.

        A crash after this returns loses nothing; a crash inside it leaves the watermark where it was, so the
        next run repeats the batch, which the MERGEs make a no-op for the rows already written. Children go
        first so that no crash leaves an issue stored newer than its comments, links or changelog.
        """
        moment = at or datetime.now(UTC)
        for child in children:
            self.merge_entity_rows(child.table, child.rows, only_new=not child.complete)
            if child.complete:
                owners = {column: child.owners for column in child.owner_columns}
                self.mark_missing(child.table, source, child.rows, moment, owners=owners)
        counts = self.merge_issues(rows, force=force)
        self._checkpoint(source, watermark, time_zone, run_id, at, scope, fingerprints=fingerprints)
        return counts

    def complete_window(
        self,
        *,
        source: str,
        watermark: datetime | None,
        time_zone: str | None,
        run_id: str,
        deleted_ids: Iterable[int] = (),
        gone_ids: Iterable[int] = (),
        deleted_at: datetime,
        at: datetime | None = None,
        scope: Scope | None = None,
        window_upper: datetime | None = None,
        child_tables: Sequence[tuple[Table, tuple[str, ...]]] = (),
        fingerprints: Mapping[str, str] | None = None,
        feed_cursors: Mapping[str, Mapping[str, Any]] | None = None,
        deletion_checks: DeletionChecks | None = None,
    ) -> int:
        """Soft-delete the issues Jira no longer lists (and their rows in `child_tables`, each named with
        the columns that hold a row's issue), then move the watermark to the window's end. `gone_ids` are
        issues Jira has no more at all (stored or not): a row naming one goes whatever its other end.

        Returns how many issues were newly marked deleted. A crash between the two steps repeats the sweep.
        """
        ids = sorted({int(i) for i in deleted_ids})
        gone = sorted({int(i) for i in gone_ids})
        for table, owner_columns in child_tables:
            if len(owner_columns) > 1:
                self.mark_owned_deleted(table, source, gone, owner_columns, deleted_at, any_end=True)
                self.mark_owned_deleted(table, source, ids, owner_columns, deleted_at)
            else:
                self.mark_owned_deleted(table, source, sorted({*ids, *gone}), owner_columns, deleted_at)
        deleted = self.mark_deleted(source, ids, deleted_at)
        self._checkpoint(
            source, watermark, time_zone, run_id, at, scope, window_upper, fingerprints, feed_cursors,
            deletion_checks,
        )  # fmt: skip
        return deleted

    def _checkpoint(
        self,
        source: str,
        watermark: datetime | None,
        time_zone: str | None,
        run_id: str,
        at: datetime | None,
        scope: Scope | None = None,
        window_upper: datetime | None = None,
        fingerprints: Mapping[str, str] | None = None,
        feed_cursors: Mapping[str, Mapping[str, Any]] | None = None,
        deletion_checks: DeletionChecks | None = None,
    ) -> None:
        """Write the state row; the scope columns only when a `scope` is given, WINDOW_UPPER, FINGERPRINTS,
        FEED_CURSORS and the deletion checks only when set."""
        row: dict[str, Any] = {
            "SOURCE": source,
            "WATERMARK": watermark,
            "ACCOUNT_TIME_ZONE": time_zone,
            "LAST_RUN_ID": run_id,
            "UPDATED_AT": at or datetime.now(UTC),
        }
        if scope is not None:
            row.update(
                SCOPE_JQL=scope.jql,
                BACKFILL_JQL=scope.backfill_jql,
                BACKFILL_AFTER_ID=scope.backfill_after_id,
            )
        if window_upper is not None:
            row["WINDOW_UPPER"] = window_upper
        if fingerprints is not None:
            row["FINGERPRINTS"] = dict(fingerprints)
        if feed_cursors is not None:
            row["FEED_CURSORS"] = {name: dict(cursor) for name, cursor in feed_cursors.items()}
        if deletion_checks is not None:
            row["LAST_SWEEP_AT"] = deletion_checks.last_sweep_at
            row["AUDIT_CHECKED_AT"] = deletion_checks.audit_checked_at
        # A None value leaves its key out of the row's JSON, which the MERGE reads as NULL: it clears the column.
        self._upsert(STATE, [row], update_columns=[k for k in row if k != "SOURCE"])

    # --- state ---------------------------------------------------------------------------------------

    def read_state(self, source: str) -> State | None:
        rows = self._select(STATE, '"SOURCE" = ?', [source])
        return _row_to_record(State, rows[0]) if rows else None

    def write_state(self, state: State) -> None:
        """Replace a source's whole state row (a reset, a manual fix; syncs use `commit_batch`)."""
        self._upsert(STATE, [_record_to_row(state)])

    # --- run log -------------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        source: str,
        started_at: datetime,
        watermark_before: datetime | None = None,
        *,
        close_killed: bool = True,
    ) -> None:
        """Log a run as RUNNING, before its first write: a run killed after it has changed anything leaves a
        RUNNING row (a run killed before that changed nothing, and the task's history shows it).

        With `close_killed`, runs of the source still RUNNING are marked FAILED first (`close_killed_runs`).
        """
        if close_killed:
            self.close_killed_runs(source)
        row = {
            "RUN_ID": run_id,
            "SOURCE": source,
            "STARTED_AT": started_at,
            "STATUS": "RUNNING",
            "WATERMARK_BEFORE": watermark_before,
        }
        self._upsert(RUN_LOG, [row])

    def close_killed_runs(self, source: str) -> None:
        """Runs of the source still RUNNING were killed (a TASK timeout, a cancelled query): tasks never
        overlap, so they are marked FAILED, with what is known."""
        self._sql(
            f'update {self.qualified(RUN_LOG.name)} set "STATUS" = \'FAILED\', "ERROR_MESSAGE" = ? '
            f'where "SOURCE" = ? and "STATUS" = \'RUNNING\'',
            [
                "killed before it could finish (timeout or cancellation); later runs resumed from its last batch",
                source,
            ],
        )

    def finish_run(
        self,
        run_id: str,
        ended_at: datetime,
        summary: Mapping[str, Any],
        *,
        started_at: datetime | None = None,
    ) -> None:
        """Log a run's outcome from its JSON summary (status, issues_*, requests, retries, watermarks, error);
        the summary itself is kept whole in SUMMARY. One MERGE: it completes the run's RUNNING row, or, for a
        run that wrote nothing before (`started_at` given), inserts the whole row."""
        status = summary.get("status")
        if status not in RUN_STATUSES:
            raise ValueError(f"run status must be one of {RUN_STATUSES}, not {status!r}")
        message = summary.get("error")
        if isinstance(message, str) and len(message) > MAX_ERROR_MESSAGE_CHARS:
            message = message[: MAX_ERROR_MESSAGE_CHARS - 3] + "..."

        def moment(name: str) -> Any:
            value = summary.get(name)
            return datetime.fromisoformat(value) if isinstance(value, str) else value

        row = {
            "RUN_ID": run_id,
            "ENDED_AT": ended_at,
            "STATUS": status,
            **{name: summary.get(name.lower()) for name in _RUN_COUNTERS},
            "WATERMARK_AFTER": moment("watermark_after"),
            "ERROR_MESSAGE": message,
            "SUMMARY": dict(summary),
        }
        if started_at is not None:
            row.update(
                SOURCE=summary.get("source"),
                STARTED_AT=started_at,
                WATERMARK_BEFORE=moment("watermark_before"),
            )
        self._upsert(RUN_LOG, [row], update_columns=[k for k in row if k != "RUN_ID"])

    def read_run(self, run_id: str) -> RunRecord | None:
        rows = self._select(RUN_LOG, '"RUN_ID" = ?', [run_id])
        return _row_to_record(RunRecord, rows[0]) if rows else None

    def recent_runs(self, source: str | None = None, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first (of one source, or of all)."""
        where, params = ('"SOURCE" = ?', [source]) if source is not None else ("", [])
        rows = self._select(RUN_LOG, where, params, order='"STARTED_AT" desc, "RUN_ID"', limit=limit)
        return [_row_to_record(RunRecord, r) for r in rows]

    # --- sources -------------------------------------------------------------------------------------

    def read_sources(self) -> list[dict[str, Any]]:
        """Every SOURCES row, keyed by column name (what `SourceConfig.from_row` reads), by NAME."""
        return self._select(SOURCES, order='"NAME"')

    def read_source(self, name: str) -> dict[str, Any] | None:
        rows = self._select(SOURCES, '"NAME" = ?', [name])
        return rows[0] if rows else None

    def upsert_source(self, source: SourceLike, *, now: datetime | None = None) -> None:
        """Insert or replace a source's config; CREATED_AT keeps the time of the first insert.

        The overlap is stored in whole minutes and the search lag in whole seconds, as the columns say.
        """
        at = now or datetime.now(UTC)
        row = {
            "NAME": source.name,
            "SITE_URL": source.site_url,
            "AUTH": source.auth,
            "EMAIL": source.email,
            "SECRET_ALIAS": source.secret_alias,
            "JQL": source.jql,
            "PROJECTS": list(source.projects) or None,
            "ENABLED": bool(source.enabled),
            "OVERLAP_MINUTES": round(source.overlap / timedelta(minutes=1)),
            "SEARCH_LAG_SECONDS": round(source.search_lag / timedelta(seconds=1)),
            "BATCH_SIZE": int(source.batch_size),
            "PAGE_SIZE": int(source.page_size),
            "WORKERS": int(source.workers),
            "TIME_BUDGET_SECONDS": round(source.time_budget / timedelta(seconds=1)),
            "DELETION_SWEEP_MINUTES": round(source.deletion_sweep / timedelta(minutes=1)),
            "ENTITIES": None if source.entities is None else list(source.entities),
            "CREATED_AT": at,
            "UPDATED_AT": at,
        }
        self._upsert(SOURCES, [row], update_columns=[k for k in row if k not in ("NAME", "CREATED_AT")])


_RUN_COUNTERS = (
    "ISSUES_FETCHED",
    "ISSUES_INSERTED",
    "ISSUES_UPDATED",
    "ISSUES_DELETED",
    "REQUESTS",
    "RETRIES",
)


_JSON_ARRAY_ROWS = "(select 1) p, lateral flatten(input => parse_json(?)) f"
"""One row `f` per element (`f.value`) of a bind holding a JSON array: how a MERGE takes its rows and
mark_missing its keys, one bind however many."""


def _bound_list(sql_type: str) -> str:
    """A subquery of the values in one bind, a JSON array, as `sql_type`: `x in <this>` with one bind however
    many values (a list of binds would meet Snowflake's 16,384 expressions a list)."""
    return f"(select f.value::{sql_type} from {_JSON_ARRAY_ROWS})"


def _encoded_for(rows: Sequence[Mapping[str, Any]], table: Table) -> bool:
    """Rows `Warehouse.encode_issues` made ready for `table` (so deduplicated already)."""
    return isinstance(rows, EncodedRows) and rows.shape[0] == table.name


def _newest_issues(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest copy (by UPDATED; of equals, the later) of each (SOURCE, ID) among `rows`."""
    newest: dict[tuple[Any, Any], Mapping[str, Any]] = {}
    for row in rows:
        key = (row.get("SOURCE"), row.get("ID"))
        if key[0] is None or key[1] is None:
            raise ValueError(f"issue row without SOURCE or ID: {key}")
        held = newest.get(key)
        if held is None or _sort_key(row.get("UPDATED")) >= _sort_key(held.get("UPDATED")):
            newest[key] = row
    return list(newest.values())


def _latest_by_key(table: Table, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The later copy of each of `table`'s keys among `rows`."""
    keys = [c.name for c in table.keys]
    return list({tuple(row.get(k) for k in keys): row for row in rows}.values())


def _sort_key(updated: Any) -> str:
    """UPDATED values from `flatten_issue` are uniform ISO strings in UTC, so text order is time order."""
    if isinstance(updated, datetime):
        return iso_utc(updated) or ""
    return str(updated or "")


def _from_warehouse(sql_type: str, value: Any) -> Any:
    if value is None:
        return None
    if sql_type == TIMESTAMP_TZ:
        return _EPOCH + timedelta(microseconds=int(value))
    if sql_type in (VARIANT, ARRAY) and isinstance(value, str):
        return json.loads(value)
    return value
