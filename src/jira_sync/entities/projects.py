"""JIRA_PROJECTS: the source's projects (its PROJECTS, or every project the token sees), with lead and type."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table, paged_values
from jira_sync.model import BOOLEAN, NUMBER, VARCHAR, adf_to_text, as_bool, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_PROJECTS",
    keys=[("ID", NUMBER)],
    columns=[
        ("KEY", VARCHAR),
        ("NAME", VARCHAR),
        ("PROJECT_TYPE_KEY", VARCHAR),
        ("STYLE", VARCHAR),  # classic (company-managed) or next-gen (team-managed)
        ("IS_PRIVATE", BOOLEAN),
        ("LEAD_ACCOUNT_ID", VARCHAR),
        ("CATEGORY_NAME", VARCHAR),
        ("DESCRIPTION", VARCHAR),
    ],
)


def rows(context: Context) -> list[Row]:
    params = {"expand": "description,lead,issueTypes", "maxResults": 50}
    if context.projects:
        params["keys"] = list(context.projects)
    out = []
    for project in paged_values(context.client, "/rest/api/3/project/search", params):
        description = project.get("description")
        out.append(
            {
                **context.stamp.frame(project),
                "ID": as_int(project.get("id")),
                "KEY": as_str(project.get("key")),
                "NAME": as_str(project.get("name")),
                "PROJECT_TYPE_KEY": as_str(project.get("projectTypeKey")),
                "STYLE": as_str(project.get("style")),
                "IS_PRIVATE": as_bool(project.get("isPrivate")),
                "LEAD_ACCOUNT_ID": as_str(as_obj(project.get("lead")).get("accountId")),
                "CATEGORY_NAME": as_str(as_obj(project.get("projectCategory")).get("name")),
                "DESCRIPTION": adf_to_text(description) if isinstance(description, dict) else as_str(description),
            }
        )
    return out


ENTITY = ReferenceEntity("projects", TABLE, rows)
