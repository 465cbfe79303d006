"""Rendered issues kept as the bytes the server sends, so serving an issue a second time costs a lookup.

Rendering a full issue replays its generated life (description, custom fields, comments...) and encodes about
16 kB of JSON: close to a millisecond of one core, which made the emulator, not the client, the limit of every
bulk-fetch benchmark. The cache keeps each rendering per issue and request shape (field selection, expand,
properties) beside :meth:`~fakejira.store.Site.render_dependencies`, everything the rendering read; a lookup
whose dependencies differ renders again, so answers are what a fresh rendering gives after any edit (an
update, comment, worklog, link, sprint move, move, delete, a version or a user's time zone changed).

Entries are evicted least recently used past a byte budget (:data:`DEFAULT_BUDGET_MIB`; 0 turns the cache off:
every answer is rendered, as before the cache existed). :meth:`RenderCache.warm` renders ahead of the first
request, on several processes, for benchmarks that must measure the client rather than the emulator.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fakejira.render import SEARCH_CHANGELOG_LIMIT, FieldSelection, issue_bean
from fakejira.store import IssueRecord, Site
from fakejira.web import json_bytes

DEFAULT_BUDGET_MIB = 1024
"""Bytes of rendered JSON kept at most (about 60,000 issues with every field; a 50,000-issue site fits)."""
ENTRY_OVERHEAD = 400
"""Bytes an entry costs beyond its JSON (key, dependency tuple, ordering), counted against the budget."""
BULK_FETCH_SHAPE = (FieldSelection(everything=True), frozenset[str]())
"""(fields, expand) of the bulk fetch the connector makes: every field, nothing expanded."""


@dataclass(frozen=True, slots=True)
class Shape:
    """What, besides the issue, decides its rendering. Arguments that change nothing for this request are
    left out (the changelog's length without `changelog`, names without `names`/`schema`), so a search page
    and a bulk fetch of the same fields share entries."""

    selection: FieldSelection
    expand: frozenset[str]
    properties: tuple[str, ...]
    changelog_limit: int
    with_names: bool

    @classmethod
    def of(
        cls,
        selection: FieldSelection,
        expand: Iterable[str] = (),
        properties: Iterable[str] = (),
        changelog_limit: int = SEARCH_CHANGELOG_LIMIT,
        with_names: bool = True,
    ) -> Shape:
        """The shape of a request: its arguments as :func:`~fakejira.render.issue_bean` takes them."""
        wanted = frozenset(expand)
        return cls(
            selection,
            wanted,
            tuple(properties),
            changelog_limit if "changelog" in wanted else 0,
            with_names and bool(wanted & {"names", "schema"}),
        )

    @property
    def trivial(self) -> bool:
        """Ids and keys only, nothing expanded: cheaper to render than to look up."""
        return self.selection.ids_only and not self.expand


class RenderCache:
    """Issue renderings of one server (its base URL is in the bytes), safe to use from many threads."""

    def __init__(self, site: Site, budget_mib: float = DEFAULT_BUDGET_MIB) -> None:
        self.site = site
        self.budget = int(budget_mib * 2**20)
        self._base_url = ""
        self._entries: OrderedDict[tuple[int, Shape], tuple[tuple[Any, ...], bytes]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        """A new base URL changes every `self` link: what was rendered for the old one goes."""
        with self._lock:
            if url != self._base_url:
                self._entries.clear()
                self._size = 0
            self._base_url = url

    def issue(self, rec: IssueRecord, issue: dict[str, Any], shape: Shape) -> bytes:
        """`issue` (a version of `rec`) as :func:`~fakejira.render.issue_bean` renders it for a request of
        this shape, in the bytes the server sends (see :func:`~fakejira.web.json_bytes`)."""
        if self.budget <= 0 or shape.trivial:
            return self._render(rec, issue, shape)
        key = (rec.iid, shape)
        # Read before rendering: a write landing meanwhile leaves an entry that fails the next check.
        deps = self.site.render_dependencies(rec, issue)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == deps:
            with self._lock:
                self.hits += 1
                if key in self._entries:
                    self._entries.move_to_end(key)
            return entry[1]
        data = self._render(rec, issue, shape)
        self._store(key, deps, data)
        return data

    def _render(self, rec: IssueRecord, issue: dict[str, Any], shape: Shape) -> bytes:
        bean = issue_bean(
            self.site,
            rec,
            issue,
            shape.selection,
            shape.expand,
            shape.properties,
            shape.changelog_limit or SEARCH_CHANGELOG_LIMIT,
            shape.with_names,
        )
        return json_bytes(bean, self._base_url)

    def _store(self, key: tuple[int, Shape], deps: tuple[Any, ...], data: bytes) -> None:
        with self._lock:
            self.misses += 1
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old[1]) + ENTRY_OVERHEAD
            self._entries[key] = (deps, data)
            self._size += len(data) + ENTRY_OVERHEAD
            while self._size > self.budget and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= len(dropped) + ENTRY_OVERHEAD

    def stats(self) -> dict[str, int]:
        """Entries, bytes held, budget, hits and misses (renderings) since the start."""
        with self._lock:
            return {
                "entries": len(self._entries),
                "bytes": self._size,
                "budget": self.budget,
                "hits": self.hits,
                "misses": self.misses,
            }

    def warm(
        self,
        selection: FieldSelection = BULK_FETCH_SHAPE[0],
        expand: Iterable[str] = BULK_FETCH_SHAPE[1],
        processes: int = 1,
    ) -> int:
        """Render the live issues by id ahead of the first request, until the budget is full;
        `processes` > 1 renders on that many forked processes, which must happen before any other thread
        runs (a fork copies only the calling thread). Returns the number of issues kept."""
        shape = Shape.of(selection, expand)
        records = [rec for rec in self.site.records_in_order() if not rec.deleted]
        if self.budget <= 0 or shape.trivial or not records:
            return 0
        deps = [self.site.render_dependencies(rec, rec.issue) for rec in records]
        if processes <= 1 or len(records) < 2 * WARM_CHUNK:
            rendered: Generator[bytes, None, None] = (self._render(rec, rec.issue, shape) for rec in records)
        else:
            rendered = _render_forked(self, records, shape, processes)
        kept = 0
        for rec, dep, data in zip(records, deps, rendered, strict=False):
            if self._size + len(data) + ENTRY_OVERHEAD > self.budget:
                break  # rendering on would only push out what was rendered first
            self._store((rec.iid, shape), dep, data)
            kept += 1
        rendered.close()  # stops the rendering processes if the budget ran out first
        return kept


WARM_CHUNK = 250
"""Issues a warming process renders per task: big enough that pickling the answers back is noise."""
_WARMING: tuple[RenderCache, Sequence[IssueRecord], Shape] | None = None
"""What the forked warming processes render from (inherited through the fork, never pickled)."""


def _render_chunk(bounds: tuple[int, int]) -> list[bytes]:
    assert _WARMING is not None
    cache, records, shape = _WARMING
    return [cache._render(rec, rec.issue, shape) for rec in records[bounds[0] : bounds[1]]]


def _render_forked(
    cache: RenderCache, records: Sequence[IssueRecord], shape: Shape, processes: int
) -> Generator[bytes, None, None]:
    """Each record's rendering in order, made by `processes` forked children a chunk at a time."""
    global _WARMING
    _WARMING = (cache, records, shape)
    try:
        context = multiprocessing.get_context("fork")
        bounds = [(i, i + WARM_CHUNK) for i in range(0, len(records), WARM_CHUNK)]
        with context.Pool(min(processes, len(bounds))) as pool:
            for chunk in pool.imap(_render_chunk, bounds):
                yield from chunk
    finally:
        _WARMING = None
