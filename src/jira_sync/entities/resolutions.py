"""JIRA_RESOLUTIONS: every resolution (Done, Won't Do, Duplicate...)."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table, paged_values
from jira_sync.model import BOOLEAN, NUMBER, VARCHAR, as_bool, as_int, as_str

TABLE = entity_table(
    "JIRA_RESOLUTIONS",
    keys=[("ID", NUMBER)],
    columns=[("NAME", VARCHAR), ("DESCRIPTION", VARCHAR), ("IS_DEFAULT", BOOLEAN)],
)


def rows(context: Context) -> list[Row]:
    return [
        {
            **context.stamp.frame(resolution),
            "ID": as_int(resolution.get("id")),
            "NAME": as_str(resolution.get("name")),
            "DESCRIPTION": as_str(resolution.get("description")) or None,
            "IS_DEFAULT": as_bool(resolution.get("isDefault")),
        }
        for resolution in paged_values(context.client, "/rest/api/3/resolution/search", {"maxResults": 100})
    ]


ENTITY = ReferenceEntity("resolutions", TABLE, rows)
