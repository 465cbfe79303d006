"""The render cache never changes an answer: after every kind of edit, what a server with the cache sends is
byte for byte what a server rendering afresh sends.

Two servers share one site: `cached` (the cache on, warmed by the same requests before the edit, so a stale
entry would be served if an edit failed to invalidate it) and `fresh` (the cache off: every answer rendered
as before the cache existed). Every live issue is asked for in each request shape a peer uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from fakejira import FakeJira
from fakejira import catalog as c
from fakejira.render import full_issue
from fakejira.store import Site

SEED, ISSUES = 25, 30
EXPANDED = ["changelog", "renderedFields", "names", "transitions"]
BULK_SHAPES: list[dict[str, Any]] = [
    {"fields": ["*all"]},
    {"fields": ["*all"], "expand": EXPANDED},
    {"fields": ["*navigable"], "expand": ["renderedFields,transitions"]},
    {"fields": ["summary", "status", "subtasks", "parent", "issuelinks", c.CF_EPIC_LINK, c.CF_SPRINT]},
]
SEARCH_SHAPES: list[dict[str, str]] = [
    {"fields": "*all"},
    {"fields": "*all", "expand": "changelog,transitions,renderedFields,names"},
]


class Pair:
    """The same request to both servers; answers compared with each server's base URL taken out."""

    def __init__(self, cached: FakeJira, fresh: FakeJira) -> None:
        self.cached, self.fresh = cached, fresh
        self.sessions = {}
        for jira in (cached, fresh):
            session = requests.Session()
            session.auth = jira.auth
            self.sessions[jira.url] = session

    def both(self, method: str, path: str, **kwargs: Any) -> tuple[bytes, bytes]:
        answers = []
        for jira in (self.cached, self.fresh):
            response = self.sessions[jira.url].request(method, jira.url + path, timeout=30, **kwargs)
            assert response.status_code == 200, response.text[:300]
            answers.append(response.content.replace(jira.url.encode(), b"URL"))
        return answers[0], answers[1]

    def live_ids(self) -> list[str]:
        return [row["id"] for row in self.fresh.ground_truth() if not row["deleted"]]

    def assert_same(self) -> int:
        """Every live issue in every shape, by bulk fetch, search and GET issue; returns answers compared."""
        ids = self.live_ids()
        compared = 0
        for shape in BULK_SHAPES:
            for start in range(0, len(ids), 100):
                body = {**shape, "issueIdsOrKeys": ids[start : start + 100]}
                cached, fresh = self.both("POST", "/rest/api/3/issue/bulkfetch", json=body)
                assert cached == fresh, f"bulk fetch {shape} differs"
                compared += 1
        for params in SEARCH_SHAPES:
            query = {"jql": "created >= 2000-01-01 ORDER BY key ASC", "maxResults": 100, **params}
            cached, fresh = self.both("GET", "/rest/api/3/search/jql", params=query)
            assert cached.split(b'"nextPageToken"')[0] == fresh.split(b'"nextPageToken"')[0], (
                f"search {params}"
            )
            compared += 1
        for issue_id in ids[::5]:
            for params in ({}, {"expand": "changelog,renderedFields,names,transitions"}):
                cached, fresh = self.both("GET", f"/rest/api/3/issue/{issue_id}", params=params)
                assert cached == fresh, f"GET issue {issue_id} {params} differs"
                compared += 1
        return compared


@contextlib.contextmanager
def serving_pair(**options: Any) -> Iterator[Pair]:
    """A generated site behind two servers: `cached` with `options`, `fresh` without a cache."""
    cached = FakeJira(issues=ISSUES, seed=SEED, **options).start()
    fresh = FakeJira(site=cached.site, render_cache_mib=0).start()
    try:
        yield Pair(cached, fresh)
    finally:
        fresh.stop()
        cached.stop()


@pytest.fixture
def pair() -> Iterator[Pair]:
    with serving_pair() as both:
        yield both


def _first(site: Site, wanted: Callable[[dict[str, Any]], bool]) -> str:
    """Key of the first live issue whose light fields satisfy `wanted`."""
    for row in site.ground_truth():
        rec = site.record(row["id"])
        if rec is not None and not rec.deleted and wanted(rec.issue["fields"]):
            return rec.issue["key"]
    raise AssertionError("the generated site has no such issue")


def _with_children(site: Site) -> str:
    return next(
        row["key"] for row in site.ground_truth() if not row["deleted"] and site.children(int(row["id"]))
    )


def _with_links(site: Site) -> str:
    return next(
        row["key"] for row in site.ground_truth() if not row["deleted"] and site.issue_links(row["id"])
    )


def _first_comment(site: Site, key: str) -> str:
    return site.comments(key)[0]["id"]


def _commented(site: Site) -> str:
    return next(row["key"] for row in site.ground_truth() if not row["deleted"] and site.comments(row["id"]))


def _epic(site: Site) -> str:
    """An epic some live issue names in its Epic Link."""
    child = _first(site, lambda f: bool(f.get(c.CF_EPIC_LINK)))
    return site.record(child).issue["fields"][c.CF_EPIC_LINK]["key"]  # type: ignore[union-attr]


def _fix_version(site: Site) -> str:
    """A version some live issue has as a fix version."""
    for row in site.ground_truth():
        rendered = full_issue(site, row["id"])
        if rendered and rendered["fields"]["fixVersions"]:
            return rendered["fields"]["fixVersions"][0]["id"]
    raise AssertionError("no issue has a fix version")


EDITS: dict[str, Callable[[FakeJira], Any]] = {
    "update summary and status": lambda j: j.update_issue(
        _first(j.site, lambda f: bool(f.get("parent"))), {"summary": "Renamed", "status": "Done"}
    ),
    "update a parent (its sub-tasks show it)": lambda j: j.update_issue(
        _with_children(j.site), {"summary": "A parent renamed", "priority": "Highest"}
    ),
    "reparent": lambda j: j.update_issue(
        _first(j.site, lambda f: bool(f.get("parent"))), {"parent": _with_children(j.site)}
    ),
    "create a sub-task": lambda j: j.create_issue(
        _with_children(j.site).split("-")[0],
        {"summary": "New sub-task", "issuetype": "Sub-task", "parent": _with_children(j.site)},
    ),
    "add comment": lambda j: j.add_comment(_commented(j.site), "A new comment"),
    "edit comment": lambda j: j.edit_comment(
        _commented(j.site), _first_comment(j.site, _commented(j.site)), "Edited"
    ),
    "delete comment": lambda j: j.delete_comment(
        _commented(j.site), _first_comment(j.site, _commented(j.site))
    ),
    "add worklog": lambda j: j.add_worklog(_with_links(j.site), 3600, "work"),
    "delete worklog": lambda j: j.delete_worklog(int(j.add_worklog(_with_links(j.site), 600)["id"])),
    "add link": lambda j: j.add_issue_link(_with_links(j.site), _with_children(j.site), "Relates"),
    "delete link": lambda j: j.delete_issue_link(j.site.issue_links(_with_links(j.site))[0]["id"]),
    "sprint move": lambda j: j.move_to_sprint(_first(j.site, lambda f: True), 131),
    "move to another project (new key)": lambda j: j.move_issue(_epic(j.site), "MKT"),
    "delete an issue others show": lambda j: j.delete_issue(_with_links(j.site)),
    "delete an epic": lambda j: j.delete_issue(_epic(j.site)),
    "version renamed": lambda j: j.update_version(_fix_version(j.site), name="Renamed version"),
    "version and component added": lambda j: (
        j.add_version("ENG", "v-new"),
        j.add_component("ENG", "New component"),
    ),
    "user time zone": lambda j: j.set_time_zone(j.site.users[0]["accountId"], "Asia/Tokyo"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_cached_answers_equal_fresh_renders_after_each_kind_of_edit(pair: Pair, edit: str) -> None:
    pair.assert_same()  # fills the cache
    hits_before = pair.cached.app.renders.stats()["hits"]
    EDITS[edit](pair.cached)
    assert pair.assert_same() > 10
    assert pair.cached.app.renders.stats()["hits"] > hits_before, (
        "the cache served nothing: the test proves nothing"
    )


def test_lagging_search_renders_the_old_version_with_current_children(pair: Pair) -> None:
    """A search whose index lags shows an issue's old fields with its comments as they are now, as Jira's
    index does: the cache keys on both versions."""
    pair.cached.set_faults(search_lag_ms=60_000)
    pair.fresh.set_faults(search_lag_ms=60_000)
    pair.assert_same()
    key = _commented(pair.cached.site)
    pair.cached.update_issue(key, {"summary": "Not in the index yet"})
    pair.cached.add_comment(key, "Already in the issue")
    pair.assert_same()
    page = requests.get(
        pair.cached.url + "/rest/api/3/search/jql",
        params={"jql": f"key = {key}", "fields": "summary,comment"},
        auth=pair.cached.auth,
        timeout=30,
    ).json()
    fields = page["issues"][0]["fields"]
    assert fields["summary"] != "Not in the index yet"
    assert (
        fields["comment"]["comments"][-1]["body"]["content"][0]["content"][0]["text"]
        == "Already in the issue"
    )


def test_a_small_budget_keeps_answers_right() -> None:
    with serving_pair(render_cache_mib=0.05) as pair:
        pair.assert_same()
        pair.assert_same()
        stats = pair.cached.app.renders.stats()
        assert 0 < stats["bytes"] <= stats["budget"]
        assert stats["entries"] < ISSUES


def test_prerender_serves_the_first_fetch_from_the_cache() -> None:
    with serving_pair(prerender=True) as pair:
        live = pair.live_ids()
        before = pair.cached.app.renders.stats()
        assert before["entries"] == before["misses"] == len(live)
        answer, expected = pair.both(
            "POST", "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": live, "fields": ["*all"]}
        )
        assert answer == expected
        after = pair.cached.app.renders.stats()
        assert after["misses"] == before["misses"]
        assert after["hits"] == before["hits"] + len(live)


def test_cache_figures_on_the_control_api(jira: FakeJira) -> None:
    stats = requests.get(jira.url + "/_fakejira/render-cache", timeout=30).json()
    assert set(stats) == {"entries", "bytes", "budget", "hits", "misses"}
