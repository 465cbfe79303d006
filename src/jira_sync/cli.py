"""`jira-sync`: local runs, checks and a demo, on the same code path as the stored procedure.

Every bad input ends in one line on stderr (``Error: ...``) that names the fix, and a non-zero exit: 2 for a
bad argument or setting (checked before anything is written), 1 for a run that failed (its JIRA_SYNC_RUNS row
says the same). Tracebacks only with ``jira-sync --debug``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from jira_sync.config import KNOBS, ConfigError, SourceConfig, check_changes, merge_source, same_source
from jira_sync.credentials import static_credentials, token_from_env
from jira_sync.jira import JiraClient, JiraCredentials, JiraError, source_jql
from jira_sync.jira.errors import one_line
from jira_sync.local_warehouse import (
    DEFAULT_LOCAL_DIR,
    WarehouseError,
    WarehouseSpecError,
    first_line,
    local_folder,
)
from jira_sync.local_warehouse import open_warehouse as _open_warehouse
from jira_sync.model import SOURCES
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

WAREHOUSE_HELP = f"local:DIR for the embedded warehouse (default local:{DEFAULT_LOCAL_DIR})"
T = TypeVar("T")


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
        click.option("--project", "projects", multiple=True, metavar="KEY", help="Project key (repeatable)"),
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


@click.group()
@click.option(
    "--debug", is_flag=True, help="Log everything (requests, statements) with tracebacks, on stderr"
)
def main(debug: bool) -> None:
    """Keep Snowflake tables in step with Jira Cloud."""
    _configure_logging(debug)


@main.command()
@_source_options(site_required=False)
@_knob_options
@_client_options
@click.option("--warehouse", "warehouse_spec", default=None, help=WAREHOUSE_HELP)
@click.option("--connection", default=None, help="A connection name from connections.toml (real Snowflake)")
@click.option("--source", "name", default="default", show_default=True, help="Source name in JIRA_SOURCES")
@click.option("--full-refresh", is_flag=True, help="Ignore the watermark and re-read every issue")
@click.pass_context
def run(ctx: click.Context, **params: Any) -> None:
    """Sync one source into the embedded warehouse (default) or a real account; print the summary as JSON.

    The source is its JIRA_SOURCES row with the flags given here applied; flags not given keep the row's
    values. Everything is checked before anything is written, and the row is only written if it changes.
    """
    name: str = params["name"]
    changes = _changes(ctx)
    token = _checked(token_from_env, params["token_env"])
    _checked(check_changes, name, changes)
    folder = _checked(local_folder, params["warehouse_spec"], params["connection"])
    if folder is not None and not folder.exists():  # a new warehouse: the flags alone are the source
        _require_new_source_settings(name, changes, folder)
        _checked(merge_source, None, name, changes)
    with open_warehouse(params["warehouse_spec"], params["connection"]) as session:
        warehouse = Warehouse(session)
        row = _existing_row(warehouse, name)
        if row is None:
            _require_new_source_settings(name, changes, folder)
        source = _checked(merge_source, row, name, changes)
        warehouse.ensure_schema()
        if not same_source(row, source):
            warehouse.upsert_source(source)
        summary = run_sync(
            warehouse,
            static_credentials(token, source.email if source.auth == "basic" else None),
            source=source.name,
            full_refresh=params["full_refresh"],
            client_options=_client_settings(
                params["request_timeout"], params["retry_seconds"], params["ca_bundle"]
            ),
        )
    click.echo(json.dumps(summary, default=str))
    failed = [s for s in summary["sources"] if s["status"] == "FAILED"]
    for result in failed:
        click.echo(one_line(f"Error: source {result['source']!r} failed: {result['error']}"), err=True)
    sys.exit(1 if failed else 0)


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
def check(
    site: str,
    email: str | None,
    token_env: str,
    jql: str | None,
    projects: tuple[str, ...],
    ca_bundle: str | None,
    request_timeout: float,
    retry_seconds: float,
) -> None:
    """Check a source without writing anything: credentials, time zone, JQL, and how many issues it matches."""
    changes = {"SITE_URL": site, "EMAIL": email, "JQL": jql, "PROJECTS": list(projects) or None}
    source = _checked(merge_source, None, "check", changes)
    credentials = JiraCredentials(token=_checked(token_from_env, token_env), email=email)
    client = JiraClient(
        source.site_url_normalized, credentials, **_client_settings(request_timeout, retry_seconds, ca_bundle)
    )
    try:
        account = client.myself()
        zone = client.time_zone()
        query = source_jql(source.jql, source.projects)
        count = client.post("/rest/api/3/search/approximate-count", {"jql": query}).get("count")
    except JiraError as exc:
        raise RunFailed(str(exc)) from None
    finally:
        client.close()
    click.echo(client.redact(f"account:   {account.get('displayName')} ({account.get('accountId')})"))
    click.echo(f"time zone: {zone.key}")
    click.echo(f"jql:       {query}")
    click.echo(f"issues:    about {count}")


@main.command()
@click.argument("query")
@click.option("--warehouse", "warehouse_spec", default=None, help=WAREHOUSE_HELP)
@click.option("--connection", default=None, help="A connection name from connections.toml")
def sql(query: str, warehouse_spec: str | None, connection: str | None) -> None:
    """Run one SQL statement on the warehouse and print the rows as JSON lines."""
    with open_warehouse(warehouse_spec, connection) as session:
        for row in session.sql(query).collect():
            click.echo(json.dumps(row.as_dict(), default=str, ensure_ascii=False))


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


if __name__ == "__main__":
    main()
