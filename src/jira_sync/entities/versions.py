"""JIRA_VERSIONS: the versions (releases) of the source's projects."""

from __future__ import annotations

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table, paged_per
from jira_sync.model import BOOLEAN, DATE, NUMBER, VARCHAR, as_bool, as_date, as_int, as_str

TABLE = entity_table(
    "JIRA_VERSIONS",
    keys=[("ID", NUMBER)],
    columns=[
        ("PROJECT_ID", NUMBER),
        ("NAME", VARCHAR),
        ("DESCRIPTION", VARCHAR),
        ("RELEASED", BOOLEAN),
        ("ARCHIVED", BOOLEAN),
        ("OVERDUE", BOOLEAN),
        ("START_DATE", DATE),
        ("RELEASE_DATE", DATE),
    ],
)


def rows(context: Context) -> list[Row]:
    projects = context.produced["projects"]
    out = []
    for project, version in paged_per(context, projects, lambda p: f"/rest/api/3/project/{p['ID']}/version"):
        out.append(
            {
                **context.stamp.frame(version),
                "ID": as_int(version.get("id")),
                "PROJECT_ID": as_int(version.get("projectId")) or project["ID"],
                "NAME": as_str(version.get("name")),
                "DESCRIPTION": as_str(version.get("description")) or None,
                "RELEASED": as_bool(version.get("released")),
                "ARCHIVED": as_bool(version.get("archived")),
                "OVERDUE": as_bool(version.get("overdue")),
                "START_DATE": as_date(version.get("startDate")),
                "RELEASE_DATE": as_date(version.get("releaseDate")),
            }
        )
    return out


ENTITY = ReferenceEntity("versions", TABLE, rows, requires=("projects",))
