"""JIRA_ISSUE_SPRINTS: which sprints each issue is or was in, from the issue's Sprint field.

An issue carried over keeps every sprint it was in; one taken out of a sprint loses it, and its row is marked
deleted (the changelog keeps when).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jira_sync.entities.base import Context, IssueChildEntity, Row, entity_table, field_ids_of_type
from jira_sync.model import NUMBER, VARCHAR, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_ISSUE_SPRINTS",
    keys=[("ISSUE_ID", NUMBER), ("SPRINT_ID", NUMBER)],
    columns=[("SPRINT_NAME", VARCHAR), ("SPRINT_STATE", VARCHAR), ("BOARD_ID", NUMBER)],
)
SPRINT_FIELD_TYPE = "gh-sprint"  # com.pyxis.greenhopper.jira:gh-sprint, whatever its customfield id


def rows(context: Context, issues: Sequence[Mapping[str, Any]]) -> list[Row]:
    field_ids = field_ids_of_type(context.fields, SPRINT_FIELD_TYPE)
    out = []
    for issue in issues:
        fields = as_obj(issue.get("fields"))
        for field_id in field_ids:
            for sprint in fields.get(field_id) or []:
                sprint = as_obj(sprint)
                out.append(
                    {
                        **context.stamp.frame(sprint),
                        "ISSUE_ID": as_int(issue.get("id")),
                        "SPRINT_ID": as_int(sprint.get("id")),
                        "SPRINT_NAME": as_str(sprint.get("name")),
                        "SPRINT_STATE": as_str(sprint.get("state")),
                        "BOARD_ID": as_int(sprint.get("boardId")),
                    }
                )
    return [r for r in out if r["SPRINT_ID"] is not None]


ENTITY = IssueChildEntity("issue_sprints", TABLE, rows)
