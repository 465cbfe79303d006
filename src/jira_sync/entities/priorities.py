"""JIRA_PRIORITIES: every priority, in Jira's order."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table
from jira_sync.model import NUMBER, VARCHAR, as_int, as_str

TABLE = entity_table(
    "JIRA_PRIORITIES",
    keys=[("ID", NUMBER)],
    columns=[("NAME", VARCHAR), ("DESCRIPTION", VARCHAR), ("STATUS_COLOR", VARCHAR), ("POSITION", NUMBER)],
)


def rows(context: Context) -> list[Row]:
    return [
        {
            **context.stamp.frame(priority),
            "ID": as_int(priority.get("id")),
            "NAME": as_str(priority.get("name")),
            "DESCRIPTION": as_str(priority.get("description")) or None,
            "STATUS_COLOR": as_str(priority.get("statusColor")),
            "POSITION": position,  # Jira lists priorities highest first
        }
        for position, priority in enumerate(context.client.get("/rest/api/3/priority") or [])
    ]


ENTITY = ReferenceEntity("priorities", TABLE, rows)
