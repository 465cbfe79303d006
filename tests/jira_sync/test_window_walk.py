"""The window walk's rule, case by case: the cursor and the watermark come from what the listing saw.

Each test is one of the ways a sync used to lose issues (issue 6), replayed deterministically against the
emulator over real HTTP and a real Snowpark session; the property test (test_walk_properties.py) explores
the same ground at random.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from snowflake.snowpark import Session

from fakejira import FakeJira
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.entities import ISSUES_ONLY
from jira_sync.incremental import Batch, WindowWalk, floor_minute, updated_of
from jira_sync.jira import (
    FetchPipeline,
    JiraClient,
    JiraCredentials,
    JiraUnavailableError,
    bulk_fetch_stream,
    source_jql,
)
from jira_sync.model import parse_jira_timestamp
from jira_sync.sync import run_sync
from jira_sync.warehouse import State, Warehouse


def source(jira: FakeJira, name: str = "walk", **options: Any) -> SourceConfig:
    options.setdefault("projects", ("ENG", "OPS", "DATA", "SUP", "MKT"))
    options.setdefault("entities", ISSUES_ONLY)
    options.setdefault("deletion_sweep", timedelta(0))  # departures checked on every run
    return SourceConfig(name=name, site_url=jira.url, email=jira.email, **options)


def sync(warehouse: Warehouse, jira: FakeJira, name: str = "walk", **kwargs: Any) -> dict[str, Any]:
    summary = run_sync(warehouse, static_credentials(jira.token, jira.email), source=name, **kwargs)
    return summary["sources"][0]


def truth(jira: FakeJira, projects: tuple[str, ...] | None = None) -> dict[int, datetime]:
    return {
        int(i["id"]): parse_jira_timestamp(i["updated"])
        for i in jira.ground_truth()
        if not i["deleted"] and (projects is None or i["project"] in projects)
    }


def live(warehouse: Warehouse, name: str = "walk") -> dict[int, datetime]:
    return {r["ID"]: r["UPDATED"] for r in warehouse.read_issues(name) if not r["IS_DELETED"]}


def assert_invariant(warehouse: Warehouse, jira: FakeJira, name: str = "walk") -> None:
    """Every issue in scope whose latest update is before the watermark is stored at that version or newer."""
    state = warehouse.read_state(name)
    assert state is not None and state.watermark is not None
    stored = live(warehouse, name)
    for issue_id, updated in truth(jira).items():
        if updated < state.watermark:
            assert stored.get(issue_id) is not None and stored[issue_id] >= updated, (
                f"issue {issue_id} updated {updated} is before the watermark {state.watermark} but not stored"
            )


def setup(warehouse: Warehouse, jira: FakeJira, **options: Any) -> SourceConfig:
    config = source(jira, **options)
    warehouse.ensure_tables()
    warehouse.upsert_source(config)
    return config


@pytest.mark.parametrize("position", [0, 24], ids=["first-on-its-page", "last-on-its-page"])
def test_an_update_the_index_has_not_seen_does_not_move_the_cursor(
    snowpark_session: Session, position: int
) -> None:
    """Index 200 s behind an update made 130 s before the run (default search lag 60 s): the listing shows
    the issue at its old place, the fetch brings its new `updated`. Jumping the cursor there skipped every
    unread issue in between (25 of 102 stored, SUCCEEDED). Listed last on its page, it is what the cursor
    would move to; listed first, every confirmed issue after it must still move the cursor."""
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=102, seed=3) as jira:
        setup(warehouse, jira, page_size=25, batch_size=10)
        jira.set_faults(search_lag_ms=200_000)
        oldest = sorted(jira.ground_truth(), key=lambda i: i["updated"])[position]
        jira.update_issue(oldest["key"], {"summary": "edited; the index has not caught up"})
        ran = sync(warehouse, jira, jira_clock=lambda: datetime.now(UTC) + timedelta(seconds=130))
        assert ran["status"] == "SUCCEEDED", ran["error"]
        assert live(warehouse) == truth(jira)
        assert_invariant(warehouse, jira)
        state = warehouse.read_state("walk")
        assert state is not None and state.watermark is not None
        edited_at = parse_jira_timestamp(jira.get_issue(oldest["key"])["fields"]["updated"])
        assert state.watermark <= edited_at, "the watermark passed an update the listing never saw"


def test_an_update_during_the_first_page_does_not_move_the_cursor(snowpark_session: Session) -> None:
    """No search lag, one update while page 1 is read (the demo's own settings): nothing may be skipped."""
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=102, seed=4) as jira:
        setup(warehouse, jira, page_size=20, batch_size=7, search_lag=timedelta(0))
        ordered = sorted((i for i in jira.ground_truth() if not i["deleted"]), key=lambda i: i["updated"])
        edits = iter(ordered[1:6])

        def edit_once(page: dict[str, Any]) -> None:
            if "DESC" not in page["jql"]:
                victim = next(edits, None)
                if victim is not None:
                    jira.update_issue(victim["key"], {"summary": "edited while the listing was read"})

        jira.on_search_page(edit_once)
        ran = sync(warehouse, jira)
        jira.clear_search_hooks()
        assert ran["status"] == "SUCCEEDED", ran["error"]
        assert_invariant(warehouse, jira)  # the edits came after the window's probe: the next run has them
        assert sync(warehouse, jira)["status"] == "SUCCEEDED"
        assert live(warehouse) == truth(jira)


def test_many_issues_in_one_minute_with_tiny_pages(snowpark_session: Session) -> None:
    """More issues share a minute than fit a page: the walk goes by id there, and still ends."""
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=30, seed=5) as jira:
        setup(warehouse, jira, page_size=2, batch_size=1, search_lag=timedelta(0))
        for issue in [i for i in jira.ground_truth() if not i["deleted"]][:12]:
            jira.update_issue(issue["key"], {"summary": "bulk edit"})
        ran = sync(warehouse, jira)
        assert ran["status"] == "SUCCEEDED", ran["error"]
        assert live(warehouse) == truth(jira)
        again = sync(warehouse, jira)
        assert again["status"] == "SUCCEEDED" and again["issues_inserted"] == again["issues_updated"] == 0


def test_widening_a_source_loads_the_new_projects_older_issues_without_rereading(
    snowpark_session: Session,
) -> None:
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=150, seed=6) as jira:
        setup(warehouse, jira, projects=("ENG",))
        assert sync(warehouse, jira)["status"] == "SUCCEEDED"
        eng = truth(jira, ("ENG",))
        assert live(warehouse) == eng

        warehouse.upsert_source(source(jira, projects=("ENG", "OPS")))
        widened = sync(warehouse, jira)
        assert widened["status"] == "SUCCEEDED", widened["error"]
        assert live(warehouse) == truth(jira, ("ENG", "OPS"))
        ops = truth(jira, ("OPS",))
        assert widened["issues_fetched"] <= len(ops) + 1, "what the source already had was read again"
        state = warehouse.read_state("walk")
        assert state is not None and state.scope_jql == 'project in ("ENG", "OPS")' and not state.backfill_jql

        warehouse.upsert_source(source(jira, projects=("OPS",)))
        narrowed = sync(warehouse, jira)
        assert narrowed["status"] == "SUCCEEDED", narrowed["error"]
        assert narrowed["issues_deleted"] == len(eng)
        assert live(warehouse) == ops


def test_a_backfill_cut_short_resumes_where_it_stopped(snowpark_session: Session) -> None:
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=120, seed=7) as jira:
        setup(warehouse, jira, projects=("ENG",))
        sync(warehouse, jira)
        warehouse.upsert_source(source(jira, projects=("ENG", "DATA"), batch_size=5))
        jira.set_faults(script=["ok"] * 6 + ["500"] * 8)  # Jira fails inside the backfill
        failed = sync(warehouse, jira, client_options={"max_attempts": 2, "backoff_seconds": 0.01})
        jira.set_faults(script=[])
        assert failed["status"] == "FAILED"
        state = warehouse.read_state("walk")
        assert state is not None and state.scope_jql == 'project in ("ENG")'
        assert state.backfill_jql == 'project in ("ENG", "DATA")'
        resumed = sync(warehouse, jira)
        assert resumed["status"] == "SUCCEEDED", resumed["error"]
        assert live(warehouse) == truth(jira, ("ENG", "DATA"))


def test_a_watermark_ahead_of_jiras_clock_is_repaired_and_said(snowpark_session: Session) -> None:
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=40, seed=8) as jira:
        config = setup(warehouse, jira)
        future = datetime.now(UTC) + timedelta(days=3650)
        warehouse.write_state(State(source=config.name, watermark=future, scope_jql='project in ("ENG")'))
        ran = sync(warehouse, jira)
        assert ran["status"] == "SUCCEEDED", ran["error"]
        assert any("ahead of Jira's clock" in note for note in ran["notes"])
        assert live(warehouse) == truth(jira)
        state = warehouse.read_state(config.name)
        assert state is not None and state.watermark is not None
        assert state.watermark <= datetime.now(UTC)


def test_a_nothing_new_run_asks_jira_one_search(snowpark_session: Session) -> None:
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=40, seed=9) as jira:
        setup(warehouse, jira)
        sync(warehouse, jira)
        jira.reset_request_log()
        quiet = sync(warehouse, jira)
        assert quiet["status"] == "SUCCEEDED" and quiet["issues_fetched"] == 0
        searches = [r for r in jira.request_log()["requests"] if r["path"].endswith("/search/jql")]
        bodies = [r.get("jql") or "" for r in searches]
        # One probe; the deletion sweep (its own listing) is the rest.
        assert sum("ORDER BY updated DESC" in b for b in bodies) == 1
        assert not any("ORDER BY updated ASC" in b for b in bodies)


def test_one_invalid_sources_row_fails_that_source_alone(snowpark_session: Session) -> None:
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=20, seed=10) as jira:
        setup(warehouse, jira)
        warehouse.upsert_source(source(jira, name="broken"))
        snowpark_session.sql("UPDATE JIRA_SOURCES SET PAGE_SIZE = 0 WHERE NAME = 'broken'").collect()
        summary = run_sync(warehouse, static_credentials(jira.token, jira.email))
        by_name = {s["source"]: s for s in summary["sources"]}
        assert by_name["walk"]["status"] == "SUCCEEDED"
        assert by_name["broken"]["status"] == "FAILED" and "\n" not in by_name["broken"]["error"]
        runs = {r.source: r for r in warehouse.recent_runs()}
        assert runs["broken"].status == "FAILED" and runs["broken"].error_message
        assert not any(r.status == "RUNNING" for r in warehouse.recent_runs())


def test_a_clock_years_ahead_of_jiras_cannot_move_the_watermark(snowpark_session: Session) -> None:
    """This machine's clock only stamps the run log: the window and the watermark follow Jira's `Date`."""
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=40, seed=11) as jira:
        setup(warehouse, jira, search_lag=timedelta(0))
        skewed = lambda: datetime.now(UTC) + timedelta(days=3652)  # noqa: E731
        jira.update_issue(jira.ground_truth()[0]["key"], {"summary": "updated just now"})
        ran = sync(warehouse, jira, now=skewed)
        assert ran["status"] == "SUCCEEDED", ran["error"]
        state = warehouse.read_state("walk")
        assert state is not None and state.watermark is not None
        assert state.watermark <= datetime.now(UTC)
        assert live(warehouse) == truth(jira)
        assert sync(warehouse, jira, now=skewed)["status"] == "SUCCEEDED"  # and later runs still work


def test_the_by_id_stretch_reads_its_window_alone_in_pages_of_the_sources_size_and_checkpoints(
    snowpark_session: Session,
) -> None:
    """A crowded minute sends the walk by id. That stretch lists only the window (in the account's time
    zone, here 14 hours from UTC), in pages of the source's PAGE_SIZE, and ends with a checkpoint just after
    the newest update the probe saw, so a run stopped there keeps it."""
    zone = "Pacific/Kiritimati"
    with FakeJira(issues=20, seed=8, time_zone=zone) as jira:
        if jira.now().second >= 50:  # the edits below must share one minute
            time.sleep(61 - jira.now().second)
        crowd = [i["key"] for i in jira.ground_truth() if not i["deleted"]][:6]
        for key in crowd:
            jira.update_issue(key, {"summary": "crowded minute"})
        edited = {parse_jira_timestamp(jira.get_issue(key)["fields"]["updated"]) for key in crowd}
        lower = floor_minute(min(edited)) - timedelta(minutes=5)
        client = JiraClient(jira.url, JiraCredentials(jira.token, jira.email))
        asked: list[tuple[str, int | None]] = []
        search_page = client.search_page

        def recorded(jql: str, **options: Any) -> dict[str, Any]:
            asked.append((jql, options.get("max_results")))
            return search_page(jql, **options)

        client.search_page = recorded  # type: ignore[method-assign]
        walk = WindowWalk(
            client,
            source_jql("", ("ENG", "OPS", "DATA", "SUP", "MKT")),
            lower=lower,
            upper=floor_minute(max(edited)) + timedelta(minutes=2),
            time_zone=ZoneInfo(zone),
            batch_size=10,
            page_size=2,
        )
        batches = list(walk.batches())
        client.close()

    fetched = [issue for batch in batches for issue in batch.issues]
    assert sorted(issue["key"] for issue in fetched) == sorted(crowd)  # nothing from before the window
    assert "ORDER BY updated DESC" in asked[0][0] and asked[0][1] == 1  # the probe: one issue, the newest
    by_id = [size for jql, size in asked if "ORDER BY id" in jql]
    assert by_id and set(by_id) == {2}
    assert "ORDER BY id" in asked[-1][0]  # the stretch reached the window's end: nothing left to list
    assert batches[-1].issues == [] and batches[-1].watermark == max(edited) + timedelta(milliseconds=1)
    assert walk.final_watermark == max(edited) + timedelta(milliseconds=1)


def test_floor_minute_drops_seconds_and_microseconds() -> None:
    """JQL reads dates to the minute: a bound with seconds left in would claim what the query did not ask."""
    assert floor_minute(datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC)) == datetime(
        2026, 3, 29, 1, 59, tzinfo=UTC
    )


def test_a_window_with_nothing_in_it_earns_no_watermark_whatever_came_before(
    snowpark_session: Session,
) -> None:
    """The probe looks inside the window only: older issues say nothing about how far the index has got.
    And a walk not yet spent has earned nothing either."""
    with FakeJira(issues=10, seed=9) as jira:
        client = JiraClient(jira.url, JiraCredentials(jira.token, jira.email))
        after_everything = floor_minute(jira.now()) + timedelta(minutes=2)
        empty = WindowWalk(
            client,
            source_jql("", ("ENG", "OPS", "DATA", "SUP", "MKT")),
            lower=after_everything,
            upper=after_everything + timedelta(minutes=5),
            time_zone=ZoneInfo("UTC"),
            batch_size=10,
        )
        assert list(empty.batches()) == [] and empty.final_watermark is None
        whole = WindowWalk(
            client,
            source_jql("", ("ENG", "OPS", "DATA", "SUP", "MKT")),
            lower=None,
            upper=after_everything,
            time_zone=ZoneInfo("UTC"),
            batch_size=3,
        )
        walking = whole.batches()
        next(walking)
        assert whole.final_watermark is None  # not complete: nothing earned yet
        list(walking)
        assert whole.final_watermark is not None
        client.close()


def test_an_issue_without_updated_is_named() -> None:
    with pytest.raises(ValueError, match="issue 10042 without an updated timestamp"):
        updated_of({"id": "10042", "fields": {"updated": None}})


PROJECTS = ("ENG", "OPS", "DATA", "SUP", "MKT")


class RecordingClient(JiraClient):
    """The real client, noting every search the walk asks: its JQL and page size."""

    def __init__(self, jira: FakeJira) -> None:
        super().__init__(jira.url, JiraCredentials(jira.token, jira.email))
        self.asked: list[tuple[str, int]] = []

    def search_page(self, jql: str, **options: Any) -> dict[str, Any]:
        self.asked.append((jql, options.get("max_results", 5000)))
        return super().search_page(jql, **options)


def walk_all(jira: FakeJira, **options: Any) -> tuple[WindowWalk, list[Any], RecordingClient]:
    client = RecordingClient(jira)
    options.setdefault("upper", floor_minute(jira.now()) + timedelta(minutes=2))
    options.setdefault("time_zone", ZoneInfo("UTC"))
    walk = WindowWalk(client, source_jql("", PROJECTS), **options)
    batches = list(walk.batches())
    client.close()
    return walk, batches, client


def newest_update(jira: FakeJira) -> datetime:
    return max(parse_jira_timestamp(i["updated"]) for i in jira.ground_truth() if not i["deleted"])


def test_each_batch_carries_the_watermark_its_listing_prefix_confirmed() -> None:
    """Issues spread over many minutes: keyset pages of the source's size, no by-id stretch, and every batch
    checkpoints at the newest update listed so far, so a run stopped after any batch keeps its progress."""
    with FakeJira(issues=24, seed=12) as jira:
        walk, batches, client = walk_all(jira, lower=None, batch_size=3, page_size=4)
        in_order = sorted(i for i in truth(jira).values())
    seen: list[datetime] = []
    for batch in batches:
        seen += [updated_of(issue) for issue in batch.issues]
        assert batch.watermark == max(seen)
    assert sorted(seen) == in_order and seen == in_order  # listing order: oldest first
    listing = [size for jql, size in client.asked[1:]]
    assert listing and set(listing) == {4}
    assert not [jql for jql, _ in client.asked if "ORDER BY id" in jql]
    assert walk.final_watermark == in_order[-1] + timedelta(milliseconds=1)


def test_a_window_with_nothing_newer_than_the_watermark_costs_one_search() -> None:
    with FakeJira(issues=10, seed=13) as jira:
        newest = newest_update(jira)
        walk, batches, client = walk_all(
            jira, lower=None, batch_size=5, stored_watermark=newest + timedelta(milliseconds=1)
        )
    assert batches == [] and len(client.asked) == 1
    assert walk.final_watermark == newest + timedelta(milliseconds=1)  # complete: what the window earns


def test_an_issue_updated_at_the_watermarks_very_instant_is_read() -> None:
    """The watermark promises what was updated *before* it; an update at its very millisecond is read."""
    with FakeJira(issues=10, seed=14) as jira:
        newest = newest_update(jira)
        walk, batches, _ = walk_all(jira, lower=None, batch_size=5, stored_watermark=newest)
    fetched = {updated_of(issue) for batch in batches for issue in batch.issues}
    assert newest in fetched
    assert walk.final_watermark == newest + timedelta(milliseconds=1)


def test_a_by_id_stretch_ends_just_after_the_crowded_minute() -> None:
    """A bulk import puts many issues in one minute (M+1), with one before (M) and two after (M+4): the by-id
    stretch covers only the minute the keyset pages could not get past, checkpoints at its end, and the
    keyset pages take over again for what follows."""
    with FakeJira(issues=12, seed=15) as jira:
        if jira.now().second >= 50:  # each group of edits must share one minute
            time.sleep(61 - jira.now().second)
        keys = [i["key"] for i in jira.ground_truth() if not i["deleted"]]
        jira.update_issue(keys[0], {"summary": "before"})
        jira.set_faults(clock_offset_ms=60_000)
        for key in keys[1:7]:
            jira.update_issue(key, {"summary": "bulk import"})
        jira.set_faults(clock_offset_ms=240_000)
        for key in keys[7:9]:
            jira.update_issue(key, {"summary": "after"})
        minute = floor_minute(parse_jira_timestamp(jira.get_issue(keys[1])["fields"]["updated"]))
        _, batches, client = walk_all(jira, lower=minute - timedelta(minutes=1), batch_size=10, page_size=2)
    fetched = sorted(issue["key"] for batch in batches for issue in batch.issues)
    assert fetched == sorted(keys[:9])
    by_id = [jql for jql, _ in client.asked if "ORDER BY id" in jql]
    end = (minute + timedelta(minutes=1)).strftime('updated < "%Y/%m/%d %H:%M"')
    assert by_id and all(end in jql for jql in by_id), by_id
    assert Batch([], minute + timedelta(minutes=1)) in batches  # the stretch's checkpoint
    after_stretch = client.asked[client.asked.index((by_id[-1], 2)) + 1 :]
    assert after_stretch and all("ORDER BY updated ASC" in jql for jql, _ in after_stretch)


class FetchWatchingClient(JiraClient):
    """The real client, signalling each bulk fetch as it is sent (by the ids it asks for)."""

    def __init__(self, jira: FakeJira, workers: int = 8) -> None:
        super().__init__(jira.url, JiraCredentials(jira.token, jira.email), workers=workers)
        self.sent: dict[tuple[str, ...], threading.Event] = {}
        self.fields_asked: list[list[str]] = []
        self._sent_lock = threading.Lock()

    def expect(self, ids: list[str]) -> threading.Event:
        with self._sent_lock:
            return self.sent.setdefault(tuple(ids), threading.Event())

    def calls_sent(self) -> int:
        with self._sent_lock:
            return sum(event.is_set() for event in self.sent.values())

    def post(self, path: str, json_body: Any) -> Any:
        if path.endswith("/issue/bulkfetch"):
            self.fields_asked.append(list(json_body["fields"]))
            self.expect(list(json_body["issueIdsOrKeys"])).set()
        return super().post(path, json_body)


def test_the_next_batches_are_fetched_while_the_caller_writes_this_one() -> None:
    """Jira and the warehouse work at the same time: while the caller holds batch n (writing it), the calls
    of the batches after it are already on their way, up to the last batch; the fields asked are the walk's."""
    with FakeJira(issues=9, seed=16) as jira:
        client = FetchWatchingClient(jira)
        ids = sorted(str(i) for i in truth(jira))
        chunks = [ids[n : n + 3] for n in range(0, len(ids), 3)]
        batches = bulk_fetch_stream(client, ids, 3, ["updated", "summary"])
        for n, chunk in enumerate(chunks):
            assert [issue["id"] for issue in next(batches)] == chunk
            for later in chunks[n + 1 :]:
                assert client.expect(later).wait(timeout=30), f"batch {n + 1} was not fetched ahead"
        assert next(batches, None) is None
        client.close()
    assert client.fields_asked and all(f == ["updated", "summary"] for f in client.fields_asked)


def test_fetching_ahead_is_bounded_and_keeps_order_across_uneven_batches() -> None:
    """However many ids, at most `ahead` calls are sent beyond what the caller has taken (memory stays bounded
    by a constant number of batches); a batch size that is no multiple of 100 still gives each batch its
    own ids, in the order asked, with calls of at most 100 ids."""
    with FakeJira(issues=460, seed=17) as jira:
        client = FetchWatchingClient(jira, workers=2)
        ids = sorted((str(i) for i in truth(jira)), key=int, reverse=True)
        batches = bulk_fetch_stream(client, ids, 130, ["updated"], ahead=3)
        first = next(batches)
        time.sleep(0.3)  # room for any call that would run ahead unbounded
        assert client.calls_sent() <= 2 + 3  # the batch taken (2 calls) and at most `ahead` more
        got = [first, *batches]
        client.close()
    assert [[issue["id"] for issue in batch] for batch in got] == [ids[n : n + 130] for n in range(0, 460, 130)]
    assert all(len(call) <= 100 for call in client.sent)
    assert sum(len(call) for call in client.sent) == 460


def test_a_batch_jira_cannot_serve_stops_the_stream_where_it_is() -> None:
    """Issues Jira lists in issueErrors (even after the one retry) raise when their batch is reached: the
    batches before it were handed out, none after it is."""
    with FakeJira(issues=30, seed=18) as jira:
        ids = sorted((str(i) for i in truth(jira)), key=int)
        unserved = ids[12]
        jira.set_faults(bulkfetch_unserved_ids=[unserved])
        client = JiraClient(jira.url, JiraCredentials(jira.token, jira.email), workers=4)
        handed: list[list[str]] = []
        with pytest.raises(JiraUnavailableError, match="could not return 1 issue"):
            for batch in bulk_fetch_stream(client, ids, 5, ["updated"]):
                handed.append([issue["id"] for issue in batch])
        client.close()
    assert handed == [ids[0:5], ids[5:10]]


class PagesWatchingClient(JiraClient):
    """The real client, noting each id page's ids and each bulk fetch (ids, fields), with a condition to wait
    for one."""

    def __init__(self, jira: FakeJira) -> None:
        super().__init__(jira.url, JiraCredentials(jira.token, jira.email))
        self.pages: list[list[str]] = []
        self.fetches: list[tuple[list[str], list[str]]] = []
        self.changed = threading.Condition()

    def search_page(self, jql: str, **options: Any) -> dict[str, Any]:
        page = super().search_page(jql, **options)
        if "ORDER BY updated ASC" in jql:
            with self.changed:
                self.pages.append([str(issue["id"]) for issue in page.get("issues") or []])
                self.changed.notify_all()
        return page

    def post(self, path: str, json_body: Any) -> Any:
        answer = super().post(path, json_body)
        if path.endswith("/issue/bulkfetch"):
            with self.changed:
                self.fetches.append((list(json_body["issueIdsOrKeys"]), list(json_body["fields"])))
                self.changed.notify_all()
        return answer

    def wait_for(self, condition: Any) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout=30)


def test_the_next_id_page_and_its_fetches_go_out_while_this_page_is_still_read() -> None:
    """No rounds at page boundaries either: while the caller still holds the first batch of the first id
    page, the second page has been listed (its cursor from the first page's last issue, fetched alone for
    `updated`) and its issues are on their way; every issue still comes once, in listing order."""
    with FakeJira(issues=30, seed=19) as jira:
        for minute, issue in enumerate(jira.ground_truth()):  # one issue a minute: keyset pages of 10
            jira.set_faults(clock_offset_ms=minute * 60_000)
            jira.update_issue(issue["key"], {"summary": f"minute {minute}"})
        client = PagesWatchingClient(jira)
        walk = WindowWalk(
            client,
            source_jql("", PROJECTS),
            lower=None,
            upper=floor_minute(jira.now()) + timedelta(minutes=2),
            time_zone=ZoneInfo("UTC"),
            batch_size=5,
            page_size=10,
        )
        batches = walk.batches()
        first = next(batches)
        assert client.wait_for(lambda: len(client.pages) >= 2), "the second id page was not asked ahead"
        second_page = set(client.pages[1]) - set(client.pages[0])
        assert second_page
        assert client.wait_for(
            lambda: any(second_page & set(ids) and fields == ["*all"] for ids, fields in client.fetches)
        ), "the second page's issues were not fetched ahead"
        probes = [ids for ids, fields in client.fetches if fields == ["updated"]]
        assert probes and probes[0] == [client.pages[0][-1]]
        rest = list(batches)
        client.close()
        in_order = sorted(truth(jira).values())
    seen = [updated_of(issue) for batch in [first, *rest] for issue in batch.issues]
    assert seen == in_order  # each issue once, oldest first
    assert walk.final_watermark == in_order[-1] + timedelta(milliseconds=1)


def test_a_pipeline_sends_the_next_segment_while_this_one_is_read_and_keeps_segments_in_order() -> None:
    """Segments (the walk's id pages) share one flow of calls: the second's calls go out while the first is
    still read, each segment hands out only its own batches, a segment read before an earlier one is refused,
    and after close() nothing more is sent."""
    with FakeJira(issues=12, seed=20) as jira:
        client = FetchWatchingClient(jira, workers=4)
        ids = sorted((str(i) for i in truth(jira)), key=int)
        pipeline = FetchPipeline(client, 3, ["updated"])
        first, second = pipeline.add(ids[:6]), pipeline.add(ids[6:])
        with pytest.raises(RuntimeError, match="not read before"):
            next(pipeline.batches(second))
        pipeline.close()
        pipeline = FetchPipeline(client, 3, ["updated"])
        first, second = pipeline.add(ids[:6]), pipeline.add(ids[6:])
        reading = pipeline.batches(first)
        assert [issue["id"] for issue in next(reading)] == ids[:3]
        assert client.expect(ids[9:12]).wait(timeout=30), "the next segment's calls were not sent ahead"
        assert [[issue["id"] for issue in batch] for batch in reading] == [ids[3:6]]
        assert [[issue["id"] for issue in batch] for batch in pipeline.batches(second)] == [ids[6:9], ids[9:12]]
        pipeline.close()
        sent = client.calls_sent()
        pipeline.add(ids[:3])
        assert list(pipeline.batches(2)) == [] and client.calls_sent() == sent
        client.close()
