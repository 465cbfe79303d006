"""What an entity is: a table, how its rows come from Jira, and when they are written.

Three kinds, by how Jira tells what changed:
- `ReferenceEntity`: a small list read whole every run (projects, statuses, sprints...). Its rows are written
  only when their fingerprint (a hash of every row) differs from the one kept in the state, so a run with
  nothing new writes nothing; rows gone from the list are marked deleted.
- `IssueChildEntity`: rows that belong to one issue (changelog, comments, links, sprint membership), made
  from the issues each window brings, and merged before the watermark passes those issues: a crash never
  leaves an issue newer than its children. Rows an issue no longer has are marked deleted.
- `FeedEntity`: rows with a change feed of their own (worklogs), kept with a watermark of their own.

Every entity table has the same frame (`entity_table`): SOURCE first in its key, then the entity's columns,
then RAW (what Jira sent), IS_DELETED, DELETED_AT, SYNCED_AT and RUN_ID, so the warehouse treats them alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jira_sync.model import BOOLEAN, TIMESTAMP_TZ, VARCHAR, VARIANT, Column, Table, iso_utc

if TYPE_CHECKING:
    from jira_sync.jira.client import JiraClient

Row = dict[str, Any]
FRAME_COLUMNS = ("RAW", "IS_DELETED", "DELETED_AT", "SYNCED_AT", "RUN_ID")
"""The columns every entity table ends with, after its own."""
_NOT_FINGERPRINTED = frozenset({"SYNCED_AT", "RUN_ID"})  # they change every run, the data does not


def entity_table(name: str, keys: Sequence[tuple[str, str]], columns: Sequence[tuple[str, str]]) -> Table:
    """A table in the entity frame: SOURCE and `keys` as its key, `columns`, then the frame's columns."""
    return Table(
        name,
        (
            Column("SOURCE", VARCHAR, key=True),
            *(Column(n, t, key=True) for n, t in keys),
            *(Column(n, t) for n, t in columns),
            Column("RAW", VARIANT),
            Column("IS_DELETED", BOOLEAN),
            Column("DELETED_AT", TIMESTAMP_TZ),
            Column("SYNCED_AT", TIMESTAMP_TZ),
            Column("RUN_ID", VARCHAR),
        ),
    )


@dataclass
class Stamp:
    """What every row of one run carries besides its data."""

    source: str
    run_id: str
    synced_at: datetime

    def frame(self, raw: Any) -> Row:
        return {
            "SOURCE": self.source,
            "RAW": raw,
            "IS_DELETED": False,
            "DELETED_AT": None,
            "SYNCED_AT": iso_utc(self.synced_at),
            "RUN_ID": self.run_id,
        }


@dataclass
class Context:
    """What an entity's fetch may use: the client, the source's settings, the site's fields, and what the
    entities it `requires` produced earlier in this run (their rows, by entity name)."""

    client: JiraClient
    stamp: Stamp
    projects: tuple[str, ...] = ()  # the source's PROJECTS (empty: every project the token sees)
    scope_jql: str = ""  # the JQL of the source's issues
    fields: list[dict[str, Any]] = field(default_factory=list)  # GET /field, read once per run
    produced: dict[str, list[Row]] = field(default_factory=dict)
    # Which of these issue ids the source has stored as live (a warehouse read of just those ids).
    known_issues: Callable[[set[int]], set[int]] = lambda ids: set()


def field_ids_of_type(fields: Iterable[Mapping[str, Any]], custom_type: str) -> list[str]:
    """Ids of the custom fields whose type key ends in `custom_type` (`gh-sprint`, `gh-epic-link`): sites
    differ in which customfield_NNNNN holds sprints or epic links, never in the type."""
    return [
        str(f.get("id"))
        for f in fields
        if str((f.get("schema") or {}).get("custom") or "").endswith(custom_type) and f.get("id")
    ]


@dataclass(frozen=True)
class ReferenceEntity:
    """A list read whole every run. `rows(context)` returns every row the source has now.

    `issue_rows`: rows the issues each window brings add to the list (users Jira's user list does not show
    but the issues name), written with the issues, never marked deleted by the list; `listed_column` names
    the column that tells the list's own rows (only they are marked deleted when the list drops them)."""

    name: str
    table: Table
    rows: Callable[[Context], list[Row]]
    requires: tuple[str, ...] = ()
    issue_rows: Callable[[Context, Sequence[Mapping[str, Any]]], list[Row]] | None = None
    listed_column: str | None = None


@dataclass(frozen=True)
class IssueChildEntity:
    """Rows belonging to issues. `rows(context, issues)` makes the rows of these issues (full issue JSON as
    the window fetched it), fetching what the issue JSON does not hold. `complete`: the rows returned are all
    the issue has, so stored rows of these issues missing from them are marked deleted (False for rows Jira
    never removes, like changelog entries)."""

    name: str
    table: Table
    rows: Callable[[Context, Sequence[Mapping[str, Any]]], list[Row]]
    complete: bool = True
    owner_columns: tuple[str, ...] = ("ISSUE_ID",)  # the issue (or issues) a row belongs to
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedEntity:
    """Rows with a change feed of their own, walked from a cursor kept in the state (`feed` returns the rows
    changed, the keys deleted, and the new cursor). With `rows`, the issues each window brings also give
    their rows, complete, as an `IssueChildEntity`'s do: an issue that comes back into scope gets its rows
    back, which a feed already past them would never send again."""

    name: str
    table: Table
    feed: Callable[[Context, FeedCursor], FeedPage]
    rows: Callable[[Context, Sequence[Mapping[str, Any]]], list[Row]] | None = None
    owner_columns: tuple[str, ...] = ("ISSUE_ID",)
    requires: tuple[str, ...] = ()
    complete: bool = True


@dataclass(frozen=True)
class FeedCursor:
    """Where a feed stands: epoch milliseconds of the last change read and of the last deletion read, and
    the ids read at those very moments (a feed lists its `since` again: they are not read twice)."""

    changed_since: int = 0
    deleted_since: int = 0
    changed_seen: tuple[int, ...] = ()
    deleted_seen: tuple[int, ...] = ()


@dataclass
class FeedPage:
    """What one read of a feed brought: rows to merge, ids deleted, the feed's new cursor, and how many
    entries the feed listed in all (kept or not: a feed that listed nothing leaves its cursor alone)."""

    rows: list[Row]
    deleted_ids: list[int]
    cursor: FeedCursor
    seen: int = 0


Entity = ReferenceEntity | IssueChildEntity | FeedEntity


def fingerprint(rows: Iterable[Mapping[str, Any]]) -> str:
    """A hash of rows, order-independent, leaving out what changes every run."""
    digests = sorted(
        hashlib.sha256(
            json.dumps(
                {k: v for k, v in row.items() if k not in _NOT_FINGERPRINTED},
                sort_keys=True,
                default=str,
                separators=(",", ":"),
            ).encode()
        ).hexdigest()
        for row in rows
    )
    return hashlib.sha256("".join(digests).encode()).hexdigest()[:32]


def paged_values(client: JiraClient, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
    """Every value of an offset-paged Jira list (`startAt`/`maxResults`, `values`, `isLast` or `total`)."""
    start = 0
    while True:
        page = client.get(path, {**(params or {}), "startAt": start})
        values = page.get("values") or []
        yield from values
        start += len(values)
        total = page.get("total")
        if not values or page.get("isLast") is True or (isinstance(total, int) and start >= total):
            return


def paged_per(
    context: Context, parents: Sequence[Row], path: Callable[[Row], str], page_size: int = 50
) -> list[tuple[Row, dict]]:
    """(parent, value) for every value of each parent's paged list (a project's versions, a board's sprints),
    the parents read in parallel on the client's workers."""

    def of(parent: Row) -> list[tuple[Row, dict]]:
        return [(parent, v) for v in paged_values(context.client, path(parent), {"maxResults": page_size})]

    return [pair for listed in context.client.run_parallel(of, parents) for pair in listed]


def embedded_or_paged(
    context: Context, issues: Sequence[Mapping[str, Any]], field_id: str, page_size: int = 100
) -> list[tuple[Mapping[str, Any], list[Mapping[str, Any]]]]:
    """(issue, items) of a list field an issue embeds only in part (`comment`, `worklog`: the latest ones,
    with `total` counting all): the embedded items when they are all there, else every page of
    `issue/{id}/{field_id}`, read in parallel for the issues that need it."""
    items_key = f"{field_id}s"  # comment -> comments, worklog -> worklogs

    def embedded(issue: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], int | None]:
        value = (issue.get("fields") or {}).get(field_id)
        value = value if isinstance(value, Mapping) else {}
        total = value.get("total")
        return list(value.get(items_key) or []), total if isinstance(total, int) else None

    def paged(issue: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        found: list[Mapping[str, Any]] = []
        while True:
            page = context.client.get(
                f"/rest/api/3/issue/{issue['id']}/{field_id}", {"startAt": len(found), "maxResults": page_size}
            )
            values = page.get(items_key) or []
            found.extend(values)
            total = page.get("total")
            if not values or not isinstance(total, int) or len(found) >= total:
                return found

    def cut_short(issue: Mapping[str, Any]) -> bool:
        items, total = embedded(issue)
        return total is not None and total > len(items)

    more = [issue for issue in issues if cut_short(issue)]
    read = dict(zip(map(id, more), context.client.run_parallel(paged, more), strict=True))
    return [(issue, read[id(issue)] if id(issue) in read else embedded(issue)[0]) for issue in issues]
