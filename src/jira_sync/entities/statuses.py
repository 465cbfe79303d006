"""JIRA_STATUSES: every workflow status with its category, which the status-period view reads."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table
from jira_sync.model import NUMBER, VARCHAR, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_STATUSES",
    keys=[("ID", NUMBER)],
    columns=[
        ("NAME", VARCHAR),
        ("CATEGORY_KEY", VARCHAR),  # new, indeterminate, done
        ("CATEGORY_NAME", VARCHAR),  # To Do, In Progress, Done
        ("PROJECT_ID", NUMBER),  # set for a team-managed project's own status
        ("DESCRIPTION", VARCHAR),
    ],
)


def rows(context: Context) -> list[Row]:
    out = []
    for status in context.client.get("/rest/api/3/status") or []:
        category = as_obj(status.get("statusCategory"))
        out.append(
            {
                **context.stamp.frame(status),
                "ID": as_int(status.get("id")),
                "NAME": as_str(status.get("name")),
                "CATEGORY_KEY": as_str(category.get("key")),
                "CATEGORY_NAME": as_str(category.get("name")),
                "PROJECT_ID": as_int(as_obj(as_obj(status.get("scope")).get("project")).get("id")),
                "DESCRIPTION": as_str(status.get("description")) or None,
            }
        )
    return out


ENTITY = ReferenceEntity("statuses", TABLE, rows)
