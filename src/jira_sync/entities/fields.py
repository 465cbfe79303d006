"""JIRA_FIELDS: the site's fields, system and custom, each with the column name it has in JIRA_ISSUES_WIDE."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table
from jira_sync.model import ARRAY, BOOLEAN, ISSUES, VARCHAR, as_bool, as_str

TABLE = entity_table(
    "JIRA_FIELDS",
    keys=[("ID", VARCHAR)],
    columns=[
        ("NAME", VARCHAR),
        ("IS_CUSTOM", BOOLEAN),
        ("SCHEMA_TYPE", VARCHAR),  # string, number, array, user, option...
        ("SCHEMA_ITEMS", VARCHAR),  # what an array holds
        ("SCHEMA_CUSTOM", VARCHAR),  # the custom field's type key
        ("CLAUSE_NAMES", ARRAY),  # how JQL names it
        ("COLUMN_NAME", VARCHAR),  # its column in JIRA_ISSUES_WIDE (custom fields only)
    ],
)
_NOT_WORD = re.compile(r"[^A-Z0-9]+")
MAX_COLUMN_NAME = 120  # well under Snowflake's 255-character identifiers, with room for a suffix


def column_names(fields: Iterable[Mapping[str, Any]], taken: Iterable[str] = ISSUES.names) -> dict[str, str]:
    """A readable, unique, SQL-safe column name for each custom field, by field id.

    From the field's name ("Story point estimate" -> STORY_POINT_ESTIMATE); a name already taken (by an
    issue column or an earlier field) gets the field's number appended (TEAM_10001). Fields are named in id
    order, so a new field never renames an existing one's column unless their names collide.
    """
    used = set(taken)
    names: dict[str, str] = {}
    custom = [f for f in fields if f.get("custom") is True and isinstance(f.get("id"), str)]
    for f in sorted(custom, key=lambda f: (len(f["id"]), f["id"])):
        base = _NOT_WORD.sub("_", str(f.get("name") or "").upper()).strip("_")[:MAX_COLUMN_NAME] or "FIELD"
        if base[0].isdigit():
            base = f"F_{base}"
        name = base
        if name in used:
            name = f"{base}_{re.sub(r'[^0-9]', '', f['id']) or len(used)}"
        while name in used:
            name += "_"
        used.add(name)
        names[f["id"]] = name
    return names


def rows(context: Context) -> list[Row]:
    columns = column_names(context.fields)
    out = []
    for f in context.fields:
        schema = f.get("schema") if isinstance(f.get("schema"), dict) else {}
        clauses = f.get("clauseNames")
        out.append(
            {
                **context.stamp.frame(f),
                "ID": as_str(f.get("id")),
                "NAME": as_str(f.get("name")),
                "IS_CUSTOM": as_bool(f.get("custom")),
                "SCHEMA_TYPE": as_str(schema.get("type")),
                "SCHEMA_ITEMS": as_str(schema.get("items")),
                "SCHEMA_CUSTOM": as_str(schema.get("custom")),
                "CLAUSE_NAMES": [c for c in clauses if isinstance(c, str)] if isinstance(clauses, list) else [],
                "COLUMN_NAME": columns.get(str(f.get("id"))),
            }
        )
    return [r for r in out if r["ID"]]


ENTITY = ReferenceEntity("fields", TABLE, rows)
