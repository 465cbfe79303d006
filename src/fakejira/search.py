"""Enhanced JQL search (`/rest/api/3/search/jql`): evaluation, nextPageToken paging, lag, page hooks.

Like Jira's live index, the query is evaluated again for every page, so writes between pages shift results
(an issue updated mid-search can move to a later page, or be seen twice or never). The evaluated, sorted list
is cached per (query, account, time zone, index view) so paging through a large site stays fast; any write
that reaches the index changes the view and so invalidates it.

A page needs only the matches up to its end (and the next page's, for the hooks), so a page is served from
the visible issues sorted once per (ORDER BY, account, time zone, view), scanned in that order until enough
match: a sorted list filtered is the filtered list sorted (the sort is stable). A query sorted by a date
ascending that bounds that date from below (the window walk's `updated >= "..." ORDER BY updated ASC`) starts
its scan where the bound falls, so a page of a 50,000-issue site costs its own issues, not the site's.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import json
import re
import sys
import threading
import time
import zoneinfo
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fakejira import catalog as c
from fakejira import jql
from fakejira.render import FieldSelection, issue_bean, names_of, schema_of
from fakejira.render_cache import RenderCache, Shape
from fakejira.store import Account, Site
from fakejira.web import ApiError, RawJson, raw_object

UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
BAD_TOKEN = "The provided next page token is invalid or does not belong to this query."
DEFAULT_PAGE = 50
MAX_PAGE_IDS = 5000
MAX_PAGE_FIELDS = 100
_CLOCK_DEPENDENT = re.compile(r"\(|[\"']?[-+]?\d+\s*[wdhmMy]\b", re.IGNORECASE)
"""Functions and relative dates: their results change with the clock, so they are never cached."""

ID_ONLY = FieldSelection(include=frozenset({"id"}))
PageHook = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class PageRequest:
    jql: str
    next_page_token: str | None = None
    max_results: int = DEFAULT_PAGE
    fields: FieldSelection = ID_ONLY
    expand: frozenset[str] = frozenset()
    properties: tuple[str, ...] = ()
    reconcile: tuple[int, ...] = ()


def _sortable(value: Any) -> Any:
    """A first sort key's value as `Query.sort` orders it: EMPTY after every value."""
    return (1, 0) if value is None else (0, value)


def _query_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _folded(objects: Iterable[dict[str, Any]]) -> frozenset[str]:
    """Every way JQL may name these Jira objects (key, id, name), casefolded as JQL compares them."""
    return frozenset(str(o[k]).casefold() for o in objects for k in ("key", "id", "name") if o.get(k))


def decode_token(token: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError:
        raise ApiError.bad_request(BAD_TOKEN) from None
    if not isinstance(payload, dict):
        raise ApiError.bad_request(BAD_TOKEN)
    return payload


@dataclass
class ListingChurn:
    """A page hook that makes a listing skip issues, as token pagination does on Jira when results change
    between two pages: after page `after_page` of a matching search, `count` issues served on that page
    leave the results (deleted, or moved to project `move_to`, which the JQL must exclude), once. The pages
    to come are read at offsets that now pass over as many issues never served: `skipped` lists them,
    `removed` the issues that left. `jql`: the exact JQL of the listing, a predicate on it, or None for any
    search with a second page. With search lag, the index learns of the change late and nothing is skipped.
    """

    site: Site
    jql: str | Callable[[str], bool] | None = None
    after_page: int = 1
    count: int = 1
    move_to: str | None = None
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.after_page < 1 or self.count < 1:
            raise ValueError("after_page and count must be at least 1")

    def matches(self, jql_text: str) -> bool:
        if self.jql is None:
            return True
        return self.jql(jql_text) if callable(self.jql) else self.jql == jql_text

    def __call__(self, page: dict[str, Any]) -> None:
        if self.removed or page["page"] != self.after_page or not self.matches(page["jql"]):
            return
        # Issues with live sub-tasks would take those along (and shift the count): leave them be.
        leaving = [i for i in page["issue_ids"] if not self.site.children(int(i))][: self.count]
        for issue_id in leaving:
            if self.move_to:
                self.site.move_issue(issue_id, self.move_to)
            else:
                self.site.delete_issue(issue_id)
        self.skipped.extend(page["following_ids"][: len(leaving)])
        self.removed.extend(leaving)

    def as_dict(self) -> dict[str, Any]:
        return {
            "jql": self.jql if isinstance(self.jql, str) else None,
            "afterPage": self.after_page,
            "count": self.count,
            "moveTo": self.move_to,
            "removed": list(self.removed),
            "skipped": list(self.skipped),
        }


class SearchService:
    def __init__(self, site: Site, renders: RenderCache | None = None) -> None:
        self.site = site
        self.renders = renders or RenderCache(site)
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, list[dict[str, Any]]] = OrderedDict()
        self._orders: OrderedDict[tuple, tuple[list[dict[str, Any]], list[Any]]] = OrderedDict()
        self._hooks: list[PageHook] = []

    def on_search_page(self, callback: PageHook) -> None:
        """Call `callback(page)` after each page that has a next page is computed, before it is sent: any
        request the client makes next (the next page, or a fresh query) sees what the callback changed.

        `page` = {"jql", "page" (1-based number of the page served), "issue_ids", "next_page_token",
        "following_ids" (the next page as it stands now)}.
        """
        with self._lock:
            self._hooks.append(callback)

    def skip_ids(
        self,
        jql: str | Callable[[str], bool] | None = None,
        *,
        after_page: int = 1,
        count: int = 1,
        move_to: str | None = None,
    ) -> ListingChurn:
        """Make the next matching listing skip `count` issues (see :class:`ListingChurn`); returns the hook,
        whose `removed` and `skipped` say what happened once it has fired."""
        churn = ListingChurn(self.site, jql, after_page=after_page, count=count, move_to=move_to)
        self.on_search_page(churn)
        return churn

    def churns(self) -> list[ListingChurn]:
        """The :meth:`skip_ids` hooks in place, oldest first."""
        with self._lock:
            return [hook for hook in self._hooks if isinstance(hook, ListingChurn)]

    def clear_hooks(self) -> None:
        with self._lock:
            self._hooks.clear()

    def context(self, account: Account) -> jql.EvalContext:
        return jql.EvalContext(
            tz=zoneinfo.ZoneInfo(account.time_zone),
            now=datetime.fromtimestamp(self.site.now_ms() / 1000, UTC),
            current_account_id=account.account_id,
            users=self.site.users_by_id,
        )

    def vocabulary(self, account: Account) -> jql.Vocabulary:
        """The site's values as `account` sees them: projects it may browse, the site's issue types and
        statuses, and keys (old ones too) of live issues it may browse. Read live, not from the lagging
        index, as Jira validates against its database."""
        site = self.site

        def issue_id(key: str) -> str | None:
            rec = site.record(key)
            if rec is None or rec.deleted or not account.can_see(rec.issue["fields"]["project"]["key"]):
                return None
            return rec.issue["id"]

        return jql.Vocabulary(
            projects=_folded(p for p in site.projects if account.can_see(p["key"])),
            issue_types=_folded(c.ISSUE_TYPES.values()),
            statuses=_folded(c.STATUSES.values()),
            issue_id=issue_id,
        )

    def parse(self, account: Account, text: str) -> jql.Query:
        """`text` parsed and checked against the site as `account` sees it; Jira's 400 when it fails."""
        try:
            query = jql.parse(text)
        except jql.JqlError as e:
            raise ApiError.bad_request(*e.messages) from None
        if query.is_unbounded:
            raise ApiError.bad_request(UNBOUNDED)
        vocabulary = self.vocabulary(account)
        messages = jql.validate_values(query, vocabulary)
        if messages:
            raise ApiError.bad_request(*messages)
        return jql.resolve_keys(query, vocabulary)

    def matching(self, account: Account, text: str, reconcile: tuple[int, ...] = ()) -> list[dict[str, Any]]:
        """Issues the index holds for `text`, sorted as the query says (cached per index view)."""
        query = self.parse(account, text)
        site = self.site
        at = site.index_time() if site.search_lag > 0 else None
        view = site.view_version(at if at is not None else time.monotonic())
        key = (text, account.account_id, account.time_zone, view)
        cacheable = not reconcile and not _CLOCK_DEPENDENT.search(text.replace("currentUser()", ""))
        if cacheable:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
        ctx = self.context(account)
        issues = site.visible_issues(account, at)
        if reconcile:  # read-after-write for the listed ids: their newest versions replace lagging ones
            wanted = {str(i) for i in reconcile}
            issues = [i for i in issues if i["id"] not in wanted]
            issues += [i for i in site.visible_issues(account, None) if i["id"] in wanted]
        result = query.sort(query.filter(issues, ctx), ctx)
        if cacheable:
            with self._lock:
                self._cache[key] = result
                while len(self._cache) > 16:
                    self._cache.popitem(last=False)
        return result

    def first_matches(self, account: Account, text: str, need: int) -> list[dict[str, Any]]:
        """The first `need` issues `matching` would give (fewer when fewer match), found by scanning the
        site's issues in the query's order instead of evaluating every one."""
        query = self.parse(account, text)
        site = self.site
        at = site.index_time() if site.search_lag > 0 else None
        view = site.view_version(at if at is not None else time.monotonic())
        key = (text, account.account_id, account.time_zone, view)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit[:need]
        ctx = self.context(account)
        ordered, values = self._ordered(query, account, at, view, ctx)
        start = 0
        bound = query.sorted_start(ctx)
        if bound is not None:
            value_of, least = bound
            if not values:
                values[:] = [_sortable(value_of(issue)) for issue in ordered]
            start = bisect.bisect_left(values, (0, least))
        keep = query.predicate(ctx)
        found: list[dict[str, Any]] = []
        for issue in itertools.islice(ordered, start, None):
            if keep(issue):
                found.append(issue)
                if len(found) >= need:
                    break
        return found

    def _ordered(
        self, query: jql.Query, account: Account, at: float | None, view: int, ctx: jql.EvalContext
    ) -> tuple[list[dict[str, Any]], list[Any]]:
        """The issues `account` sees in the index view, sorted by the query's ORDER BY, and a list for the
        first sort key's values (filled when first needed); cached per order and view."""
        key = (query.order_by, account.account_id, account.time_zone, view)
        with self._lock:
            hit = self._orders.get(key)
            if hit is not None:
                self._orders.move_to_end(key)
                return hit
        entry: tuple[list[dict[str, Any]], list[Any]] = (
            query.sort(self.site.visible_issues(account, at), ctx),
            [],
        )
        with self._lock:
            self._orders[key] = entry
            while len(self._orders) > 4:
                self._orders.popitem(last=False)
        return entry

    def count(self, account: Account, text: str) -> int:
        return len(self.matching(account, text))

    def _run_hooks(self, page: dict[str, Any]) -> None:
        """Run the hooks once a page with more to come is computed, before it is sent: whatever they change
        happens before the client can ask for anything else, as between two pages of a live search."""
        with self._lock:
            hooks = list(self._hooks)
        for hook in hooks:
            try:
                hook(page)
            except Exception as e:  # a test's hook failing must not kill the server thread
                print(f"fakejira: on_search_page hook failed: {e!r}", file=sys.stderr)

    def page(self, account: Account, req: PageRequest) -> dict[str, Any] | RawJson:
        """One page of SearchAndReconcileResults, its issues from the render cache."""
        qhash = _query_hash(req.jql)
        offset, snapshot, number = 0, int(time.time() * 1000), 1
        if req.next_page_token:
            payload = decode_token(req.next_page_token)
            if payload.get("q") != qhash or not isinstance(payload.get("o"), int) or payload["o"] < 0:
                raise ApiError.bad_request(BAD_TOKEN)
            offset, snapshot, number = payload["o"], payload.get("s", snapshot), payload.get("p", 1) + 1
        shape = Shape.of(req.fields, req.expand, req.properties, with_names=False)
        size = min(max(req.max_results, 1), MAX_PAGE_IDS if shape.trivial else MAX_PAGE_FIELDS)
        if req.reconcile:
            results = self.matching(account, req.jql, req.reconcile)
        else:  # this page, the next one (for the hooks) and one more issue: whether there is a next page
            results = self.first_matches(account, req.jql, offset + 2 * size + 1)
        chunk = results[offset : offset + size]
        pairs = zip(self.site.records_of(chunk), chunk, strict=True)
        if shape.trivial:  # ids alone: cheaper encoded with the page than looked up one by one
            beans = [
                issue_bean(self.site, rec, issue, req.fields, (), req.properties) for rec, issue in pairs
            ]
            body: dict[str, Any] = {"issues": beans}
            issues: list[bytes] = []
        else:
            issues = [self.renders.issue(rec, issue, shape) for rec, issue in pairs]
            body = {}
        wanted = req.fields.wanted()
        if "names" in req.expand:
            body["names"] = names_of(wanted)
        if "schema" in req.expand:
            body["schema"] = schema_of(wanted)
        end = offset + len(chunk)
        if end < len(results):
            token = encode_token({"q": qhash, "o": end, "s": snapshot, "p": number})
            body["nextPageToken"] = token
            self._run_hooks(
                {
                    "jql": req.jql,
                    "page": number,
                    "next_page_token": token,
                    "issue_ids": [i["id"] for i in chunk],
                    "following_ids": [i["id"] for i in results[end : end + len(chunk)]],
                }
            )
        body["isLast"] = end >= len(results)
        return body if shape.trivial else raw_object("issues", issues, body, self.renders.base_url)
