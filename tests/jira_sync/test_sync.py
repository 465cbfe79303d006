"""End to end: the Jira emulator over real HTTP, a real Snowpark session on the embedded warehouse.

Every test compares the tables with the emulator's ground truth, the only oracle that matters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from snowflake.snowpark import Session

from fakejira import FakeJira
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.entities import ISSUES_ONLY
from jira_sync.model import parse_jira_timestamp
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

Clock = Callable[[], datetime]


def ahead(minutes: int = 2) -> Clock:
    """A clock a little ahead of real time, so changes made just now fall inside the run's window."""
    return lambda: datetime.now(UTC) + timedelta(minutes=minutes)


def add_source(warehouse: Warehouse, jira: FakeJira, name: str = "test", **options: Any) -> SourceConfig:
    projects = options.pop("projects", None)
    if projects is None and "jql" not in options:
        projects = tuple(sorted({issue["project"] for issue in jira.ground_truth()}))
    options.setdefault("search_lag", timedelta(0))
    options.setdefault("entities", ISSUES_ONLY)
    options.setdefault("deletion_sweep", timedelta(0))  # these tests check departures on every run
    options.setdefault("overlap", timedelta(minutes=5))  # more than `ahead`: the clock runs ahead of Jira
    source = SourceConfig(
        name=name, site_url=jira.url, projects=tuple(projects or ()), email=jira.email, **options
    )
    warehouse.ensure_tables()
    warehouse.upsert_source(source)
    return source


def sync(warehouse: Warehouse, jira: FakeJira, now: Clock | None = None, **kwargs: Any) -> dict[str, Any]:
    summary = run_sync(
        warehouse,
        static_credentials(jira.token, jira.email),
        source=kwargs.pop("source", "test"),
        now=now or ahead(),
        **kwargs,
    )
    return summary["sources"][0]


def stored(session: Session, source: str = "test") -> dict[int, tuple[str, datetime, bool]]:
    rows = session.sql(
        "SELECT ID, KEY, UPDATED, IS_DELETED FROM JIRA_ISSUES WHERE SOURCE = ?", params=[source]
    ).collect()
    return {int(r["ID"]): (r["KEY"], r["UPDATED"], bool(r["IS_DELETED"])) for r in rows}


def truth(jira: FakeJira, before: datetime | None = None) -> dict[int, tuple[str, datetime]]:
    issues = {}
    for issue in jira.ground_truth():
        updated = parse_jira_timestamp(issue["updated"])
        if not issue["deleted"] and (before is None or updated < before):
            issues[int(issue["id"])] = (issue["key"], updated)
    return issues


def live(session: Session, source: str = "test") -> dict[int, tuple[str, datetime]]:
    return {
        i: (key, updated) for i, (key, updated, deleted) in stored(session, source).items() if not deleted
    }


def assert_no_duplicates(session: Session) -> None:
    row = session.sql(
        "SELECT COUNT(*) AS N, COUNT(DISTINCT SOURCE || ':' || ID) AS D FROM JIRA_ISSUES"
    ).collect()[0]
    assert row["N"] == row["D"]


@pytest.fixture
def warehouse(snowpark_session: Session) -> Warehouse:
    return Warehouse(snowpark_session)


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=240, seed=11, time_zone="Europe/Berlin") as emulator:
        yield emulator


def test_initial_load_equals_ground_truth_row_for_row(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira, batch_size=70)
    result = sync(warehouse, jira)
    assert result["status"] == "SUCCEEDED", result["error"]
    assert live(snowpark_session) == truth(jira)
    assert result["issues_inserted"] == len(truth(jira)) and result["issues_updated"] == 0
    assert result["account_time_zone"] == "Europe/Berlin"
    assert_no_duplicates(snowpark_session)
    state = warehouse.read_state("test")
    assert state.watermark == datetime.fromisoformat(result["watermark_after"])
    runs = snowpark_session.sql("SELECT STATUS, ISSUES_INSERTED, REQUESTS FROM JIRA_SYNC_RUNS").collect()
    assert [(r["STATUS"], r["ISSUES_INSERTED"]) for r in runs] == [("SUCCEEDED", len(truth(jira)))]
    assert runs[0]["REQUESTS"] > 0


def test_rerun_without_change_writes_nothing(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira)
    sync(warehouse, jira)
    again = sync(warehouse, jira)
    assert again["status"] == "SUCCEEDED"
    assert (again["issues_inserted"], again["issues_updated"], again["issues_deleted"]) == (0, 0, 0)
    assert live(snowpark_session) == truth(jira)


def test_incremental_picks_up_updates_creates_moves_and_deletions(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira)
    sync(warehouse, jira)
    before = truth(jira)
    issues = [i for i in jira.ground_truth() if not i["deleted"]]
    projects = sorted({i["project"] for i in issues})
    for issue in issues[:4]:
        jira.update_issue(issue["key"], {"summary": "changed"})
    created = jira.create_issue(projects[0], {"summary": "brand new"})
    mover = issues[10]
    moved = jira.move_issue(mover["key"], next(p for p in projects if p != mover["project"]))
    jira.delete_issue(issues[20]["key"])

    result = sync(warehouse, jira)
    assert result["status"] == "SUCCEEDED", result["error"]
    assert live(snowpark_session) == truth(jira)
    after = truth(jira)
    changed = sum(1 for i in before.keys() & after.keys() if before[i] != after[i])
    assert changed >= 5  # four edits and a move (which carries the mover's sub-tasks along)
    expected = (len(after.keys() - before.keys()), changed, len(before.keys() - after.keys()))
    counts = (result["issues_inserted"], result["issues_updated"], result["issues_deleted"])
    assert counts == expected == (1, changed, 1)
    assert stored(snowpark_session)[int(issues[20]["id"])][2] is True
    assert live(snowpark_session)[int(moved["id"])][0] == moved["key"] != mover["key"]
    row = snowpark_session.sql(
        "SELECT SUMMARY FROM JIRA_ISSUES WHERE ID = ?", params=[int(created["id"])]
    ).collect()
    assert row[0]["SUMMARY"] == "brand new"


def test_updates_interleaved_with_pagination_are_never_missed(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    """Issues updated between two pages leave the window and shift the rest; nothing may slip through."""
    add_source(warehouse, jira, page_size=40, batch_size=25)
    victims = iter(sorted(jira.ground_truth(), key=lambda i: i["updated"]))
    pages = {"n": 0}

    def mutate_between_pages(*_args: Any) -> None:
        pages["n"] += 1
        for _ in range(3):  # the oldest issues: already read, so the unread ones shift back
            jira.update_issue(next(victims)["key"], {"summary": f"edited after page {pages['n']}"})

    jira.on_search_page(mutate_between_pages)
    upper = datetime.now(UTC).replace(second=0, microsecond=0)
    result = sync(warehouse, jira, now=lambda: upper)
    jira.clear_search_hooks()
    assert result["status"] == "SUCCEEDED", result["error"]
    assert pages["n"] >= 3, "the window should have needed several pages"
    stored_now = live(snowpark_session)
    for issue_id, (key, updated) in truth(jira, before=upper).items():
        assert stored_now.get(issue_id) == (key, updated), f"{key} updated {updated} was missed"
    assert sync(warehouse, jira)["status"] == "SUCCEEDED"
    assert live(snowpark_session) == truth(jira)
    assert_no_duplicates(snowpark_session)


def test_run_killed_between_batches_resumes_without_gap_or_duplicate(
    snowpark_session: Session, jira: FakeJira
) -> None:
    class DiesAfterTwoBatches(Warehouse):
        commits = 0

        def commit_batch(self, rows: list[dict], **kwargs: Any) -> Any:
            type(self).commits += 1
            if type(self).commits == 3:
                raise KeyboardInterrupt("the warehouse went away mid-run")
            return super().commit_batch(rows, **kwargs)

    dying = DiesAfterTwoBatches(snowpark_session)
    add_source(dying, jira, batch_size=30, overlap=timedelta(0))
    with pytest.raises(KeyboardInterrupt):
        sync(dying, jira)
    partial = live(snowpark_session)
    assert len(partial) == 60
    state = dying.read_state("test")
    assert state.watermark == max(updated for _key, updated in partial.values())
    everything = truth(jira)
    assert all(everything[i] == v for i, v in partial.items())

    result = sync(Warehouse(snowpark_session), jira)
    assert result["status"] == "SUCCEEDED", result["error"]
    assert live(snowpark_session) == everything
    assert_no_duplicates(snowpark_session)
    statuses = sorted(
        r["STATUS"] for r in snowpark_session.sql("SELECT STATUS FROM JIRA_SYNC_RUNS").collect()
    )
    assert statuses == ["FAILED", "SUCCEEDED"]


def test_jira_failing_mid_run_keeps_what_committed_and_resumes(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira, page_size=60, batch_size=20)
    pages = []

    def jira_goes_down_after_the_second_page(page: dict[str, Any]) -> None:
        if "ORDER BY updated DESC" in page["jql"]:
            return  # the window's probe, not a page of the listing
        pages.append(page)
        if len(pages) == 2:
            jira.set_faults(error_rate=1.0)

    jira.on_search_page(jira_goes_down_after_the_second_page)
    result = sync(warehouse, jira, client_options={"max_attempts": 2, "max_retry_seconds": 2, "backoff_seconds": 0.01})
    jira.clear_search_hooks()
    jira.set_faults(error_rate=0.0)
    assert result["status"] == "FAILED"
    assert 0 < len(live(snowpark_session)) < len(truth(jira))
    assert sync(warehouse, jira)["status"] == "SUCCEEDED"
    assert live(snowpark_session) == truth(jira)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Los_Angeles", "Europe/Berlin"])
def test_account_time_zones_east_west_and_across_dst(snowpark_session: Session, zone: str) -> None:
    """Runs whose bounds straddle DST changes (Berlin 2025-03-30 and 2025-10-26, LA 2025-03-09 and 2025-11-02)
    in the account's own zone: each run has exactly the issues updated before its bound, no more, no less."""
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=400, seed=5, time_zone=zone) as jira:
        add_source(warehouse, jira, overlap=timedelta(0))
        bounds = [
            datetime(2025, 3, 9, 9, 30, tzinfo=UTC),
            datetime(2025, 3, 30, 0, 59, 30, tzinfo=UTC),
            datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
            datetime(2025, 10, 26, 1, 30, tzinfo=UTC),
            datetime(2025, 11, 2, 9, 30, tzinfo=UTC),
        ]
        for bound in bounds:
            result = sync(warehouse, jira, jira_clock=lambda bound=bound: bound)
            assert result["status"] == "SUCCEEDED", result["error"]
            upper = bound.replace(second=0) + timedelta(minutes=1)  # a window ends after Jira's current minute
            assert live(snowpark_session) == truth(jira, before=upper), f"run up to {upper} in {zone}"
        jira.set_time_zone(
            jira.account(jira.email).account_id, "Pacific/Auckland"
        )  # changed in Jira: no reset needed
        final = sync(warehouse, jira)
        assert final["account_time_zone"] == "Pacific/Auckland"
        assert live(snowpark_session) == truth(jira)
        assert_no_duplicates(snowpark_session)


def test_initial_load_spans_several_runs_within_a_time_budget(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    """A large first load stops cleanly at its budget (PARTIAL, progress committed) and the next scheduled
    runs go on from there until the window is complete."""
    add_source(warehouse, jira, batch_size=10, time_budget=timedelta(seconds=1), overlap=timedelta(0))
    ticks = itertools.count()
    statuses = []
    while not statuses or statuses[-1] == "PARTIAL":
        # Every reading of the budget's clock is a second later: the budget runs out at the first batch that
        # may stop, whatever the machine's speed.
        result = sync(warehouse, jira, monotonic=lambda: float(next(ticks)))
        statuses.append(result["status"])
        assert len(statuses) < 60, "no progress"
        assert result["issues_fetched"] >= 10 or result["status"] == "SUCCEEDED"
    assert statuses[0] == "PARTIAL" and statuses[-1] == "SUCCEEDED"
    assert live(snowpark_session) == truth(jira)
    assert_no_duplicates(snowpark_session)


def test_a_run_killed_without_a_trace_is_marked_failed_by_the_next(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira)
    warehouse.start_run("killed-run", "test", datetime.now(UTC) - timedelta(hours=1))
    assert sync(warehouse, jira)["status"] == "SUCCEEDED"
    (row,) = snowpark_session.sql(
        "SELECT STATUS, ERROR_MESSAGE FROM JIRA_SYNC_RUNS WHERE RUN_ID = 'killed-run'"
    ).collect()
    assert row["STATUS"] == "FAILED" and "killed" in row["ERROR_MESSAGE"]


def test_updates_in_the_watermarks_minute_are_not_missed_even_without_overlap(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    """JQL reads dates to the minute: the next run must re-read the watermark's whole minute, not skip it."""
    add_source(warehouse, jira, overlap=timedelta(0))
    keys = [i["key"] for i in jira.ground_truth() if not i["deleted"]]
    jira.update_issue(keys[-1], {"summary": "the newest update: the first run's watermark follows it"})
    first = sync(warehouse, jira)
    watermark = datetime.fromisoformat(first["watermark_after"])
    edited = keys[:3]
    for key in edited:
        jira.update_issue(key, {"summary": "edited in the watermark's minute"})
    edited_at = {
        i["key"]: parse_jira_timestamp(i["updated"]) for i in jira.ground_truth() if i["key"] in edited
    }
    assert all(watermark <= at < watermark + timedelta(minutes=2) for at in edited_at.values())
    second = sync(warehouse, jira)
    assert second["issues_updated"] == 3
    assert live(snowpark_session) == truth(jira)


def test_an_issue_moved_out_of_the_sources_projects_is_marked_deleted(
    warehouse: Warehouse, jira: FakeJira, snowpark_session: Session
) -> None:
    add_source(warehouse, jira, projects=("ENG",))
    sync(warehouse, jira)
    leaver = next(i for i in jira.ground_truth() if i["project"] == "ENG" and not i["deleted"])
    jira.move_issue(leaver["key"], "OPS")
    result = sync(warehouse, jira)
    assert result["issues_deleted"] >= 1
    assert stored(snowpark_session)[int(leaver["id"])][2] is True
    in_scope = {i: v for i, v in truth(jira).items() if v[0].startswith("ENG-")}
    assert live(snowpark_session) == in_scope
