"""JIRA_USERS: every user of the site (people, apps, customers); email only where Jira shows it.

From `users/search`, plus the users the issues name that it does not list (a token without the Browse users
permission sees few; customers of a service desk are not listed): those come with the issues, LISTED false,
and stay (an issue still names them) when the list changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jira_sync.entities.base import Context, ReferenceEntity, Row, entity_table
from jira_sync.model import BOOLEAN, VARCHAR, as_bool, as_obj, as_str

TABLE = entity_table(
    "JIRA_USERS",
    keys=[("ACCOUNT_ID", VARCHAR)],
    columns=[
        ("DISPLAY_NAME", VARCHAR),
        ("EMAIL", VARCHAR),  # NULL unless the user's profile visibility lets the token see it
        ("ACCOUNT_TYPE", VARCHAR),  # atlassian, app or customer
        ("ACTIVE", BOOLEAN),
        ("TIME_ZONE", VARCHAR),
        ("LOCALE", VARCHAR),
        ("LISTED", BOOLEAN),  # listed by users/search (false: known only from the issues that name it)
    ],
)
PAGE = 1000  # users/search returns at most 1000 per page, as a bare list
USER_FIELDS = ("assignee", "reporter", "creator")


def _row(context: Context, user: Mapping[str, Any], listed: bool) -> Row:
    return {
        **context.stamp.frame(user),
        "ACCOUNT_ID": as_str(user.get("accountId")),
        "DISPLAY_NAME": as_str(user.get("displayName")),
        "EMAIL": as_str(user.get("emailAddress")) or None,
        "ACCOUNT_TYPE": as_str(user.get("accountType")),
        "ACTIVE": as_bool(user.get("active")),
        "TIME_ZONE": as_str(user.get("timeZone")),
        "LOCALE": as_str(user.get("locale")),
        "LISTED": listed,
    }


def rows(context: Context) -> list[Row]:
    out = []
    start = 0
    while True:
        page = context.client.get("/rest/api/3/users/search", {"startAt": start, "maxResults": PAGE})
        if not isinstance(page, list) or not page:
            return out
        out += [_row(context, user, listed=True) for user in page]
        start += len(page)


def issue_rows(context: Context, issues: Sequence[Mapping[str, Any]]) -> list[Row]:
    """The users the issues name (assignee, reporter, creator) that the user list did not have."""
    listed = {row["ACCOUNT_ID"] for row in context.produced.get("users", ())}
    seen: dict[str, Mapping[str, Any]] = {}
    for issue in issues:
        fields = as_obj(issue.get("fields"))
        for name in USER_FIELDS:
            user = as_obj(fields.get(name))
            account = as_str(user.get("accountId"))
            if account and account not in listed:
                seen[account] = user
    return [_row(context, user, listed=False) for user in seen.values()]


ENTITY = ReferenceEntity("users", TABLE, rows, issue_rows=issue_rows, listed_column="LISTED")
