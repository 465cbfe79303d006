"""Walk one incremental window of a source and hand out batches that are safe to checkpoint.

The window is `(<source>) AND updated >= <lower> AND updated < <upper> ORDER BY updated ASC`, listed with ids
only (up to 5,000 a page) and fetched in full with bulk fetch. Two dangers shape this module:

* Updates that interleave with pagination. An issue updated mid-run jumps past `upper` and leaves the result
  set, which shifts every later issue one place back: with plain token pagination the issue that slides over a
  page boundary would be skipped, and its update lost for good. So every page after one that brought new
  issues is a *fresh* query starting at the newest in-window `updated` seen so far (keyset pagination on
  `updated`, inclusive at the minute): nothing that is still in the window can hide behind a page already read.
  Only when a whole page is already known (more issues share one minute than fit a page) do we follow
  `nextPageToken`.
* Checkpoints. Each page is one consistent, `updated`-ordered snapshot, so once its issues are merged in
  page order, in batches, every in-window issue updated before a batch's newest `updated` has been merged:
  that value is a safe watermark after the batch commits. Issues whose fetched version is newer than
  `upper` were updated during the run; they are merged (newer wins) but never move the watermark, and the next
  run sees them again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from jira_sync.jira import JiraClient, bulk_fetch, window_jql
from jira_sync.model import parse_jira_timestamp

ID_PAGE_SIZE = 5000  # Jira's cap when only ids are asked for


@dataclass(frozen=True)
class Batch:
    """Full issues to merge, and the watermark that is safe once they are committed (None: don't move it)."""

    issues: list[dict]
    watermark: datetime | None


def _updated(issue: dict) -> datetime:
    return parse_jira_timestamp(issue["fields"]["updated"])


def iter_window_batches(
    client: JiraClient,
    source_jql: str,
    *,
    lower: datetime | None,
    upper: datetime,
    time_zone: ZoneInfo,
    batch_size: int,
    fields: Sequence[str] = ("*all",),
    page_size: int = ID_PAGE_SIZE,
) -> Iterator[Batch]:
    """Yield batches covering every issue whose update falls in [lower, upper), oldest first."""
    seen: set[str] = set()
    keyset_lower = lower
    token: str | None = None
    while True:
        jql = window_jql(source_jql, keyset_lower, upper, time_zone)
        page = client.search_page(jql, fields=["id"], max_results=page_size, next_page_token=token)
        new_ids = [issue["id"] for issue in page.get("issues", []) if issue["id"] not in seen]
        seen.update(new_ids)
        newest_in_window: datetime | None = None
        # The page lists ids oldest `updated` first, and an in-window issue still has the `updated` it was
        # listed with, so fetching in page order keeps batches in `updated` order with bounded memory.
        for fetched in _prefetched(client, new_ids, batch_size, fields):
            in_window = [issue for issue in fetched if _updated(issue) < upper]
            late = [issue for issue in fetched if _updated(issue) >= upper]
            if in_window:
                newest_in_window = max(newest_in_window or _updated(in_window[0]), *map(_updated, in_window))
                yield Batch(in_window, newest_in_window)
            if late:
                yield Batch(late, None)
        if page.get("isLast", True) or not page.get("nextPageToken"):
            return
        if new_ids:
            if newest_in_window is not None:
                keyset_lower = newest_in_window
            token = None
        else:
            token = page["nextPageToken"]


def _prefetched(
    client: JiraClient, ids: list[str], batch_size: int, fields: Sequence[str]
) -> Iterator[list[dict]]:
    """Full issues for `ids`, a batch at a time, the next batch fetched while the caller writes this one:
    Jira and the warehouse work at the same time, and at most two batches are held in memory."""
    chunks = [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-prefetch") as prefetcher:
        pending: Future[list[dict]] | None = None
        for n, chunk in enumerate(chunks):
            current = pending or prefetcher.submit(bulk_fetch, client, chunk, list(fields))
            following = chunks[n + 1] if n + 1 < len(chunks) else None
            pending = prefetcher.submit(bulk_fetch, client, following, list(fields)) if following else None
            yield current.result()
