"""JIRA_SPRINTS: the sprints of the source's Scrum boards, future, active and closed."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table, paged_per
from jira_sync.model import NUMBER, TIMESTAMP_TZ, VARCHAR, as_int, as_str, jira_iso

TABLE = entity_table(
    "JIRA_SPRINTS",
    keys=[("ID", NUMBER)],
    columns=[
        ("BOARD_ID", NUMBER),  # the board the sprint was created on
        ("NAME", VARCHAR),
        ("STATE", VARCHAR),  # future, active, closed
        ("GOAL", VARCHAR),
        ("START_DATE", TIMESTAMP_TZ),
        ("END_DATE", TIMESTAMP_TZ),
        ("COMPLETE_DATE", TIMESTAMP_TZ),
        ("CREATED_DATE", TIMESTAMP_TZ),
    ],
)


def rows(context: Context) -> list[Row]:
    # only Scrum boards have sprints (the Agile API answers 400 for the others)
    scrum = [b for b in context.produced["boards"] if b["TYPE"] in (None, "scrum")]
    seen: set[int | None] = set()
    out = []
    for board, sprint in paged_per(context, scrum, lambda b: f"/rest/agile/1.0/board/{b['ID']}/sprint"):
        sprint_id = as_int(sprint.get("id"))
        if sprint_id in seen:
            continue  # a sprint shows on every board that shares its issues
        seen.add(sprint_id)
        out.append(
            {
                **context.stamp.frame(sprint),
                "ID": sprint_id,
                "BOARD_ID": as_int(sprint.get("originBoardId")) or board["ID"],
                "NAME": as_str(sprint.get("name")),
                "STATE": as_str(sprint.get("state")),
                "GOAL": as_str(sprint.get("goal")) or None,
                "START_DATE": jira_iso(sprint.get("startDate")),
                "END_DATE": jira_iso(sprint.get("endDate")),
                "COMPLETE_DATE": jira_iso(sprint.get("completeDate")),
                "CREATED_DATE": jira_iso(sprint.get("createdDate")),
            }
        )
    return out


ENTITY = ReferenceEntity("sprints", TABLE, rows, requires=("boards",))
