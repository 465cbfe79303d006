"""JIRA_ISSUE_CHANGELOG: every change ever made to the issues, one row per changed field of a history.

Read with `changelog/bulkfetch`, every page, never from the changelog search embeds (the latest 40 histories
only): cycle time and field history need the whole of it. Jira never removes a history, so the rows of an
issue are only added to; they are marked deleted with their issue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jira_sync.entities.base import Context, IssueChildEntity, Row, entity_table
from jira_sync.model import NUMBER, TIMESTAMP_TZ, VARCHAR, as_int, as_obj, as_str, jira_iso

TABLE = entity_table(
    "JIRA_ISSUE_CHANGELOG",
    keys=[("ISSUE_ID", NUMBER), ("HISTORY_ID", NUMBER), ("ITEM_INDEX", NUMBER)],
    columns=[
        ("CREATED_AT", TIMESTAMP_TZ),
        ("AUTHOR_ACCOUNT_ID", VARCHAR),
        ("FIELD", VARCHAR),  # the field's name as the history shows it (status, assignee, Sprint...)
        ("FIELD_ID", VARCHAR),  # its id (status, assignee, customfield_10020...), where Jira gives one
        ("FIELD_TYPE", VARCHAR),  # jira or custom
        ("FROM_VALUE", VARCHAR),  # ids (status id, account id, sprint ids...)
        ("FROM_STRING", VARCHAR),  # what a person saw
        ("TO_VALUE", VARCHAR),
        ("TO_STRING", VARCHAR),
    ],
)
MAX_ISSUES_PER_CALL = 1000  # changelog/bulkfetch takes at most 1000 issues and answers 10000 histories a page
MAX_HISTORIES_PER_PAGE = 10_000


def histories(context: Context, issue_ids: Sequence[int]) -> dict[int, list[Mapping[str, Any]]]:
    """Every history of each issue, oldest first, following nextPageToken to the end."""
    found: dict[int, list[Mapping[str, Any]]] = {i: [] for i in issue_ids}
    chunks = [
        [str(i) for i in issue_ids[start : start + MAX_ISSUES_PER_CALL]]
        for start in range(0, len(issue_ids), MAX_ISSUES_PER_CALL)
    ]
    for chunk in chunks:
        token = None
        while True:
            body: dict[str, Any] = {"issueIdsOrKeys": chunk, "maxResults": MAX_HISTORIES_PER_PAGE}
            if token:
                body["nextPageToken"] = token
            page = context.client.post("/rest/api/3/changelog/bulkfetch", body)
            for log in page.get("issueChangeLogs") or []:
                issue_id = as_int(log.get("issueId"))
                if issue_id in found:
                    found[issue_id].extend(log.get("changeHistories") or [])
            token = page.get("nextPageToken")
            if not token:
                break
    return found


def rows(context: Context, issues: Sequence[Mapping[str, Any]]) -> list[Row]:
    ids = [i for i in (as_int(issue.get("id")) for issue in issues) if i is not None]
    out = []
    for issue_id, stories in histories(context, ids).items():
        for history in stories:
            history_id = as_int(history.get("id"))
            created = jira_iso(history.get("created"))
            author = as_str(as_obj(history.get("author")).get("accountId"))
            for index, item in enumerate(history.get("items") or []):
                out.append(
                    {
                        **context.stamp.frame(item),
                        "ISSUE_ID": issue_id,
                        "HISTORY_ID": history_id,
                        "ITEM_INDEX": index,
                        "CREATED_AT": created,
                        "AUTHOR_ACCOUNT_ID": author,
                        "FIELD": as_str(item.get("field")),
                        "FIELD_ID": as_str(item.get("fieldId")),
                        "FIELD_TYPE": as_str(item.get("fieldtype")),
                        "FROM_VALUE": as_str(item.get("from")),
                        "FROM_STRING": as_str(item.get("fromString")),
                        "TO_VALUE": as_str(item.get("to")),
                        "TO_STRING": as_str(item.get("toString")),
                    }
                )
    return out


ENTITY = IssueChildEntity("changelog", TABLE, rows, complete=False)
