"""JIRA_COMMENTS: the issues' comments, with their text as plain text; a comment removed is marked deleted.

The issue's `comment` field holds the first comments only; an issue with more is read whole from
`issue/{id}/comment`, page by page, so no comment is ever cut off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jira_sync.entities.base import Context, IssueChildEntity, Row, embedded_or_paged, entity_table
from jira_sync.model import (
    BOOLEAN,
    NUMBER,
    TIMESTAMP_TZ,
    VARCHAR,
    adf_to_text,
    as_bool,
    as_int,
    as_obj,
    as_str,
    jira_iso,
)

TABLE = entity_table(
    "JIRA_COMMENTS",
    keys=[("ID", NUMBER)],
    columns=[
        ("ISSUE_ID", NUMBER),
        ("AUTHOR_ACCOUNT_ID", VARCHAR),
        ("UPDATE_AUTHOR_ACCOUNT_ID", VARCHAR),
        ("CREATED", TIMESTAMP_TZ),
        ("UPDATED", TIMESTAMP_TZ),
        ("BODY_TEXT", VARCHAR),  # the ADF body as plain text (RAW keeps the ADF)
        ("VISIBILITY_TYPE", VARCHAR),  # group or role, when the comment is restricted
        ("VISIBILITY_VALUE", VARCHAR),
        ("IS_PUBLIC", BOOLEAN),  # Jira Service Management: shown to the customer
    ],
)
PAGE = 100


def rows(context: Context, issues: Sequence[Mapping[str, Any]]) -> list[Row]:
    out = []
    for issue, comments in embedded_or_paged(context, issues, "comment", PAGE):
        for comment in comments:
            visibility = as_obj(comment.get("visibility"))
            body = comment.get("body")
            out.append(
                {
                    **context.stamp.frame(comment),
                    "ID": as_int(comment.get("id")),
                    "ISSUE_ID": as_int(issue.get("id")),
                    "AUTHOR_ACCOUNT_ID": as_str(as_obj(comment.get("author")).get("accountId")),
                    "UPDATE_AUTHOR_ACCOUNT_ID": as_str(as_obj(comment.get("updateAuthor")).get("accountId")),
                    "CREATED": jira_iso(comment.get("created")),
                    "UPDATED": jira_iso(comment.get("updated")),
                    "BODY_TEXT": adf_to_text(body) if isinstance(body, dict) else as_str(body),
                    "VISIBILITY_TYPE": as_str(visibility.get("type")),
                    "VISIBILITY_VALUE": as_str(visibility.get("value")),
                    "IS_PUBLIC": as_bool(comment.get("jsdPublic")),
                }
            )
    return out


ENTITY = IssueChildEntity("comments", TABLE, rows)
