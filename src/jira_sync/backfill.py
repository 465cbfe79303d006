"""Load what a changed scope adds: the issues a source's new JQL matches and its old one did not.

A source whose JQL or projects change keeps its watermark for the issues both scopes share (they were loaded
under the old one and the walk goes on under the new one). The issues only the new scope matches may have
been updated long before the watermark, so no window would ever bring them: they are listed by id under both
scopes (ids only, 5,000 a page, keyset by id so no concurrent edit can hide one), and the difference is
fetched in id order, each batch checkpointed with how far it got. The difference is taken in Python, not in
JQL: `NOT (<old>)` would leave out issues whose fields are empty, as JQL's negations do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from jira_sync.jira import JiraClient, bulk_fetch, iter_ids_by_id
from jira_sync.warehouse import Scope


@dataclass(frozen=True)
class BackfillChunk:
    """Issues to merge and the scope to store with them (how far the backfill has got, or that it is done)."""

    issues: list[dict]
    scope: Scope


def iter_backfill(
    client: JiraClient,
    scope: Scope,
    *,
    batch_size: int,
    page_size: int,
    already_fetched: frozenset[int] = frozenset(),
) -> Iterator[BackfillChunk]:
    """Chunks of the issues `scope.backfill_jql` adds to `scope.jql`, past `scope.backfill_after_id` and not
    among `already_fetched` (this run's window brought them); the last chunk's scope is the new one, done."""
    if not scope.backfill_jql:
        return
    added = set(iter_ids_by_id(client, scope.backfill_jql, page_size=page_size))
    if scope.jql:
        added -= set(iter_ids_by_id(client, scope.jql, page_size=page_size))
    todo = sorted(i for i in added - already_fetched if i > (scope.backfill_after_id or 0))
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        issues = bulk_fetch(client, [str(i) for i in chunk])
        yield BackfillChunk(issues, replace(scope, backfill_after_id=chunk[-1]))
    yield BackfillChunk([], Scope(jql=scope.backfill_jql))
