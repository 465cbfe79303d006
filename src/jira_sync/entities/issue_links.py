"""JIRA_ISSUE_LINKS: links between issues (blocks, relates to, duplicates...), one row per link.

Jira shows a link on both its issues: on the one it goes out from as `outwardIssue`, on the other as
`inwardIssue`. Both give the same row: FROM_ISSUE is the issue the link goes out from (the one that
"blocks"), TO_ISSUE the other. A link no longer on an issue the window brings is marked deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jira_sync.entities.base import Context, IssueChildEntity, Row, entity_table
from jira_sync.model import NUMBER, VARCHAR, as_int, as_obj, as_str

TABLE = entity_table(
    "JIRA_ISSUE_LINKS",
    keys=[("ID", NUMBER)],
    columns=[
        ("LINK_TYPE_ID", NUMBER),
        ("LINK_TYPE", VARCHAR),  # Blocks, Relates, Duplicate, Cloners...
        ("OUTWARD_DESCRIPTION", VARCHAR),  # "blocks": FROM_ISSUE blocks TO_ISSUE
        ("INWARD_DESCRIPTION", VARCHAR),  # "is blocked by": TO_ISSUE is blocked by FROM_ISSUE
        ("FROM_ISSUE_ID", NUMBER),
        ("FROM_ISSUE_KEY", VARCHAR),
        ("TO_ISSUE_ID", NUMBER),
        ("TO_ISSUE_KEY", VARCHAR),
    ],
)


def rows(context: Context, issues: Sequence[Mapping[str, Any]]) -> list[Row]:
    out: dict[int | None, Row] = {}
    for issue in issues:
        here = {"id": issue.get("id"), "key": issue.get("key")}
        for link in as_obj(issue.get("fields")).get("issuelinks") or []:
            kind = as_obj(link.get("type"))
            if "outwardIssue" in link:
                source, target = here, as_obj(link.get("outwardIssue"))
            else:
                source, target = as_obj(link.get("inwardIssue")), here
            row = {
                **context.stamp.frame(link),
                "ID": as_int(link.get("id")),
                "LINK_TYPE_ID": as_int(kind.get("id")),
                "LINK_TYPE": as_str(kind.get("name")),
                "OUTWARD_DESCRIPTION": as_str(kind.get("outward")),
                "INWARD_DESCRIPTION": as_str(kind.get("inward")),
                "FROM_ISSUE_ID": as_int(source.get("id")),
                "FROM_ISSUE_KEY": as_str(source.get("key")),
                "TO_ISSUE_ID": as_int(target.get("id")),
                "TO_ISSUE_KEY": as_str(target.get("key")),
            }
            out[row["ID"]] = row
    return list(out.values())


ENTITY = IssueChildEntity("issue_links", TABLE, rows, owner_columns=("FROM_ISSUE_ID", "TO_ISSUE_ID"))
