"""Reading issues: enhanced-search pagination (a generator), parallel bulk fetch, field discovery.

Pagination follows the dlt pattern: a tiny paginator object reads each answer (``update_state``) and says
what the next request needs (``next_request``); the walk itself is a generator, so a caller merges page by
page and keeps memory flat.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jira_sync.jira.errors import JiraRequestError, JiraUnavailableError

if TYPE_CHECKING:
    from jira_sync.jira.client import JiraClient

__all__ = [
    "APPROXIMATE_COUNT_PATH",
    "BULK_FETCH_LIMIT",
    "BULK_FETCH_PATH",
    "BulkFetchResult",
    "FetchPipeline",
    "NextPageTokenPaginator",
    "approximate_count",
    "bulk_fetch",
    "bulk_fetch_issues",
    "bulk_fetch_stream",
    "iter_ids_by_id",
    "iter_search_issues",
    "iter_search_pages",
    "story_points_field_ids",
]

_log = logging.getLogger(__name__)

APPROXIMATE_COUNT_PATH = "/rest/api/3/search/approximate-count"
BULK_FETCH_PATH = "/rest/api/3/issue/bulkfetch"
BULK_FETCH_LIMIT = 100
"""Jira's cap on ``issueIdsOrKeys`` per bulk fetch call."""
STORY_POINTS_NAMES = ("story points", "story point estimate")
"""Company-managed projects use "Story Points", team-managed ones "Story point estimate"."""


class NextPageTokenPaginator:
    """Where the enhanced search goes next: ``nextPageToken`` until ``isLast`` or until no token comes back.

    A server that hands out a token it already gave would make the walk loop forever (or repeat issues);
    that is refused with an error rather than trusted.
    """

    def __init__(self) -> None:
        self.next_page_token: str | None = None
        self.has_next_page = True
        self.pages = 0
        self._seen: set[str] = set()

    def update_state(self, page: Mapping[str, Any]) -> None:
        """Read one search answer and decide whether and where the walk continues."""
        self.pages += 1
        token = page.get("nextPageToken")
        if page.get("isLast") is True or not token:
            self.has_next_page = False
            self.next_page_token = None
            return
        if token in self._seen:
            raise JiraRequestError(
                f"Jira's search returned the same nextPageToken twice (after {self.pages} pages); stopping "
                "rather than reading the same issues forever. Run the sync again; if it repeats, report it "
                "to Atlassian support."
            )
        self._seen.add(token)
        self.next_page_token = token

    def next_request(self) -> dict[str, str]:
        """The body fields that ask for the next page (none for the first)."""
        return {"nextPageToken": self.next_page_token} if self.next_page_token else {}


def iter_search_pages(
    client: JiraClient,
    jql: str,
    *,
    fields: Sequence[str] = ("id",),
    max_results: int = 5000,
    expand: str | Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every page (``issues``, ``nextPageToken``, ``isLast``) of ``POST /rest/api/3/search/jql``.

    Asking for ids only (the default) gets the biggest pages (Jira allows 5,000 then); fetch the full issues
    afterwards with :func:`bulk_fetch`. Never uses the removed ``/rest/api/3/search``.
    """
    paginator = NextPageTokenPaginator()
    while paginator.has_next_page:
        page = client.search_page(
            jql,
            fields=fields,
            max_results=max_results,
            next_page_token=paginator.next_request().get("nextPageToken"),
            expand=expand,
        )
        paginator.update_state(page)
        yield page


def iter_search_issues(
    client: JiraClient,
    jql: str,
    *,
    fields: Sequence[str] = ("id",),
    max_results: int = 5000,
    expand: str | Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every issue the search finds, page after page (see :func:`iter_search_pages`)."""
    for page in iter_search_pages(client, jql, fields=fields, max_results=max_results, expand=expand):
        yield from page.get("issues") or []


@dataclass(frozen=True)
class BulkFetchResult:
    """What a bulk fetch brought back.

    ``issues``: in the order of the requested ids (duplicates asked once). ``missing``: requested ids/keys
    Jira did not return, or reported as not existing: deleted (or moved out of sight) between the search
    and the fetch, which a sync can simply skip. ``errors``: other ``issueErrors`` entries
    (``{"id", "errorMessage"}``) still there after one retry: issues that exist but could not be served
    (Jira's "retriable error or payload constraint"), which a sync must not skip.
    """

    issues: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def bulk_fetch_issues(
    client: JiraClient,
    ids: Iterable[str | int],
    *,
    fields: Sequence[str] = ("*all",),
    expand: Sequence[str] | None = None,
) -> BulkFetchResult:
    """Full issues for ``ids`` via ``POST /rest/api/3/issue/bulkfetch``, 100 per call, calls in parallel.

    Chunks run on the client's thread pool (``workers``) and the results are put back in input order. Pass
    issue ids rather than keys where you can: an id never changes, a key does when an issue moves, and a
    moved issue asked for by its old key is matched to no requested key (it is still returned, at the end of
    its chunk, and the old key is reported missing).
    """
    wanted = list(dict.fromkeys(str(i) for i in ids))
    chunks = [wanted[start : start + BULK_FETCH_LIMIT] for start in range(0, len(wanted), BULK_FETCH_LIMIT)]
    fetched = client.run_parallel(lambda chunk: _fetch_chunk(client, chunk, fields, expand), chunks)
    result = BulkFetchResult()
    for part in fetched:
        result.issues.extend(part.issues)
        result.missing.extend(part.missing)
        result.errors.extend(part.errors)
    _log_missing(result, len(wanted))
    return result


def bulk_fetch(
    client: JiraClient,
    ids: Iterable[str | int],
    fields: Sequence[str] = ("*all",),
    expand: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Full issues for ``ids`` in input order; ids that vanished are left out, unserved ones raise.

    An issue deleted between the search and the fetch is simply absent. An issue Jira lists in
    ``issueErrors`` even after a retry raises :class:`JiraUnavailableError`, so the sync stops before its
    watermark passes an issue it never stored (the next run fetches it again).
    """
    return _checked(client, bulk_fetch_issues(client, ids, fields=fields, expand=expand))


def bulk_fetch_stream(
    client: JiraClient,
    ids: Sequence[str],
    batch_size: int,
    fields: Sequence[str] = ("*all",),
    *,
    ahead: int | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Full issues for ``ids`` in batches of up to ``batch_size`` ids, in input order, fetched ahead (one
    :class:`FetchPipeline` segment; see there). Closing the generator early cancels the calls not yet
    started."""
    pipeline = FetchPipeline(client, batch_size, fields, ahead=ahead)
    try:
        yield from pipeline.batches(pipeline.add(ids))
    finally:
        pipeline.close()


class FetchPipeline:
    """Bulk fetch calls kept in flight across batches and across the id lists (segments) added to it.

    Every 100-id call is handed to the client's pool as soon as there is room for it, while the caller
    still works on earlier batches: requests stay in flight across batch boundaries, and across segments
    when the next one is added before this one is drained (the window walk adds its next id page while the
    last calls of a page are still out), so the pool never waits in rounds for its slowest call and Jira
    and the warehouse work at the same time. At most ``ahead`` calls (default: twice the client's
    ``workers``, and at least two batches' worth) are pending or held, so memory stays bounded by a constant
    number of batches however many ids there are. A batch with issues Jira could not serve raises
    :class:`JiraUnavailableError` when it is reached, after the batches before it were handed out.
    """

    def __init__(
        self,
        client: JiraClient,
        batch_size: int,
        fields: Sequence[str] = ("*all",),
        *,
        ahead: int | None = None,
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.fields = list(fields)
        self.ahead = ahead or max(2 * client.workers, 2 * -(-batch_size // BULK_FETCH_LIMIT))
        self._queued: deque[tuple[int, list[str], bool]] = deque()  # segment, ids of one call, ends a batch
        self._pending: deque[tuple[int, bool, Future[BulkFetchResult]]] = deque()
        self._segments = 0
        self._closed = False
        self._lock = threading.Lock()  # segments may be added from another thread (the walk's look-ahead)

    def add(self, ids: Iterable[str | int]) -> int:
        """Queue the calls for ``ids`` (duplicates asked once) and start what there is room for; the
        segment number to pass to :meth:`batches`. Safe to call from any thread; ignored once closed."""
        calls = list(_calls_by_batch(list(dict.fromkeys(str(i) for i in ids)), self.batch_size))
        with self._lock:
            segment = self._segments
            self._segments += 1
            if not self._closed:
                self._queued.extend((segment, chunk, ends_batch) for chunk, ends_batch in calls)
                self._top_up()
        return segment

    def batches(self, segment: int) -> Iterator[list[dict[str, Any]]]:
        """The batches of ``segment`` in order; the segments added before it must have been read first."""
        batch, asked = BulkFetchResult(), 0
        while (call := self._next_call(segment)) is not None:
            ends_batch, future = call
            part = future.result()
            batch.issues.extend(part.issues)
            batch.missing.extend(part.missing)
            batch.errors.extend(part.errors)
            asked += len(part.issues) + len(part.missing) + len(part.errors)
            if ends_batch:
                _log_missing(batch, asked)
                yield _checked(self.client, batch)
                batch, asked = BulkFetchResult(), 0

    def close(self) -> None:
        """Cancel the calls not yet started and forget the ones not yet sent; later segments are ignored."""
        with self._lock:
            self._closed = True
            self._queued.clear()
            for _, _, future in self._pending:
                future.cancel()
            self._pending.clear()

    def _next_call(self, segment: int) -> tuple[bool, Future[BulkFetchResult]] | None:
        """The oldest call in flight if it belongs to ``segment`` (the next is sent in its place), else None."""
        with self._lock:
            if not self._pending or self._pending[0][0] > segment:
                return None
            owner, ends_batch, future = self._pending.popleft()
            if owner < segment:
                raise RuntimeError(f"segment {owner} of the fetch pipeline was not read before {segment}")
            self._top_up()
            return ends_batch, future

    def _top_up(self) -> None:
        while len(self._pending) < self.ahead and self._queued:
            segment, chunk, ends_batch = self._queued.popleft()
            future = self.client.submit(_fetch_chunk, self.client, chunk, self.fields, None)
            self._pending.append((segment, ends_batch, future))


def _calls_by_batch(ids: list[str], batch_size: int) -> Iterator[tuple[list[str], bool]]:
    """The bulk fetch calls for ``ids``: each batch cut into calls of up to 100, each call with whether it
    is the last of its batch."""
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        for at in range(0, len(batch), BULK_FETCH_LIMIT):
            yield batch[at : at + BULK_FETCH_LIMIT], at + BULK_FETCH_LIMIT >= len(batch)


def _log_missing(result: BulkFetchResult, asked: int) -> None:
    if result.missing:
        _log.info(
            "bulk fetch: %d of %d issues no longer exist or are not visible", len(result.missing), asked
        )


def _checked(client: JiraClient, result: BulkFetchResult) -> list[dict[str, Any]]:
    """The issues of a bulk fetch; ids that vanished are left out, unserved ones raise."""
    if result.errors:
        # Jira's own words, which a misbehaving proxy could fill with the credential: redacted like any message.
        sample = client.redact(
            "; ".join(f"{e.get('id')}: {e.get('errorMessage')}" for e in result.errors[:5])
        )
        raise JiraUnavailableError(
            f"Jira could not return {len(result.errors)} issue(s) in a bulk fetch ({sample}); the run stops "
            "so that they are not skipped. Try again later."
        )
    return result.issues


def _fetch_chunk(
    client: JiraClient, chunk: list[str], fields: Sequence[str], expand: Sequence[str] | None
) -> BulkFetchResult:
    """One bulk fetch call, plus one retry for ids Jira could not serve, put back in request order."""
    issues, errors = _bulk_fetch_call(client, chunk, fields, expand)
    unserved = [error for error in errors if not _is_not_found(error)]
    if unserved:
        more, errors = _bulk_fetch_call(client, [str(error.get("id")) for error in unserved], fields, expand)
        issues.extend(more)
        unserved = [error for error in errors if not _is_not_found(error)]
    by_handle: dict[str, dict[str, Any]] = {}
    for issue in issues:
        by_handle.setdefault(str(issue.get("id")), issue)
        if issue.get("key"):
            by_handle.setdefault(str(issue["key"]), issue)
    failed = {str(error.get("id")) for error in unserved}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()
    missing: list[str] = []
    for handle in chunk:
        issue = by_handle.get(handle)
        if issue is None:
            if handle not in failed:
                missing.append(handle)
        elif str(issue.get("id")) not in placed:  # an id and a key of one issue bring it once
            placed.add(str(issue.get("id")))
            ordered.append(issue)
    for issue in issues:  # returned but matching no requested handle (asked for by a key that has moved)
        if str(issue.get("id")) not in placed:
            placed.add(str(issue.get("id")))
            ordered.append(issue)
    return BulkFetchResult(issues=ordered, missing=missing, errors=unserved)


def _is_not_found(error: Mapping[str, Any]) -> bool:
    """Whether an ``issueErrors`` entry means the issue is gone (or out of sight) rather than unserved.

    Jira words this "Issue does not exist or you do not have permission to see it."; the client forces
    English answers (``X-Force-Accept-Language``), which is what makes the wording usable here.
    """
    text = str(error.get("errorMessage") or "").lower()
    return "does not exist" in text or "permission" in text


def _bulk_fetch_call(
    client: JiraClient, ids: list[str], fields: Sequence[str], expand: Sequence[str] | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    field_list = [fields] if isinstance(fields, str) else list(fields)
    # fields by id, Jira's default (`fieldsByKeys` false): story-point fields are found by id in /field
    body: dict[str, Any] = {"issueIdsOrKeys": ids, "fields": field_list}
    if expand:
        body["expand"] = list(expand)
    answer = client.post(BULK_FETCH_PATH, body)
    if not isinstance(answer, dict) or not isinstance(answer.get("issues", []), list):
        raise JiraRequestError(f"Jira's bulk fetch answer is not an issue list ({type(answer).__name__})")
    return list(answer.get("issues") or []), list(answer.get("issueErrors") or [])


def story_points_field_ids(fields: Iterable[Mapping[str, Any]]) -> list[str]:
    """Ids of the story point custom fields in ``/rest/api/3/field`` output ("Story Points", "Story point
    estimate"), in that order of preference.

    Matched by name and by a numeric custom schema (``...:float`` or Jira Software's ``jsw-story-points``),
    so a text field someone named "Story Points" is not taken for one.
    """
    found: list[tuple[int, str]] = []
    for entry in fields:
        name = str(entry.get("name") or "").strip().lower()
        schema = entry.get("schema") or {}
        custom = str(schema.get("custom") or "")
        numeric = (
            custom.endswith(":float") or custom.endswith("jsw-story-points") or schema.get("type") == "number"
        )
        if entry.get("custom") and name in STORY_POINTS_NAMES and numeric and entry.get("id"):
            found.append((STORY_POINTS_NAMES.index(name), str(entry["id"])))
    return [field_id for _, field_id in sorted(found, key=lambda pair: pair[0])]


def iter_ids_by_id(client: JiraClient, jql: str, *, page_size: int = 5000) -> Iterator[int]:
    """Every issue id ``jql`` matches, ascending, each page a fresh ``(<jql>) AND id > <last> ORDER BY id``
    query: unlike token pagination, no edit made between pages can shift an id past the reader."""
    after = 0
    while True:
        page = client.search_page(
            f"({jql}) AND id > {after} ORDER BY id ASC", fields=["id"], max_results=page_size
        )
        ids = [int(issue["id"]) for issue in page.get("issues") or []]
        yield from ids
        if not ids or page.get("isLast", True):
            return
        after = ids[-1]


def approximate_count(client: JiraClient, jql: str) -> int | None:
    """How many issues ``jql`` matches, as Jira estimates it (the enhanced search has no ``total``): one
    ``POST search/approximate-count``; None when the answer holds no count."""
    count = client.post(APPROXIMATE_COUNT_PATH, {"jql": jql}).get("count")
    return count if isinstance(count, int) and not isinstance(count, bool) else None
