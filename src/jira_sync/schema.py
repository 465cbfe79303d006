"""The connector's schema as versioned objects: every table and view has a version, a hash of its definition.

A run must not pay for DDL: on Snowflake each statement is a round trip and warehouse time, and
`CREATE OR REPLACE VIEW` gives a view a new identity, which breaks streams built on it. So the versions the
warehouse was last brought to are kept in `JIRA_SYNC_SCHEMA` (one row per object), a run compares them with
the code's in the same statement that reads its sources, and DDL runs only for the objects whose definition
changed since (after a deploy of new code). Hashing the definition means no version number to forget to bump.
"""

from __future__ import annotations

import hashlib

from jira_sync.entities import ENTITY_TABLES
from jira_sync.history import HISTORY_VIEWS
from jira_sync.model import (
    ISSUES,
    RUN_LOG,
    SOURCES,
    STATE,
    TABLES,
    TIMESTAMP_TZ,
    VARCHAR,
    Column,
    Table,
    View,
)

SCHEMA_VERSIONS = Table(
    "JIRA_SYNC_SCHEMA",
    (
        Column("OBJECT", VARCHAR, key=True),  # a table or view name
        Column("VERSION", VARCHAR),  # the hash of its definition the warehouse was brought to
        Column("APPLIED_AT", TIMESTAMP_TZ),
    ),
)

# Rows not soft-deleted (IS_DELETED is never NULL for rows we write; coalesce guards hand-written ones).
NOT_DELETED = 'not coalesce("IS_DELETED", false)'


def _current_issue_columns() -> str:
    return ", ".join(f'"{n}"' for n in ISSUES.names if n not in ("IS_DELETED", "DELETED_AT"))


STATUS_VIEW = "JIRA_SYNC_STATUS"


def _latest_run(alias: str, columns: str, where: str = "") -> str:
    """Each source's latest run (of those matching `where`) as a relation named `alias`, joined to `s`."""
    return (
        f'left join (select "SOURCE", {columns}, row_number() over (partition by "SOURCE" '
        f'order by "STARTED_AT" desc, "RUN_ID" desc) "N" from {{{RUN_LOG.name}}}{where}) {alias} '
        f'on {alias}."SOURCE" = s."NAME" and {alias}."N" = 1 '
    )


def _rows_by_table(alias: str) -> str:
    """Each source's live rows in every entity table, as one OBJECT ({"JIRA_COMMENTS": 845, ...}), joined as
    `alias`: a table with no row of the source is left out."""
    counts = " union all ".join(
        f'select "SOURCE", \'{table.name}\' "TABLE_NAME", count(*) "LIVE" from {{{table.name}}} '
        f'where {NOT_DELETED} group by "SOURCE"'
        for table in ENTITY_TABLES
    )
    return (
        f'left join (select "SOURCE", object_agg("TABLE_NAME", "LIVE"::variant) "ROWS" from ({counts}) '
        f'group by "SOURCE") {alias} on {alias}."SOURCE" = s."NAME"'
    )


# JIRA_SYNC_STATUS: one row per source in JIRA_SOURCES, SQL that runs as written on Snowflake and fakesnow.
# LAG_SECONDS: how far the watermark is behind now (NULL before the first checkpoint), both sides in UTC
# (CONVERT_TIMEZONE('UTC', TIMESTAMP_TZ) cast to NTZ, and SYSDATE(), which is UTC NTZ), so neither the
# session's time zone nor a daylight-saving change can skew it. LAST_RUN_*: the latest run whatever its
# outcome (RUNNING while one runs); LAST_ERROR_*: the latest run that recorded an error, however old (a
# source that failed, then recovered, shows both: compare LAST_ERROR_AT with LAST_RUN_STARTED_AT).
# ISSUES_LIVE / ISSUES_DELETED: its rows in JIRA_ISSUES; ROWS_BY_TABLE: its live rows in each entity table
# (an OBJECT, table name -> count). The next scheduled run is task metadata, which no view can read on both
# warehouses (on Snowflake only TASK_HISTORY() knows it, and it needs a privilege on the task): `jira-sync
# status` adds it as NEXT_SCHEDULED_RUN.
_STATUS_SELECT = (
    's."NAME" "SOURCE", coalesce(s."ENABLED", true) "ENABLED", t."WATERMARK" "WATERMARK", '
    'datediff(second, convert_timezone(\'UTC\', t."WATERMARK")::timestamp_ntz, sysdate()) "LAG_SECONDS", '
    'r."STATUS" "LAST_RUN_STATUS", r."STARTED_AT" "LAST_RUN_STARTED_AT", r."ENDED_AT" "LAST_RUN_ENDED_AT", '
    'e."ERROR_MESSAGE" "LAST_ERROR_MESSAGE", e."STARTED_AT" "LAST_ERROR_AT", '
    'coalesce(i."LIVE", 0) "ISSUES_LIVE", coalesce(i."DELETED", 0) "ISSUES_DELETED", n."ROWS" "ROWS_BY_TABLE" '
    f"from {{{SOURCES.name}}} s "
    f'left join {{{STATE.name}}} t on t."SOURCE" = s."NAME" '
    + _latest_run("r", '"STATUS", "STARTED_AT", "ENDED_AT"')
    + _latest_run("e", '"ERROR_MESSAGE", "STARTED_AT"', ' where "ERROR_MESSAGE" is not null')
    + f'left join (select "SOURCE", count(case when {NOT_DELETED} then 1 end) "LIVE", '
    f'count(case when {NOT_DELETED} then null else 1 end) "DELETED" from {{{ISSUES.name}}} group by "SOURCE") i '
    'on i."SOURCE" = s."NAME" '
    + _rows_by_table("n")
)

VIEWS = (
    View(
        "JIRA_ISSUES_CURRENT",
        f"select {_current_issue_columns()} from {{JIRA_ISSUES}} where {NOT_DELETED}",
    ),
    View(
        "JIRA_ISSUE_LABELS",
        'select i."SOURCE", i."ID" "ISSUE_ID", i."KEY" "ISSUE_KEY", l.value::varchar "LABEL" '
        f'from {{JIRA_ISSUES}} i, lateral flatten(input => i."LABELS") l where {NOT_DELETED}',
    ),
    View(STATUS_VIEW, f"select {_STATUS_SELECT}"),
    *HISTORY_VIEWS,
)


def view_named(name: str) -> View:
    """The view called `name` (KeyError if there is none): look views up by name, never by position."""
    for view in VIEWS:
        if view.name == name:
            return view
    raise KeyError(f"no view named {name!r}")


MANAGED_TABLES = (SCHEMA_VERSIONS, *TABLES, *ENTITY_TABLES)
"""Every table the connector creates, the version table first (it records the others)."""


def table_definition(table: Table) -> str:
    columns = ", ".join(f"{c.name} {c.sql_type}{' KEY' if c.key else ''}" for c in table.columns)
    return f"TABLE {table.name} ({columns})"


def view_definition(view: View) -> str:
    return f"VIEW {view.name} AS {view.select}"


def version_of(definition: str) -> str:
    return hashlib.sha256(definition.encode()).hexdigest()[:16]


def code_versions() -> dict[str, str]:
    """The version of every table and view as this code defines them, by name."""
    versions = {table.name: version_of(table_definition(table)) for table in MANAGED_TABLES}
    versions.update({view.name: version_of(view_definition(view)) for view in VIEWS})
    return versions
