"""JIRA_ISSUE_TYPES: every issue type, with its level in the hierarchy (epic 1, standard 0, subtask -1)."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table
from jira_sync.model import BOOLEAN, NUMBER, VARCHAR, as_bool, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_ISSUE_TYPES",
    keys=[("ID", NUMBER)],
    columns=[
        ("NAME", VARCHAR),
        ("DESCRIPTION", VARCHAR),
        ("IS_SUBTASK", BOOLEAN),
        ("HIERARCHY_LEVEL", NUMBER),
        ("PROJECT_ID", NUMBER),  # set for a team-managed project's own type
    ],
)


def rows(context: Context) -> list[Row]:
    return [
        {
            **context.stamp.frame(kind),
            "ID": as_int(kind.get("id")),
            "NAME": as_str(kind.get("name")),
            "DESCRIPTION": as_str(kind.get("description")) or None,
            "IS_SUBTASK": as_bool(kind.get("subtask")),
            "HIERARCHY_LEVEL": as_int(kind.get("hierarchyLevel")),
            "PROJECT_ID": as_int(as_obj(as_obj(kind.get("scope")).get("project")).get("id")),
        }
        for kind in context.client.get("/rest/api/3/issuetype") or []
    ]


ENTITY = ReferenceEntity("issue_types", TABLE, rows)
