"""How a sync runs a source's entities besides issues (jira_sync.entities): the one loop for every entity.

- Reference lists first, each written only when its fingerprint differs from the one in the state; a list
  Jira refuses (a site without Jira Software has no boards) is skipped with a note, never a failed run.
- Children of each batch of issues (`child_rows`), handed to the batch's checkpoint, which merges them before
  the issues and the watermark.
- Feeds last, each from its own cursor; what they bring is merged before their cursor moves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from jira_sync.entities import FeedEntity, IssueChildEntity, ReferenceEntity
from jira_sync.entities.base import Context, Entity, FeedCursor, fingerprint
from jira_sync.history import WIDE_VIEW_ENTITY
from jira_sync.jira import JiraRequestError
from jira_sync.model import Table, as_int
from jira_sync.warehouse import ChildRows, Warehouse

CHILDREN_KEY = "_children"
"""Where the state's FINGERPRINTS keeps which entities the issues' windows fed when it was written."""


def _fed_by_window(entity: Entity) -> bool:
    """Do its rows come with the issues each window brings (changelog, comments, worklogs...)?"""
    return isinstance(entity, IssueChildEntity) or (isinstance(entity, FeedEntity) and entity.rows is not None)


def window_fed(entities: Sequence[Entity]) -> list[str]:
    """The names of the entities whose rows come with the issues each window brings."""
    return sorted(e.name for e in entities if _fed_by_window(e))


def newly_fed(stored: Mapping[str, str], entities: Sequence[Entity]) -> list[str]:
    """Window-fed entities the state does not know were fed: turned on since (or a state from before
    entities). Their rows exist for no issue yet, so the walk must start over to bring every issue again."""
    before = set(filter(None, stored.get(CHILDREN_KEY, "").split(",")))
    return [name for name in window_fed(entities) if name not in before]


def sync_references(
    warehouse: Warehouse,
    entities: Sequence[Entity],
    context: Context,
    stored: Mapping[str, str],
    note: Callable[[str], None],
    at: datetime,
) -> dict[str, str]:
    """Read every reference list, write those that changed; the fingerprints to keep in the state."""
    fingerprints = dict(stored)
    for entity in entities:
        if not isinstance(entity, ReferenceEntity):
            continue
        if any(name not in context.produced for name in entity.requires):
            continue  # what it hangs on was refused: nothing to read it from
        try:
            rows = entity.rows(context)
        except JiraRequestError as exc:
            note(f"{entity.name}: Jira refused the list, skipped this run ({exc})")
            continue
        context.produced[entity.name] = rows
        current = fingerprint(rows)
        if fingerprints.get(entity.name) != current:
            warehouse.merge_entity_rows(entity.table, rows)
            warehouse.mark_missing(entity.table, context.stamp.source, rows, at, listed=entity.listed_column)
            if entity.name == WIDE_VIEW_ENTITY:  # the site's fields changed: so do the wide view's columns
                warehouse.refresh_wide_view()
            fingerprints[entity.name] = current
    return fingerprints


def child_rows(
    entities: Sequence[Entity], context: Context, issues: Sequence[Mapping[str, Any]]
) -> list[ChildRows]:
    """The rows each child entity makes of a batch's issues, for `Warehouse.commit_batch`."""
    owners = [i for i in (as_int(issue.get("id")) for issue in issues) if i is not None]
    if not owners:
        return []
    children = [
        ChildRows(entity.table, entity.rows(context, issues), owners, entity.owner_columns, entity.complete)
        for entity in entities
        if _fed_by_window(entity)
    ]
    for entity in entities:  # what the issues add to a reference list: only rows it does not have yet
        if isinstance(entity, ReferenceEntity) and entity.issue_rows is not None:
            children.append(ChildRows(entity.table, entity.issue_rows(context, issues), owners, (), False))
    return children


def owned_tables(entities: Sequence[Entity]) -> list[tuple[Table, tuple[str, ...]]]:
    """The tables whose rows belong to issues, with the columns naming the issue: a deleted issue's rows in
    them are marked deleted with it."""
    return [
        (entity.table, entity.owner_columns)
        for entity in entities
        if isinstance(entity, IssueChildEntity | FeedEntity)
    ]


def sync_feeds(
    warehouse: Warehouse,
    entities: Sequence[Entity],
    context: Context,
    stored: Mapping[str, Mapping[str, Any]],
    at: datetime,
) -> dict[str, dict[str, Any]]:
    """Walk each feed from its cursor and merge what it brings; the cursors to keep in the state.

    A cursor moves only when its feed brought something (kept or not): a quiet feed leaves the state as it
    was, so a run with nothing new writes nothing.
    """
    cursors = {name: dict(cursor) for name, cursor in stored.items()}
    for entity in entities:
        if not isinstance(entity, FeedEntity):
            continue
        held = stored.get(entity.name) or {}
        cursor = FeedCursor(
            int(held.get("changed_since", 0)),
            int(held.get("deleted_since", 0)),
            tuple(int(i) for i in held.get("changed_seen", ())),
            tuple(int(i) for i in held.get("deleted_seen", ())),
        )
        page = entity.feed(context, cursor)
        if page.rows:
            warehouse.merge_entity_rows(entity.table, page.rows)
        if page.deleted_ids:
            keys = [{"ID": i} for i in page.deleted_ids]
            warehouse.mark_keys_deleted(entity.table, context.stamp.source, keys, at)
        if page.seen:
            cursors[entity.name] = {  # as the state's JSON gives it back: lists, not tuples
                k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(page.cursor).items()
            }
    return cursors
