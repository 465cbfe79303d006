"""`jira-sync`: local runs, checks, queries, status and a demo, on the same code path as the stored procedure.

Every bad input ends in one line on stderr (``Error: ...``) that names the fix, and a non-zero exit: 2 for a
bad argument or setting (checked before anything is written), 1 for a run that failed (its JIRA_SYNC_RUNS row
says the same). Tracebacks only with ``jira-sync --debug``.

Start-up is part of the interface (`jira-sync --help` under a second): this module imports only what every
command needs. Snowpark and the embedded warehouse (fakesnow, pandas, pyarrow: about a second), the Jira
client (requests) and the sync itself are imported inside the commands that use them;
tests/jira_sync/test_cli_args.py checks that importing this module loads none of them.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click
from click.core import ParameterSource

from jira_sync.config import KNOBS, ConfigError, SourceConfig, check_changes, merge_source, same_source
from jira_sync.jira.errors import one_line
from jira_sync.local_warehouse import (
    DEFAULT_DATABASE,
    DEFAULT_LOCAL_DIR,
    WarehouseError,
    WarehouseSpecError,
    decline_dataframe_libraries,
    first_line,
    local_folder,
)
from jira_sync.local_warehouse import open_warehouse as _open_warehouse
from jira_sync.model import SOURCES
from jira_sync.schema import STATUS_VIEW

if TYPE_CHECKING:
    from jira_sync.observer import SyncObserver
    from jira_sync.warehouse import Warehouse

WAREHOUSE_HELP = f"local:DIR for the embedded warehouse (default local:{DEFAULT_LOCAL_DIR})"
CONNECTION_HELP = "A connection name from connections.toml (real Snowflake)"
TASK_NAME = "SYNC_JIRA_TASK"  # the task sql/task.sql and sql/task_warehouse.sql create
T = TypeVar("T")
log = logging.getLogger(__name__)


class BadInput(click.ClickException):
    """A bad argument or setting: one line, exit 2, nothing written."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class RunFailed(click.ClickException):
    """The run could not be done or failed: one line, exit 1."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class _OneLineFormatter(logging.Formatter):
    """``jira-sync: warning: ...`` on one line; the traceback only with --debug."""

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        line = one_line(f"jira-sync: {record.levelname.lower()}: {record.getMessage()}")
        if self.debug and record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (as ``logging.lastResort`` does)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


# The warehouse's own loggers: what they report reaches the user as the one-line error of the exception.
_WAREHOUSE_LOGGERS = ("snowflake", "fakesnow", "uvicorn")
_log_handler: logging.Handler | None = None


def _configure_logging(debug: bool) -> None:
    """Warnings (retries, rate limits) as one line each on stderr; with --debug every log record."""
    global _log_handler
    root = logging.getLogger()
    if _log_handler is not None:
        root.removeHandler(_log_handler)
    _log_handler = _StderrHandler()
    _log_handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    _log_handler.setFormatter(_OneLineFormatter(debug))
    if not debug:
        _log_handler.addFilter(lambda record: not record.name.startswith(_WAREHOUSE_LOGGERS))
    root.addHandler(_log_handler)
    if debug:
        root.setLevel(logging.DEBUG)


def _checked(function: Callable[..., T], *args: Any) -> T:
    """Call a validation; a `ConfigError` or a bad ``--warehouse`` becomes a usage error (exit 2)."""
    try:
        return function(*args)
    except (ConfigError, WarehouseSpecError) as exc:
        raise BadInput(str(exc)) from None


@contextmanager
def open_warehouse(spec: str | None, connection: str | None) -> Iterator[Any]:
    """The warehouse session; what fails unexpectedly inside is one line (exit 1), unless --debug."""
    debug = click.get_current_context().find_root().params.get("debug", False)
    try:
        with _open_warehouse(spec, connection) as session:
            yield session
    except click.ClickException:
        raise
    except WarehouseSpecError as exc:
        raise BadInput(str(exc)) from None
    except (WarehouseError, ConfigError) as exc:
        raise RunFailed(str(exc)) from None
    except Exception as exc:
        if debug:
            raise
        raise RunFailed(
            f"{type(exc).__name__}: {first_line(exc)} (run again with jira-sync --debug for the details)"
        ) from None


class _Command(click.Command):
    """A command that refuses a stray word in one line saying what to do, not with click's usage dump and
    its generic "unexpected extra argument": `--project A B` is the usual slip, so it gets its own fix."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        allowed, ctx.allow_extra_args = ctx.allow_extra_args, True
        try:
            rest = super().parse_args(ctx, args)
        finally:
            ctx.allow_extra_args = allowed
        if rest and not allowed and not ctx.resilient_parsing:
            if ctx.get_parameter_source("entities") == ParameterSource.COMMANDLINE and rest[0].islower():
                how = "give several entities as --entities A,B or --entities A --entities B"
            elif ctx.get_parameter_source("projects") == ParameterSource.COMMANDLINE:
                how = "give several projects as --project A,B or --project A --project B"
            else:
                how = f"see jira-sync {ctx.info_name} --help"
            raise BadInput(f"unexpected argument {rest[0]!r}: {how}")
        return rest


class _Group(click.Group):
    command_class = _Command


def _projects(_ctx: click.Context, _param: click.Parameter, values: Sequence[str]) -> tuple[str, ...]:
    """`--project A,B --project C` -> (A, B, C): commas and repetition combine. Blanks around a key are
    dropped; an empty key (`--project A,`) is kept, for the source's check to refuse like any bad key."""
    return tuple(key.strip() for value in values for key in value.split(","))


def _entities_option(function: Any) -> Any:
    return click.option(
        "--entities",
        multiple=True,
        metavar="NAME[,NAME...]",
        callback=_projects,  # the same rule: commas and repetition combine
        help="What to sync besides issues (comments, worklogs, changelog...: see the README's tables); "
        "kept from JIRA_SOURCES when not given, every entity for a new source",
    )(function)


def _source_options(site_required: bool) -> Callable[[Any], Any]:
    site_help = "https://<site>.atlassian.net or the api.atlassian.com URL"
    options = [
        click.option(
            "--site",
            required=site_required,
            help=site_help if site_required else site_help + " (kept from JIRA_SOURCES when not given)",
        ),
        click.option("--email", default=None, help="Account email (basic auth); omit for a bearer token"),
        click.option(
            "--token-env", required=True, metavar="VAR", help="Environment variable holding the token"
        ),
        click.option("--jql", default=None, help="JQL selecting the issues to sync"),
        click.option(
            "--project",
            "projects",
            multiple=True,
            metavar="KEY[,KEY...]",
            callback=_projects,
            help="Project keys: --project A,B or --project A --project B",
        ),
        click.option("--ca-bundle", default=None, type=click.Path(exists=True), help="CA bundle for TLS"),
    ]

    def decorate(function: Any) -> Any:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _knob_options(function: Any) -> Any:
    for knob in reversed(KNOBS):
        default = SourceConfig.default_of(knob.field)
        unit = f" {knob.unit}" if knob.unit else ""
        shown = knob.number(default)
        function = click.option(
            knob.flag,
            knob.field,
            type=int,
            default=None,
            metavar="N",
            help=f"{knob.column} of the source, {knob.low} to {knob.high}{unit} (default {shown:g}); "
            "kept from JIRA_SOURCES when not given",
        )(function)
    return function


def _client_options(function: Any) -> Any:
    options = [
        click.option(
            "--request-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            help="Seconds to wait for each read from Jira; a whole answer may take twice that",
        ),
        click.option(
            "--retry-seconds",
            type=click.FloatRange(min=0),
            default=300.0,
            show_default=True,
            help="How long to keep retrying a request Jira fails (429, 5xx, timeouts)",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _given(ctx: click.Context, parameter: str) -> bool:
    return ctx.get_parameter_source(parameter) not in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
        None,
    )


def _changes(ctx: click.Context) -> dict[str, Any]:
    """The JIRA_SOURCES columns the user asked to change: only the flags actually given."""
    params = ctx.params
    changes: dict[str, Any] = {}
    if _given(ctx, "site"):
        changes["SITE_URL"] = params["site"]
    if _given(ctx, "email"):
        changes["EMAIL"], changes["AUTH"] = params["email"], "basic"
    if _given(ctx, "jql"):
        changes["JQL"] = params["jql"]
    if _given(ctx, "projects"):
        changes["PROJECTS"] = list(params["projects"])
    if _given(ctx, "entities"):
        changes["ENTITIES"] = list(params["entities"])
    for knob in KNOBS:
        if _given(ctx, knob.field):
            changes[knob.column] = params[knob.field]
    return changes


def _existing_row(warehouse: Warehouse, name: str) -> dict[str, Any] | None:
    """The source's JIRA_SOURCES row, None if there is none (or no table yet): read only, nothing created."""
    found = warehouse.session.sql(
        "select count(*) from information_schema.tables where table_schema = current_schema() "
        "and table_name = ?",
        params=[SOURCES.name],
    ).collect()
    return warehouse.read_source(name) if found and found[0][0] else None


def _client_settings(request_timeout: float, retry_seconds: float, ca_bundle: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {"timeout": request_timeout, "max_retry_seconds": retry_seconds}
    if ca_bundle:
        settings["verify"] = ca_bundle
    return settings


# --- printing rows -----------------------------------------------------------------------------------------
#
# Rows from the warehouse as text: `jira-sync sql` and `jira-sync status` print through here.
#
# Rows come from the connector's cursor (`fetch`), where a SQL NULL is None, a real one, whichever warehouse
# answered (the embedded one's NULL timestamps included: see `null_timestamps` in local_warehouse.py).
# Three formats:
#
# - ``table`` (the default): aligned columns under a header, NULL printed as ``NULL``, numbers right-aligned,
#   line breaks and tabs inside a value escaped (``\n``, ``\t``) so each row stays on one line, then
#   ``(N rows)``. For people; its layout may change.
# - ``json``: JSON lines, one object per row (column name -> value), so output can be streamed and read line by
#   line (``jq -c``). NULL is ``null``; booleans and integers are JSON's; floats too (NaN and infinities, which
#   JSON lacks, as the strings ``"NaN"``, ``"inf"``, ``"-inf"``); exact decimals (NUMBER with a scale) as
#   strings, so nothing is rounded; timestamps, dates and times as ISO 8601 strings; binary as hex; VARIANT,
#   OBJECT and ARRAY as the JSON text the warehouse sent (a string), which keeps a VARIANT holding JSON
#   ``null`` (the text ``"null"``) apart from a SQL NULL (``null``).
# - ``csv``: the csv module's default dialect with a header row; every non-numeric value quoted and NULL
#   an empty, unquoted field, so NULL and the empty string (``""``) stay apart, as Snowflake's own CSV loading
#   reads them (``FIELD_OPTIONALLY_ENCLOSED_BY = '"'``, ``EMPTY_FIELD_AS_NULL``).

FORMATS = ("table", "json", "csv")
NULL = "NULL"


def fetch(session: Any, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement through the session's connector cursor: its column names and its rows.

    The cursor, not `Session.sql`: it sends the text as written and gives the column names even when no
    row comes back (the header of an empty result)."""
    return cursor_rows(session.connection, query)


def cursor_rows(connection: Any, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """`fetch` on a plain connector connection."""
    cursor = connection.cursor()
    try:
        cursor.execute(query)
        columns = [column.name for column in cursor.description or ()]
        rows = [tuple(row) for row in cursor.fetchall()] if columns else []
    finally:
        cursor.close()
    return columns, rows


def _write_rows(
    out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]], output_format: str
) -> None:
    """Print `rows` under `columns` in one of `FORMATS`."""
    writers: dict[str, Callable[[TextIO, Sequence[str], Iterable[Sequence[Any]]], None]] = {
        "table": _table,
        "json": _json_lines,
        "csv": _csv,
    }
    writers[output_format](out, columns, rows)


def _duplicated(columns: Sequence[str]) -> list[str]:
    """Column names given more than once (a JSON object can hold each name once)."""
    return sorted({name for name in columns if list(columns).count(name) > 1})


def _text(value: Any) -> str:
    """A non-NULL value as one piece of text (table and CSV cells)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return _non_finite(value)
    return str(value)


def _non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _non_finite(value)
    return _text(value)  # Decimal (exact, as text), timestamps, dates, times, binary


def _json_lines(out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    for row in rows:
        record = {name: _json_value(value) for name, value in zip(columns, row, strict=True)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _csv(out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])


class _CsvNull:
    """How NULL reaches the csv writer: QUOTE_NONNUMERIC leaves a "numeric" field unquoted and writes it as
    its str(), so this is one (it has __float__) whose text is empty. None would come out quoted (``""``),
    like the empty string. (Python 3.12's QUOTE_NOTNULL says this directly; we run on 3.11.)"""

    def __float__(self) -> float:
        return math.nan

    def __str__(self) -> str:
        return ""


_CSV_NULL = _CsvNull()


def _csv_value(value: Any) -> Any:
    """NULL as an empty, unquoted field; finite numbers unquoted; everything else quoted text."""
    if value is None:
        return _CSV_NULL
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return _text(value)


def _table(out: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = list(rows)
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        all(_is_number(row[i]) for row in rows if row[i] is not None)
        and any(row[i] is not None for row in rows)
        for i in range(len(columns))
    ]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        padded = (
            value.rjust(width) if right else value.ljust(width)
            for value, width, right in zip(values, widths, numeric, strict=True)
        )
        return "  ".join(padded).rstrip()

    out.write(line(list(columns)) + "\n")
    out.write("  ".join("-" * width for width in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    out.write(f"({len(rows)} row{'' if len(rows) == 1 else 's'})\n")


def _cell(value: Any) -> str:
    if value is None:
        return NULL
    return _text(value).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _warehouse_options(function: Any) -> Any:
    function = click.option("--connection", default=None, help=CONNECTION_HELP)(function)
    return click.option("--warehouse", "warehouse_spec", default=None, help=WAREHOUSE_HELP)(function)


def _format_option(function: Any) -> Any:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table (aligned, NULL as NULL), json (one object per line) or csv (NULL as an empty field)",
    )(function)


@click.group(cls=_Group)
@click.option(
    "--debug", is_flag=True, help="Log everything (requests, statements) with tracebacks, on stderr"
)
def main(debug: bool) -> None:
    """Keep Snowflake tables in step with Jira Cloud."""
    _configure_logging(debug)


@main.command()
@_source_options(site_required=False)
@_entities_option
@_knob_options
@_client_options
@_warehouse_options
@click.option("--source", "name", default="default", show_default=True, help="Source name in JIRA_SOURCES")
@click.option("--full-refresh", is_flag=True, help="Ignore the watermark and re-read every issue")
@click.pass_context
def run(ctx: click.Context, **params: Any) -> None:
    """Sync one source into the embedded warehouse (default) or a real account; print the summary as JSON.

    The source is its JIRA_SOURCES row with the flags given here applied; flags not given keep the row's
    values. Everything is checked before anything is written, and the row is only written if it changes.
    """
    from jira_sync.credentials import static_credentials, token_from_env
    from jira_sync.sync import run_sync
    from jira_sync.warehouse import Warehouse

    name: str = params["name"]
    changes = _changes(ctx)
    token = _checked(token_from_env, params["token_env"])
    _checked(check_changes, name, changes)
    folder = _checked(local_folder, params["warehouse_spec"], params["connection"])
    if folder is not None and not folder.exists():  # a new warehouse: the flags alone are the source
        _require_new_source_settings(name, changes, folder)
        _checked(merge_source, None, name, changes)
    if folder is not None:  # the embedded warehouse: a run needs no dataframe library (137 MiB)
        decline_dataframe_libraries()
    with open_warehouse(params["warehouse_spec"], params["connection"]) as session:
        warehouse = Warehouse(session)
        row = _existing_row(warehouse, name)
        if row is None:
            _require_new_source_settings(name, changes, folder)
        source = _checked(merge_source, row, name, changes)
        if not same_source(row, source):
            warehouse.ensure_schema()  # a new warehouse has no tables yet; a sync's first read checks the rest
            warehouse.upsert_source(source)
        with _progress_on_terminal() as observer:
            summary = run_sync(
                warehouse,
                static_credentials(token, source.email if source.auth == "basic" else None),
                source=source.name,
                full_refresh=params["full_refresh"],
                client_options=_client_settings(
                    params["request_timeout"], params["retry_seconds"], params["ca_bundle"]
                ),
                observer=observer,
            )
    click.echo(json.dumps(summary, default=str))
    failed = [s for s in summary["sources"] if s["status"] == "FAILED"]
    for result in failed:
        click.echo(one_line(f"Error: source {result['source']!r} failed: {result['error']}"), err=True)
    sys.exit(1 if failed else 0)


@contextmanager
def _progress_on_terminal() -> Iterator[SyncObserver | None]:
    """A progress bar when stdout is a terminal, else nothing: piped or captured output stays the JSON summary
    alone, and costs no request for the bar's total. rich is imported only here, when it draws."""
    out = click.get_text_stream("stdout")
    if not out.isatty():
        yield None
        return
    from jira_sync.progress_bar import ProgressBar

    with ProgressBar(out, redirect_stderr=sys.stderr.isatty()) as bar:
        yield bar


def _require_new_source_settings(name: str, changes: Mapping[str, Any], folder: Path | None) -> None:
    if "SITE_URL" not in changes:
        where = f"in {folder}" if folder is not None else "in JIRA_SOURCES"
        raise BadInput(
            f"There is no source {name!r} {where} yet: give --site and --jql or --project to add it "
            "(or --source NAME for an existing one)."
        )


@main.command()
@_source_options(site_required=True)
@_client_options
@click.option(
    "--connection",
    default=None,
    help=CONNECTION_HELP + ": also check the deployment there (integration, secret, network rule, "
    "procedure, task, grants)",
)
def check(
    site: str,
    email: str | None,
    token_env: str,
    jql: str | None,
    projects: tuple[str, ...],
    ca_bundle: str | None,
    request_timeout: float,
    retry_seconds: float,
    connection: str | None,
) -> None:
    """Check a source without writing anything: credentials, time zone, JQL, and how many issues it matches.

    With --connection, also the Snowflake side in the connection's schema, for its role: one line per finding
    (ok, or FIX with the statement that fixes it); exit 1 if anything needs fixing.
    """
    from jira_sync.credentials import token_from_env
    from jira_sync.jira import JiraClient, JiraCredentials, JiraError, approximate_count, source_jql

    changes = {"SITE_URL": site, "EMAIL": email, "JQL": jql, "PROJECTS": list(projects) or None}
    source = _checked(merge_source, None, "check", changes)
    credentials = JiraCredentials(token=_checked(token_from_env, token_env), email=email)
    client = JiraClient(
        source.site_url_normalized, credentials, **_client_settings(request_timeout, retry_seconds, ca_bundle)
    )
    jira_error = None
    try:
        account = client.myself()
        zone = client.time_zone()
        query = source_jql(source.jql, source.projects)
        count = approximate_count(client, query)
    except JiraError as exc:
        jira_error = str(exc)
    finally:
        client.close()
    if jira_error is None:
        click.echo(client.redact(f"account:   {account.get('displayName')} ({account.get('accountId')})"))
        click.echo(f"time zone: {zone.key}")
        click.echo(f"jql:       {query}")
        click.echo(f"issues:    about {count}")
    problems = _check_snowflake(connection, source.site_url_normalized, email) if connection else 0
    if jira_error is not None:
        raise RunFailed(jira_error)
    if problems:
        raise RunFailed(
            f"{problems} thing{'s' if problems > 1 else ''} to fix in the Snowflake deployment (the FIX lines "
            "above say how); then run jira-sync check again"
        )


def _check_snowflake(connection: str, site_url: str, email: str | None) -> int:
    """Print the deployment's findings (deployment_check.py), one line each; return how many need fixing.
    Through the plain connector: the check sends SHOW and DESCRIBE statements, nothing Snowpark adds to."""
    from jira_sync.deployment_check import check_deployment
    from jira_sync.local_warehouse import connector_connection

    def query(sql: str) -> list[dict[str, Any]]:
        columns, rows = cursor_rows(account, sql)
        return [{name.lower(): value for name, value in zip(columns, row, strict=True)} for row in rows]

    try:
        with connector_connection(connection) as account:
            findings = check_deployment(query, site_url, email)
    except WarehouseError as exc:
        raise RunFailed(str(exc)) from None
    for finding in findings:
        click.echo(finding.line())
    return sum(not finding.ok for finding in findings)


@main.command()
@click.argument("query")
@_warehouse_options
@_format_option
def sql(query: str, warehouse_spec: str | None, connection: str | None, output_format: str) -> None:
    """Run one SQL statement on the warehouse and print its rows; NULL is always NULL (see --format)."""
    with open_warehouse(warehouse_spec, connection) as session:
        columns, rows = fetch(session, query)
    _print_rows(columns, rows, output_format)


@main.command()
@_warehouse_options
@_format_option
def status(warehouse_spec: str | None, connection: str | None, output_format: str) -> None:
    """Print each source's status: the JIRA_SYNC_STATUS view, and NEXT_SCHEDULED_RUN of the task.

    NEXT_SCHEDULED_RUN is not in the view (a view cannot read task metadata on both warehouses): with
    --connection it is the next SCHEDULED run of SYNC_JIRA_TASK in Snowflake's TASK_HISTORY() for each enabled
    source (NULL when the task is suspended or missing, or the role may not see it: a warning says so); the
    embedded warehouse has no scheduler, so it is NULL there. Reads only: nothing is created or written.
    """
    _require_warehouse(warehouse_spec, connection)
    with open_warehouse(warehouse_spec, connection) as session:
        from jira_sync.warehouse import Warehouse

        view = Warehouse(session).qualified(STATUS_VIEW)
        try:
            columns, rows = fetch(session, f'select * from {view} order by "SOURCE"')
        except Exception as exc:
            raise RunFailed(
                f"cannot read {STATUS_VIEW}: {first_line(exc)}; the first sync with this version creates it "
                "(jira-sync run, or CALL sync_jira())"
            ) from None
        next_run = _next_scheduled_run(session) if connection else None
    enabled = columns.index("ENABLED")
    _print_rows(
        [*columns, "NEXT_SCHEDULED_RUN"],
        [(*row, next_run if row[enabled] else None) for row in rows],
        output_format,
    )


def _require_warehouse(warehouse_spec: str | None, connection: str | None, hint: str = "") -> Path | None:
    """The folder of a local:DIR warehouse (None for a connection); refused (exit 2) if it holds no warehouse
    yet, for commands that only read one."""
    folder = _checked(local_folder, warehouse_spec, connection)
    if folder is not None and not (folder / f"{DEFAULT_DATABASE}.db").exists():
        raise BadInput(
            f"There is no warehouse in {folder} yet: run jira-sync run --warehouse local:{folder} first "
            f"(or point --warehouse at an existing one{hint})."
        )
    return folder


def _next_scheduled_run(session: Any) -> datetime | None:
    """The next scheduled run of the task in the session's schema, from TASK_HISTORY(), which lists runs of
    the last 7 days and the next one scheduled (state SCHEDULED); None if there is none or it is hidden."""
    query = (
        f"select min(scheduled_time) from table(information_schema.task_history(task_name => '{TASK_NAME}')) "
        "where state = 'SCHEDULED' and database_name = current_database() and schema_name = current_schema()"
    )
    try:
        _columns, rows = fetch(session, query)
    except Exception as exc:  # no privilege on the task (OWNERSHIP, MONITOR or OPERATE), no database in use
        log.warning("cannot read the next scheduled run of %s: %s", TASK_NAME, first_line(exc))
        return None
    return rows[0][0] if rows else None


def _print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], output_format: str) -> None:
    if output_format == "json" and _duplicated(columns):
        raise BadInput(
            f"columns {', '.join(_duplicated(columns))} appear more than once: give them distinct aliases "
            "(... AS NAME) for --format json"
        )
    _write_rows(click.get_text_stream("stdout"), columns, rows, output_format)


@main.command()
@click.option("--issues", default=400, show_default=True, help="Issues on the emulated Jira site")
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--dir", "folder", default=".jira-sync/demo", show_default=True, help="Embedded warehouse folder"
)
@click.option("--timezone", "time_zone", default="America/Los_Angeles", show_default=True)
def demo(issues: int, seed: int, folder: str, time_zone: str) -> None:
    """Start the Jira emulator and the embedded warehouse, load, change Jira, load again, show what happened."""
    from jira_sync.demo import run_demo

    run_demo(issues=issues, seed=seed, folder=folder, time_zone=time_zone, echo=click.echo)


@main.command()
@_warehouse_options
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Port to serve it on"
)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface)",
)
def dashboard(warehouse_spec: str | None, connection: str | None, port: int, address: str) -> None:
    """Serve the dashboard (the Streamlit app `snow streamlit deploy` puts in Snowflake) on this machine, on
    the embedded warehouse or a Snowflake account; open the URL it prints, stop it with Ctrl-C."""
    import importlib.util

    demo = "; jira-sync demo fills local:.jira-sync/demo"
    folder = _require_warehouse(warehouse_spec, connection, hint=demo)
    if importlib.util.find_spec("streamlit") is None:
        raise RunFailed("Streamlit is not installed here: pip install -e . (pyproject.toml lists it)")
    from jira_sync.dashboard.serve import exec_dashboard

    click.echo(f"jira-sync dashboard: http://{address}:{port}", err=True)
    # the default folder too, made absolute: the app runs in another process, maybe in another folder
    exec_dashboard(port, address, None if folder is None else f"local:{folder.resolve()}", connection)


if __name__ == "__main__":
    main()
