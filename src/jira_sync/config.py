"""One validated, frozen description of a Jira source: what to sync, from where, and how.

A source comes from a row of the JIRA_SOURCES table (so a new source needs no redeploy) or, for local runs,
from the command line merged over that row; every path builds the same object, so validation happens once,
here: every bad value raises `ConfigError` with one line naming the source, the setting and how to fix it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from jira_sync.jira.errors import one_line
from jira_sync.jira.jql import source_jql

AuthKind = Literal["basic", "bearer"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{1,254}$")
_SECRET_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_URL_EXAMPLE = "'https://<site>.atlassian.net'"


class ConfigError(ValueError):
    """A source is misconfigured; the one-line message names the setting and how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def where_to_fix(name: str, column: str, example: str, flag: str | None = None) -> str:
    """How to change one setting of a source: the `jira-sync run` flag, or the JIRA_SOURCES column."""
    update = f"UPDATE JIRA_SOURCES SET {column} = {example} WHERE NAME = '{name}'"
    return f"set it with {flag} or {update}" if flag else f"fix it with {update}"


@dataclass(frozen=True)
class Knob:
    """A per-source tuning setting: its field, JIRA_SOURCES column, `jira-sync run` flag and bounds, in the
    column's unit (a count, or ``unit`` for the durations kept as timedeltas)."""

    field: str
    column: str
    low: int
    high: int
    unit: Literal["minutes", "seconds"] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.column.lower().replace("_", "-")

    def number(self, value: Any) -> float:
        """A field value in the column's unit."""
        return value / timedelta(**{self.unit: 1}) if self.unit else value

    def value(self, number: float) -> Any:
        """The field value for a number in the column's unit."""
        return timedelta(**{self.unit: number}) if self.unit else int(number)

    def fix(self, source: str) -> str:
        return where_to_fix(source, self.column, f"<{self.low}..{self.high}>", self.flag)


MAX_EXPRESSIONS_IN_LIST = 16_384
"""Snowflake refuses a list of more than 16,384 expressions: "SQL compilation error: ... maximum number of
expressions in a list exceeded, expected at most 16,384, got N" (error 001795; Snowflake's text as quoted in
https://help.salesforce.com/s/articleView?id=001472058 and https://github.com/elementary-data/elementary/issues/1419).
The tighter of the two limits a VALUES list can meet: a VALUES clause in a FROM takes up to 200,000 rows
(https://docs.snowflake.com/sql-reference/constructs/values)."""

MAX_BATCH_SIZE = 5_000
"""The most issues per batch. The MERGE the warehouse builds (`Warehouse._source_sql`) takes its rows as one
bind, a JSON array, so no list of expressions grows with its rows (tests/jira_sync/test_source_knobs.py checks
the statements), and `Warehouse.mark_missing`, `mark_owned_deleted` and `live_issue_ids_among` take their ids
the same way: no statement's list of expressions grows with a batch."""

KNOBS = (
    Knob("batch_size", "BATCH_SIZE", 1, MAX_BATCH_SIZE),
    Knob("page_size", "PAGE_SIZE", 1, 5000),
    Knob("workers", "WORKERS", 1, 32),
    Knob("overlap", "OVERLAP_MINUTES", 0, 1440, "minutes"),
    Knob("search_lag", "SEARCH_LAG_SECONDS", 0, 3600, "seconds"),
    Knob("time_budget", "TIME_BUDGET_SECONDS", 1, 86400, "seconds"),
    Knob("deletion_sweep", "DELETION_SWEEP_MINUTES", 0, 10080, "minutes"),
)
"""Every knob, as `jira-sync run` flags (``--batch-size``...) and JIRA_SOURCES columns name them."""


@dataclass(frozen=True)
class SourceConfig:
    """Everything one sync of one source needs, except the credential (which never lives here)."""

    name: str
    site_url: str
    jql: str | None = None
    projects: tuple[str, ...] = ()
    auth: AuthKind = "basic"
    email: str | None = None
    secret_alias: str = "jira_default"
    enabled: bool = True
    # Re-read this much before the watermark: guards against clock skew and late-indexed updates.
    overlap: timedelta = timedelta(minutes=5)
    # Stay this far behind now: Jira search is eventually consistent, fresher updates may not be indexed yet.
    search_lag: timedelta = timedelta(seconds=60)
    # Issues per MERGE (and per checkpoint); a knob measured by bench/, not a guess.
    batch_size: int = 500
    # Ids per search page: Jira's cap is 5,000 when only ids are asked; smaller pages only for tests.
    page_size: int = 5000
    # A run stops cleanly (status PARTIAL) after this long, at a batch boundary, well before the TASK's timeout:
    # a large initial load then spans several scheduled runs.
    time_budget: timedelta = timedelta(minutes=45)
    # The most requests in flight at once: the ceiling of the adaptive limit, which starts at 4, grows while
    # Jira answers well and steps back when Jira says its rate limit is near (jira_sync.jira.concurrency).
    # Above 8 a run gains nothing here: decoding Jira's JSON on one core is then the limit (bench/bench_fetch).
    workers: int = 8
    # How often to list every id of the source to find issues deleted or moved out of its scope (0: every
    # run). Between sweeps, deletions come from Jira's audit log when the account may read it.
    deletion_sweep: timedelta = timedelta(days=1)
    # What to sync besides issues, by entity name (jira_sync.entities); None: every entity.
    entities: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        name = self.name
        self._check_site_url()
        if not isinstance(self.projects, list | tuple) or not all(isinstance(k, str) for k in self.projects):
            raise ConfigError(
                f"Source {name!r}: projects must be a list of project keys, not {self.projects!r}; "
                + where_to_fix(name, "PROJECTS", "ARRAY_CONSTRUCT('ENG')", "--project")
            )
        object.__setattr__(self, "projects", tuple(self.projects))
        for setting, column in (("jql", "JQL"), ("email", "EMAIL")):
            value = getattr(self, setting)
            if value is not None and not isinstance(value, str):
                raise ConfigError(
                    f"Source {name!r}: {column} must be text, not {value!r}; "
                    + where_to_fix(name, column, "'...'", f"--{setting}")
                )
        self._check_scope()
        if self.auth not in ("basic", "bearer"):
            raise ConfigError(
                f"Source {name!r}: auth must be 'basic' or 'bearer', not {self.auth!r}; "
                + where_to_fix(name, "AUTH", "'basic'")
            )
        if not isinstance(self.secret_alias, str) or not _SECRET_ALIAS.match(self.secret_alias):
            raise ConfigError(
                f"Source {name!r}: secret alias {self.secret_alias!r} is invalid (letters, digits and '_'); "
                + where_to_fix(name, "SECRET_ALIAS", "'jira_default'")
            )
        if not isinstance(self.enabled, bool):
            raise ConfigError(
                f"Source {name!r}: enabled must be TRUE or FALSE, not {self.enabled!r}; "
                + where_to_fix(name, "ENABLED", "TRUE")
            )
        for knob in KNOBS:
            self._check_knob(knob)
        self._check_entities()

    def _check_entities(self) -> None:
        if self.entities is None:
            return
        from jira_sync.entities import ENTITY_NAMES

        names = self.entities
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"Source {self.name!r}: entities must be a list of entity names, not {names!r}; "
                + where_to_fix(self.name, "ENTITIES", "ARRAY_CONSTRUCT('comments', 'worklogs')", "--entities")
            )
        unknown = [n for n in names if n not in ENTITY_NAMES]
        if unknown:
            raise ConfigError(
                f"Source {self.name!r}: unknown entit{'ies' if len(unknown) > 1 else 'y'} "
                f"{', '.join(map(repr, unknown))} (known: {', '.join(ENTITY_NAMES)}); "
                + where_to_fix(self.name, "ENTITIES", "ARRAY_CONSTRUCT('comments', 'worklogs')", "--entities")
            )
        object.__setattr__(self, "entities", tuple(dict.fromkeys(names)))

    def _check_site_url(self) -> None:
        name = self.name
        if not isinstance(self.site_url, str) or not self.site_url.strip():
            raise ConfigError(
                f"Source {name!r} has no site URL; " + where_to_fix(name, "SITE_URL", _URL_EXAMPLE, "--site")
            )
        from jira_sync.jira.client import validate_base_url  # here: it brings in requests (see jira/__init__)

        try:
            validate_base_url(self.site_url)
        except ValueError as exc:  # its messages never repeat credentials found in the URL
            raise ConfigError(
                f"Source {name!r}: the site URL is invalid: {exc}; "
                + where_to_fix(name, "SITE_URL", _URL_EXAMPLE, "--site")
            ) from None

    def _check_scope(self) -> None:
        name = self.name
        has_jql = bool(self.jql and self.jql.strip())
        if not has_jql and not self.projects:
            raise ConfigError(
                f"Source {name!r}: set a JQL query or at least one project key "
                "(--jql or --project; JQL or PROJECTS in JIRA_SOURCES)."
            )
        if has_jql and self.projects:
            raise ConfigError(
                f"Source {name!r}: set either a JQL query or project keys, not both "
                "(--jql or --project; JQL or PROJECTS in JIRA_SOURCES)."
            )
        for key in self.projects:
            if not _PROJECT_KEY.match(key):
                raise ConfigError(
                    f"Source {name!r}: project key {key!r} is invalid (keys look like ENG or DATA_2: an "
                    "upper-case letter, then upper-case letters, digits or '_'); "
                    + where_to_fix(name, "PROJECTS", "ARRAY_CONSTRUCT('ENG')", "--project")
                )
        try:
            source_jql(self.jql, self.projects)
        except ValueError as exc:
            raise ConfigError(
                f"Source {name!r}: {exc}; " + where_to_fix(name, "JQL", "'project = ENG'", "--jql")
            ) from None

    def _check_knob(self, knob: Knob) -> None:
        value = getattr(self, knob.field)
        kind = timedelta if knob.unit else int
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(
                f"Source {self.name!r}: {knob.column} must be a number, not {value!r}; {knob.fix(self.name)}"
            )
        number = knob.number(value)
        if not knob.low <= number <= knob.high:
            shown = f"{number:g}" if isinstance(number, float) else number
            raise ConfigError(
                f"Source {self.name!r}: {knob.column} = {shown} is out of range "
                f"({knob.low} to {knob.high}{' ' + knob.unit if knob.unit else ''}); {knob.fix(self.name)}"
            )

    @property
    def site_url_normalized(self) -> str:
        from jira_sync.jira.client import validate_base_url

        return validate_base_url(self.site_url)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SourceConfig:
        """Build from a JIRA_SOURCES row (column names upper case, as Snowflake returns them); a NULL column
        takes the default. Raises `ConfigError` for any bad value, naming the source and the column."""
        name = row.get("NAME")
        _check_name(name)
        values: dict[str, Any] = {"name": name, "site_url": row.get("SITE_URL")}
        for setting, column in (
            ("jql", "JQL"),
            ("email", "EMAIL"),
            ("auth", "AUTH"),
            ("secret_alias", "SECRET_ALIAS"),
            ("enabled", "ENABLED"),
        ):
            if row.get(column) is not None:
                values[setting] = row[column]
        values["projects"] = _projects_of(name, row.get("PROJECTS"))
        entities = row.get("ENTITIES")
        if entities is not None:
            values["entities"] = json.loads(entities) if isinstance(entities, str) else entities
        for knob in KNOBS:
            if row.get(knob.column) is not None:
                values[knob.field] = knob.value(_number_of(name, knob, row[knob.column]))
        return cls(**values)

    @classmethod
    def default_of(cls, setting: str) -> Any:
        """The default of a setting (a field name), e.g. ``default_of("batch_size") == 500``."""
        return next(f.default for f in fields(cls) if f.name == setting)


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"Source name {name!r} is invalid: use letters, digits, '_' or '-', starting with a letter (at most "
            "64 characters); give another with --source (a stored row: UPDATE JIRA_SOURCES SET NAME = ...)."
        )


def _projects_of(name: str, value: Any) -> tuple[str, ...]:
    """PROJECTS as a tuple of keys: ARRAY columns come back as JSON text (or already as a list)."""
    if value is None:
        return ()
    keys = value
    if isinstance(value, str):
        try:
            keys = json.loads(value)
        except ValueError:
            keys = None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ConfigError(
            f"Source {name!r}: PROJECTS must be an array of project keys such as ['ENG'], not {value!r:.80}; "
            + where_to_fix(name, "PROJECTS", "ARRAY_CONSTRUCT('ENG')", "--project")
        )
    return tuple(keys)


def _number_of(name: str, knob: Knob, value: Any) -> float:
    """A knob's column value as a number (NUMBER columns come back as int, Decimal or float; text is tried)."""
    number: float | None = None
    if not isinstance(value, bool):
        try:
            number = float(Decimal(str(value).strip()))
        except (ArithmeticError, ValueError):
            number = None
    if number is None or not math.isfinite(number):
        raise ConfigError(
            f"Source {name!r}: {knob.column} = {str(value)[:40]!r} is not a number; {knob.fix(name)}"
        )
    if not knob.unit and number != int(number):
        raise ConfigError(
            f"Source {name!r}: {knob.column} = {number:g} is not a whole number; {knob.fix(name)}"
        )
    return number


def merge_source(row: Mapping[str, Any] | None, name: str, changes: Mapping[str, Any]) -> SourceConfig:
    """The source `name` as its JIRA_SOURCES `row` says (None: a new source), with `changes` (column ->
    value) applied, validated whole. Columns not changed keep the row's values, so knobs set with
    `UPDATE JIRA_SOURCES` survive a run or an `add_jira_source`. A JQL and project keys are alternatives:
    giving one clears the other. A new source without an EMAIL uses a bearer token."""
    merged: dict[str, Any] = (
        dict(row) if row else {"NAME": name, "AUTH": "basic" if changes.get("EMAIL") else "bearer"}
    )
    if changes.get("JQL"):
        merged["PROJECTS"] = None
    if changes.get("PROJECTS"):
        merged["JQL"] = None
    merged.update(changes)
    return SourceConfig.from_row(merged)


_STAND_IN_ROW = {"SITE_URL": "https://example.atlassian.net", "PROJECTS": ["EXAMPLE"]}


def check_changes(name: str, changes: Mapping[str, Any]) -> None:
    """Validate a source name and `changes` on their own, before any warehouse is opened: merged over a
    valid stand-in row, any `ConfigError` is about the name or a changed value."""
    merge_source({"NAME": name, **_STAND_IN_ROW}, name, changes)


def same_source(row: Mapping[str, Any] | None, source: SourceConfig) -> bool:
    """Does `row` already describe `source` (so writing it would change nothing)?"""
    if row is None:
        return False
    try:
        return SourceConfig.from_row(row) == source
    except ConfigError:  # the row is broken: writing the merged source repairs it
        return False
