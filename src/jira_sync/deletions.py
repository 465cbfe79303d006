"""Find issues that left a source: deleted in Jira, or moved out of the source's JQL.

Jira's search never reports deletions. Two ways, by cost:
- The audit log (`audit_deleted_ids`): one request lists the issues deleted since the last check, when the
  account may read it (Jira administrators). Moves out of the source's scope leave no record there.
- The sweep (`find_departed_ids`), on the source's own cadence (DELETION_SWEEP_MINUTES): list every id the
  source matches now (ids only, 5,000 a page, ascending) and compare with the ids stored as live, read in
  the same order: the two streams are merged like sorted files, so neither side is ever held whole (a
  million-issue site costs a page of each at a time). Token pagination can skip an id when issues change
  mid-listing, and a skipped id must not be mistaken for a deletion, so every candidate is confirmed by
  asking Jira directly whether `(<source>) AND id in (...)` still matches it.

Which of the departed are gone from Jira altogether (deleted, or out of the account's sight) matters for rows
with two issues: a link to an issue that moved out of scope is still on the issue that stays, but a link to a
deleted issue is gone from both, and Jira does not touch the issue that stays (no new `updated`, no history),
so no window ever brings it again. Hence `Departures.gone`.

The sweep also asks after the issues that rows of the source name but that are no live issue of it
(`Warehouse.iter_foreign_owner_ids`): whether the far end of a link into another project still exists
(`vanished_ids`; the audit log names a deleted one too, when readable), and whether the issue of child rows a
crash stored without it (children are merged before their issue) has left the scope since (`confirm_departed`):
no window brings such an issue again, so nothing else would mark those rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from jira_sync.jira import JiraClient, JiraError, bulk_fetch, iter_search_issues

AUDIT_PATH = "/rest/api/3/auditing/record"
AUDIT_PAGE = 1000  # the most records Jira's audit log gives a page
CONFIRM_CHUNK = 200  # ids per confirming `id in (...)` query: keeps the JQL well under Jira's length limits


def listed_ids(client: JiraClient, jql: str) -> Iterator[int]:
    """Every issue id the JQL matches now, ascending (ids only: 5,000 a page)."""
    for issue in iter_search_issues(client, f"({jql}) ORDER BY id ASC", fields=["id"], max_results=5000):
        yield int(issue["id"])


def absent_from(stored: Iterable[int], listed: Iterable[int]) -> Iterator[int]:
    """The ids of `stored` that `listed` lacks; both ascending, each read once, neither held whole.

    Should `listed` ever come out of order, ids it has may be reported too: every one is confirmed before
    it counts as gone, so that costs a query, never a wrong deletion."""
    listed = iter(listed)
    current = next(listed, None)
    previous = None
    for stored_id in stored:
        if stored_id == previous:
            continue  # a repeated id is one candidate
        previous = stored_id
        while current is not None and current < stored_id:
            current = next(listed, None)
        if current != stored_id:
            yield stored_id


@dataclass(frozen=True)
class Departures:
    """The issues that left a source (`ids`, ascending), and those of them, or of issues the source's rows
    name, that Jira has no more at all (`gone`): every row naming a gone issue goes, links included."""

    ids: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ids or self.gone)

    def __add__(self, other: Departures) -> Departures:
        return Departures(sorted({*self.ids, *other.ids}), sorted({*self.gone, *other.gone}))


def _id_list(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def find_departed_ids(
    client: JiraClient, source_jql: str, stored_live_ids: Iterable[int], *, tell_gone: bool = True
) -> Departures:
    """Ids stored as live (ascending) that Jira no longer returns for the source, each confirmed
    (`confirm_departed`); with `tell_gone`, those Jira has no more at all are told apart."""
    candidates = absent_from(stored_live_ids, listed_ids(client, source_jql))
    return confirm_departed(client, source_jql, candidates, tell_gone=tell_gone)


def confirm_departed(
    client: JiraClient, source_jql: str, candidates: Iterable[int], *, tell_gone: bool = True
) -> Departures:
    """Of `candidates` (read as a stream, a chunk at a time), those the source's JQL does not match when
    asked by id, one `(<source>) AND id in (...)` query a chunk; and, with `tell_gone` (only links need it),
    those of them Jira has no more (`gone`: a bulk fetch of their ids, 100 a call, for a chunk that has
    departures; none on a run where nothing left)."""
    candidates = iter(candidates)
    departed: set[int] = set()
    gone: set[int] = set()
    while chunk := list(itertools.islice(candidates, CONFIRM_CHUNK)):
        still_there = set(listed_ids(client, f"({source_jql}) AND id in ({_id_list(chunk)})"))
        left = [i for i in chunk if i not in still_there]
        departed.update(left)
        if tell_gone:
            gone.update(_unfound(client, left))
    return Departures(sorted(departed), sorted(gone))  # once each, even from a stream out of order


def vanished_ids(client: JiraClient, ids: Iterable[int]) -> list[int]:
    """Which of `ids` (read as a stream, a chunk at a time) Jira has no more."""
    ids = iter(ids)
    gone: set[int] = set()
    while chunk := list(itertools.islice(ids, CONFIRM_CHUNK)):
        gone.update(_unfound(client, chunk))
    return sorted(gone)


def _unfound(client: JiraClient, ids: list[int]) -> list[int]:
    """The ids of `ids` Jira has no more, asked of the bulk fetch (id only, 100 a call): it names an issue
    that does not exist, or that the account may not see, without failing the others, and an issue that
    moved keeps its id. An answer it cannot give raises, so nothing is taken for gone on a bad day."""
    if not ids:
        return []
    found = {int(issue["id"]) for issue in bulk_fetch(client, ids, fields=("id",))}
    return [i for i in ids if i not in found]


def _audit_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}" + moment.strftime("%z")


def audit_deleted_ids(client: JiraClient, since: datetime) -> list[int] | None:
    """Ids of the issues Jira's audit log says were deleted since `since`, or None when the account may not
    read the audit log (403: only Jira administrators may). No upper bound: Jira's time as a run knows it
    (the Date header) has whole seconds, and a deletion in the same second must not fall outside. The log is
    site-wide: ids of other projects come too, and marking an issue that is not stored is a no-op."""
    found: list[int] = []
    offset = 0
    while True:
        params = {
            "from": _audit_time(since),
            "filter": "issue deleted",
            "offset": offset,
            "limit": AUDIT_PAGE,
        }
        try:
            page = client.get(AUDIT_PATH, params)
        except JiraError as exc:
            if exc.status == 403:
                return None
            raise
        records = page.get("records") or []
        for record in records:
            item = record.get("objectItem") or {}
            if record.get("summary") == "Issue deleted" and item.get("typeName") == "ISSUE":
                try:
                    found.append(int(item.get("id")))
                except (TypeError, ValueError):
                    continue  # a record without an issue id: the next sweep still finds the issue
        offset += len(records)
        if not records or offset >= int(page.get("total") or 0):
            return sorted(set(found))
