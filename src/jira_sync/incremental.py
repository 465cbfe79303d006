"""Walk one incremental window of a source and hand out batches that are safe to checkpoint.

**The rule this module keeps.** After a checkpoint at watermark W, every issue in the source's scope whose
latest update happened before W is stored at that version or newer, whatever the order of listing and
fetching, Jira's search-index lag, clock skew, crashes and concurrent edits.

How, in three facts:

1. *Jira's search index is eventually consistent, and a fetched issue can be newer than the place it was
   listed at.* So a watermark or a keyset cursor never comes from a fetched version as such. Each window
   starts with one probe: the newest `updated` the index holds for the window (`ORDER BY updated DESC`,
   one issue, field `updated`). The index holds versions in the order they were written, so it has every
   update older than that value (`newest_indexed`): the listing that follows sees each of them at its true
   place.
2. *A fetched version no newer than `newest_indexed` is the very version the listing saw* (that version
   was indexed before the listing ran, and nothing newer exists). Such a value is "confirmed": it tells us
   where in the listing's order we are, so it may become a cursor and a watermark. Fetched versions newer
   than `newest_indexed` (updated during the run, or not yet indexed) are merged but never move anything.
3. *Pages are read so that nothing still in the window can hide behind a page already read.* Issues are
   listed by id only (up to 5,000 a page), oldest `updated` first; after a page, the next query starts
   fresh at the minute of the newest confirmed value (keyset pagination; JQL dates have minute precision,
   the minute is re-read and already-seen ids are skipped). When that cannot advance (more issues in one
   minute than fit a page, or nothing on the page confirmed), the stretch up to the page's last issue is
   walked by id instead (`AND id > <last> ORDER BY id`), which no concurrent edit can shift; it is
   checkpointed when it ends.

Checkpoints: each batch carries the newest confirmed value of the listing prefix it completes; every
in-window issue updated before that value was listed earlier (the listing is in `updated` order) and is
committed. When the whole window is read, the watermark moves to just after `newest_indexed` (never past
the window's upper bound). The window's upper bound itself only keeps the query from chasing edits made
during the run: correctness does not depend on how far behind now it is.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jira_sync.collector import paced_for_bulk_data
from jira_sync.jira import FetchPipeline, JiraClient, bulk_fetch, iter_ids_by_id, window_jql
from jira_sync.model import parse_jira_timestamp

log = logging.getLogger(__name__)

ID_PAGE_SIZE = 5000  # Jira's cap when only ids are asked for
MINUTE = timedelta(minutes=1)
TICK = timedelta(milliseconds=1)  # Jira's timestamps have millisecond precision


@dataclass(frozen=True)
class Batch:
    """Full issues to merge, and the watermark that is safe once they are committed (None: don't move it)."""

    issues: list[dict]
    watermark: datetime | None


def floor_minute(moment: datetime) -> datetime:
    """JQL dates have minute precision: bounds are whole minutes so what we ask is exactly what Jira reads."""
    return moment.replace(second=0, microsecond=0)


def updated_of(issue: dict) -> datetime:
    """An issue's `updated` as an aware UTC datetime."""
    value = parse_jira_timestamp(issue["fields"]["updated"])
    if value is None:
        raise ValueError(f"Jira returned issue {issue.get('id')} without an updated timestamp")
    return value


def newest_indexed(
    client: JiraClient,
    source_jql: str,
    *,
    lower: datetime | None,
    upper: datetime,
    time_zone: ZoneInfo,
) -> datetime | None:
    """The newest `updated` the search index holds for the window (None: nothing in it). One request."""
    jql = window_jql(source_jql, lower, upper, time_zone, order_by="updated DESC")
    page = client.search_page(jql, fields=["updated"], max_results=1)
    issues = page.get("issues") or []
    return updated_of(issues[0]) if issues else None


class WindowWalk:
    """One pass over `(<source>) AND updated >= lower AND updated < upper`: `batches()` yields what to merge,
    in listing order; `final_watermark` is the watermark the whole window earns once `batches()` is spent.

    `stored_watermark`: the source's current watermark. When the index holds nothing newer in the window,
    nothing in it can be missing from the table (the rule above), so the walk ends after the probe: a run
    with nothing new costs one search.
    """

    def __init__(
        self,
        client: JiraClient,
        source_jql: str,
        *,
        lower: datetime | None,
        upper: datetime,
        time_zone: ZoneInfo,
        batch_size: int,
        page_size: int = ID_PAGE_SIZE,
        fields: Sequence[str] = ("*all",),
        stored_watermark: datetime | None = None,
    ) -> None:
        self.client = client
        self.source_jql = source_jql
        self.lower = lower
        self.upper = upper
        self.time_zone = time_zone
        self.batch_size = batch_size
        self.page_size = page_size
        self.fields = list(fields)
        self.stored_watermark = stored_watermark
        self.newest_indexed: datetime | None = None
        self.complete = False
        self._seen: set[str] = set()

    @property
    def seen_ids(self) -> frozenset[int]:
        """Ids this walk has listed (and so fetched, or found gone)."""
        return frozenset(int(i) for i in self._seen)

    @property
    def final_watermark(self) -> datetime | None:
        """Just after the newest indexed update, capped at the window's end; None until the walk is complete
        or when the window was empty (nothing tells how far the index has got)."""
        if not self.complete or self.newest_indexed is None:
            return None
        return min(self.upper, self.newest_indexed + TICK)

    def batches(self) -> Iterator[Batch]:
        newest = newest_indexed(
            self.client, self.source_jql, lower=self.lower, upper=self.upper, time_zone=self.time_zone
        )
        self.newest_indexed = newest
        if newest is None or (self.stored_watermark is not None and newest < self.stored_watermark):
            self.complete = True  # nothing in the window is newer than what is stored
            return
        pipeline = FetchPipeline(self.client, self.batch_size, self.fields)
        with paced_for_bulk_data(), contextlib.closing(pipeline):
            yield from self._walk(pipeline, newest)
        self.complete = True

    def _walk(self, pipeline: FetchPipeline, newest: datetime) -> Iterator[Batch]:
        cursor = self.lower
        confirmed: datetime | None = None  # newest confirmed `updated` of the listing prefix merged so far
        page = self._list(pipeline, cursor)
        while True:
            # The next page is asked for while this one is fetched (see _look_ahead); None: no next page,
            # or no cursor known before this page's issues are in.
            ahead = self._look_ahead(pipeline, page, cursor, confirmed, newest)
            last_listed: dict | None = None
            for fetched in pipeline.batches(page.segment):
                for issue in fetched:
                    value = updated_of(issue)
                    if value <= newest and (confirmed is None or value > confirmed):
                        confirmed = value
                    if str(issue["id"]) == page.listed[-1]:
                        last_listed = issue
                yield Batch(fetched, confirmed)
            if not page.has_next:
                return
            following = ahead.result() if ahead is not None else None
            if following is not None:
                cursor, page = following.cursor, following
                continue
            if confirmed is not None and (cursor is None or floor_minute(confirmed) > floor_minute(cursor)):
                cursor = floor_minute(confirmed)
                page = self._list(pipeline, cursor)
                continue
            # No confirmed progress: walk by id up to just past the page's last issue, which no edit can
            # shift. Its listed `updated` is at most its fetched one, and every other listed one at most that.
            bound = self.upper
            if last_listed is not None:
                bound = min(self.upper, floor_minute(updated_of(last_listed)) + MINUTE)
            yield from self._walk_by_id(pipeline, cursor, bound)
            if bound >= self.upper:
                return
            cursor = bound
            page = self._list(pipeline, cursor)

    def _list(self, pipeline: FetchPipeline, cursor: datetime | None) -> _Page:
        """One id page of the window from `cursor` on, its new ids queued for fetching."""
        return self._queue(
            pipeline, cursor, self.client.search_page(self._jql(cursor), max_results=self.page_size)
        )

    def _queue(self, pipeline: FetchPipeline, cursor: datetime | None, page: dict) -> _Page:
        listed = [str(issue["id"]) for issue in page.get("issues") or []]
        return _Page(cursor, listed, pipeline.add(self._new(listed)), bool(page.get("nextPageToken")))

    def _look_ahead(
        self,
        pipeline: FetchPipeline,
        page: _Page,
        cursor: datetime | None,
        confirmed: datetime | None,
        newest: datetime,
    ) -> Future[_Page | None] | None:
        """List the next id page while this one is fetched and queue its calls behind this page's, so that
        requests stay in flight across pages.

        The cursor it needs comes from one issue, not the whole page: the page's last listed issue, fetched
        alone (field `updated`). When that version is confirmed (no newer than `newest`), it is the one the
        listing saw last, so every in-window issue updated before it was listed by now: its minute is a
        cursor as safe as the page's newest confirmed value, which can only be the same or later (a lower
        cursor re-reads a little, skipping ids already seen). When it is not confirmed or does not move the
        cursor, the answer is None and the walk goes on as if it had not looked.
        """
        if not page.has_next or not page.listed:
            return None
        return self.client.submit(self._next_page, pipeline, page.listed[-1], cursor, confirmed, newest)

    def _next_page(
        self,
        pipeline: FetchPipeline,
        last_id: str,
        cursor: datetime | None,
        confirmed: datetime | None,
        newest: datetime,
    ) -> _Page | None:
        """Runs on the client's pool while the walk's own thread reads the page before, which touches
        neither the seen ids nor the pipeline's segments until this has answered."""
        fetched = bulk_fetch(self.client, [last_id], ["updated"])  # one id: on this thread, not the pool
        if not fetched or (value := updated_of(fetched[0])) > newest:
            return None
        following = floor_minute(value if confirmed is None else max(confirmed, value))
        if cursor is not None and following <= cursor:
            return None
        return self._list(pipeline, following)

    def _jql(self, lower: datetime | None) -> str:
        return window_jql(self.source_jql, lower, self.upper, self.time_zone)

    def _walk_by_id(
        self, pipeline: FetchPipeline, lower: datetime | None, upper: datetime
    ) -> Iterator[Batch]:
        """Every issue listed in [lower, upper), by ascending id (`iter_ids_by_id`: each page a fresh
        `id > last` query); then a checkpoint: every update before `upper` that the index held is merged."""
        stretch = window_jql(self.source_jql, lower, upper, self.time_zone, order_by=None)
        listed = [str(i) for i in iter_ids_by_id(self.client, stretch, page_size=self.page_size)]
        for fetched in pipeline.batches(pipeline.add(self._new(listed))):
            yield Batch(fetched, None)
        assert self.newest_indexed is not None
        yield Batch([], min(upper, self.newest_indexed + TICK))

    def _new(self, listed: list[str]) -> list[str]:
        """The listed ids not seen before in this walk, now seen."""
        new_ids = [issue_id for issue_id in listed if issue_id not in self._seen]
        self._seen.update(new_ids)
        return new_ids


@dataclass(frozen=True)
class _Page:
    """An id page of the listing: from which cursor, its ids in order, its fetch segment, whether more follow."""

    cursor: datetime | None
    listed: list[str]
    segment: int
    has_next: bool
