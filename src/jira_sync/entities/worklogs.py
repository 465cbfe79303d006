"""JIRA_WORKLOGS: time logged on the source's issues, from Jira's worklog feed, with a cursor of its own.

`worklog/updated` lists the worklogs changed since a moment (epoch ms), `worklog/list` reads them (1000 at a
time), `worklog/deleted` lists those removed. The feed covers the whole site: a worklog is kept only when its
issue is in the source's scope: one of its stored issues, or (for issues not stored yet) one its JQL finds.
A run with no new worklog costs the two feed requests and writes nothing. The issues each window brings also
give their worklogs, complete, so an issue back in scope gets its worklogs back (see base.FeedEntity).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from jira_sync.entities.base import (
    Context,
    FeedCursor,
    FeedEntity,
    FeedPage,
    Row,
    embedded_or_paged,
    entity_table,
)
from jira_sync.jira.search import iter_search_issues
from jira_sync.model import NUMBER, TIMESTAMP_TZ, VARCHAR, adf_to_text, as_int, as_obj, as_str, jira_iso

TABLE = entity_table(
    "JIRA_WORKLOGS",
    keys=[("ID", NUMBER)],
    columns=[
        ("ISSUE_ID", NUMBER),
        ("AUTHOR_ACCOUNT_ID", VARCHAR),
        ("UPDATE_AUTHOR_ACCOUNT_ID", VARCHAR),
        ("STARTED", TIMESTAMP_TZ),
        ("TIME_SPENT_SECONDS", NUMBER),
        ("CREATED", TIMESTAMP_TZ),
        ("UPDATED", TIMESTAMP_TZ),
        ("COMMENT_TEXT", VARCHAR),
    ],
)
PAGE = 5000  # issue/{id}/worklog pages (Jira's cap is 5000)
LIST_SIZE = 1000  # worklog/list reads at most 1000 ids per call
SCOPE_CHECK_SIZE = 100  # issue ids per `id in (...)` scope query


def _feed(context: Context, path: str, since: int, seen: tuple[int, ...]) -> tuple[list[dict], int, tuple]:
    """The entries of a worklog feed not read before: those after `since`, and those at `since` not in `seen`
    (the feed includes its `since`; a quiet feed then brings nothing twice). Also where the feed ended and
    the ids at that moment, the next cursor."""
    entries: list[dict[str, Any]] = []
    start, done = since, set(seen)
    while True:
        page = context.client.get(path, {"since": since})
        for entry in page.get("values") or []:
            moment, worklog_id = as_int(entry.get("updatedTime")), as_int(entry.get("worklogId"))
            if moment is not None and (moment > start or worklog_id not in done):
                entries.append(entry)
        until = as_int(page.get("until"))
        if page.get("lastPage") is not False or until is None or until <= since:
            break  # the end (or a page that would not move on: its next would be the same page)
        since = until
    last = max([start, *(as_int(e.get("updatedTime")) or start for e in entries)])
    at_last = {as_int(e.get("worklogId")) for e in entries if as_int(e.get("updatedTime")) == last}
    if last == start:
        at_last |= done
    return entries, last, tuple(sorted(i for i in at_last if i is not None))


def _read(context: Context, ids: list[int]) -> Iterator[dict[str, Any]]:
    chunks = [ids[start : start + LIST_SIZE] for start in range(0, len(ids), LIST_SIZE)]
    for worklogs in context.client.run_parallel(
        lambda chunk: context.client.post("/rest/api/3/worklog/list", {"ids": chunk}), chunks
    ):
        yield from worklogs or []


def in_scope(context: Context, issue_ids: set[int]) -> set[int]:
    """Which of these issues the source's JQL matches (search answers only for issues it may see)."""
    ordered = sorted(issue_ids)
    found: set[int] = set()
    for start in range(0, len(ordered), SCOPE_CHECK_SIZE):
        chunk = ", ".join(str(i) for i in ordered[start : start + SCOPE_CHECK_SIZE])
        jql = f"({context.scope_jql}) AND id in ({chunk})" if context.scope_jql else f"id in ({chunk})"
        found.update(int(issue["id"]) for issue in iter_search_issues(context.client, jql, fields=("id",)))
    return found


def feed(context: Context, cursor: FeedCursor) -> FeedPage:
    changed, changed_until, changed_seen = _feed(
        context, "/rest/api/3/worklog/updated", cursor.changed_since, cursor.changed_seen
    )
    deleted, deleted_until, deleted_seen = _feed(
        context, "/rest/api/3/worklog/deleted", cursor.deleted_since, cursor.deleted_seen
    )
    ids = sorted({i for i in (as_int(e.get("worklogId")) for e in changed) if i is not None})
    worklogs = list(_read(context, ids)) if ids else []
    issues = {i for i in (as_int(w.get("issueId")) for w in worklogs) if i is not None}
    known = context.known_issues(issues) if issues else set()
    wanted = known | in_scope(context, issues - known)
    rows = [_row(context, w) for w in worklogs if as_int(w.get("issueId")) in wanted]
    gone = [i for i in (as_int(e.get("worklogId")) for e in deleted) if i is not None]
    cursor = FeedCursor(changed_until, deleted_until, changed_seen, deleted_seen)
    return FeedPage(rows, gone, cursor, seen=len(changed) + len(deleted))


def _row(context: Context, worklog: Mapping[str, Any]) -> Row:
    comment = worklog.get("comment")
    return {
        **context.stamp.frame(worklog),
        "ID": as_int(worklog.get("id")),
        "ISSUE_ID": as_int(worklog.get("issueId")),
        "AUTHOR_ACCOUNT_ID": as_str(as_obj(worklog.get("author")).get("accountId")),
        "UPDATE_AUTHOR_ACCOUNT_ID": as_str(as_obj(worklog.get("updateAuthor")).get("accountId")),
        "STARTED": jira_iso(worklog.get("started")),
        "TIME_SPENT_SECONDS": as_int(worklog.get("timeSpentSeconds")),
        "CREATED": jira_iso(worklog.get("created")),
        "UPDATED": jira_iso(worklog.get("updated")),
        "COMMENT_TEXT": adf_to_text(comment) if isinstance(comment, dict) else as_str(comment),
    }


def issue_rows(context: Context, issues: Sequence[Mapping[str, Any]]) -> list[Row]:
    """The worklogs of the issues a window brings: their `worklog` field (the latest 20), or every page."""
    return [
        _row(context, {**worklog, "issueId": issue.get("id")})
        for issue, worklogs in embedded_or_paged(context, issues, "worklog", PAGE)
        for worklog in worklogs
    ]


ENTITY = FeedEntity("worklogs", TABLE, feed, rows=issue_rows)
