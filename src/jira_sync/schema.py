"""The connector's schema as versioned objects: every table and view has a version, a hash of its definition.

A run must not pay for DDL: on Snowflake each statement is a round trip and warehouse time, and
`CREATE OR REPLACE VIEW` gives a view a new identity, which breaks streams built on it. So the versions the
warehouse was last brought to are kept in `JIRA_SYNC_SCHEMA` (one row per object), a run compares them with
the code's in the same statement that reads its sources, and DDL runs only for the objects whose definition
changed since (after a deploy of new code). Hashing the definition means no version number to forget to bump.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from jira_sync.model import ISSUES, TABLES, TIMESTAMP_TZ, VARCHAR, Column, Table

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


@dataclass(frozen=True)
class View:
    """A view: its name and its SELECT, where `{TABLE_NAME}` stands for that table's qualified name.

    Column lists are explicit: a `SELECT *` view breaks on Snowflake when a column is added to its table.
    """

    name: str
    select: str


def _current_issue_columns() -> str:
    return ", ".join(f'"{n}"' for n in ISSUES.names if n not in ("IS_DELETED", "DELETED_AT"))


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
)

MANAGED_TABLES = (SCHEMA_VERSIONS, *TABLES)
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
