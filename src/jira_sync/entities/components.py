"""JIRA_COMPONENTS: the components of the source's projects."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table, paged_per
from jira_sync.model import NUMBER, VARCHAR, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_COMPONENTS",
    keys=[("ID", NUMBER)],
    columns=[
        ("PROJECT_ID", NUMBER),
        ("PROJECT_KEY", VARCHAR),
        ("NAME", VARCHAR),
        ("DESCRIPTION", VARCHAR),
        ("LEAD_ACCOUNT_ID", VARCHAR),
        ("ASSIGNEE_TYPE", VARCHAR),
    ],
)


def rows(context: Context) -> list[Row]:
    projects = context.produced["projects"]
    out = []
    for project, component in paged_per(context, projects, lambda p: f"/rest/api/3/project/{p['ID']}/component"):
        out.append(
            {
                **context.stamp.frame(component),
                "ID": as_int(component.get("id")),
                "PROJECT_ID": as_int(component.get("projectId")) or project["ID"],
                "PROJECT_KEY": as_str(component.get("project")) or project["KEY"],
                "NAME": as_str(component.get("name")),
                "DESCRIPTION": as_str(component.get("description")) or None,
                "LEAD_ACCOUNT_ID": as_str(as_obj(component.get("lead")).get("accountId")),
                "ASSIGNEE_TYPE": as_str(component.get("assigneeType")),
            }
        )
    return out


ENTITY = ReferenceEntity("components", TABLE, rows, requires=("projects",))
