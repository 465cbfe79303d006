"""JIRA_BOARDS: the Scrum and Kanban boards of the source's projects (Jira Software's Agile API)."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table, paged_values
from jira_sync.model import NUMBER, VARCHAR, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_BOARDS",
    keys=[("ID", NUMBER)],
    columns=[("NAME", VARCHAR), ("TYPE", VARCHAR), ("PROJECT_ID", NUMBER), ("PROJECT_KEY", VARCHAR)],
)


def rows(context: Context) -> list[Row]:
    in_scope = {p["KEY"] for p in context.produced["projects"]}
    out = []
    for board in paged_values(context.client, "/rest/agile/1.0/board", {"maxResults": 50}):
        location = as_obj(board.get("location"))
        project_key = as_str(location.get("projectKey"))
        if project_key is not None and project_key not in in_scope:
            continue  # another source's board, or one the source's projects do not cover
        out.append(
            {
                **context.stamp.frame(board),
                "ID": as_int(board.get("id")),
                "NAME": as_str(board.get("name")),
                "TYPE": as_str(board.get("type")),
                "PROJECT_ID": as_int(location.get("projectId")),
                "PROJECT_KEY": project_key,
            }
        )
    return out


ENTITY = ReferenceEntity("boards", TABLE, rows, requires=("projects",))
