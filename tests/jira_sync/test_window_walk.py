"""The window walk's rule, case by case: the cursor and the watermark come from what the listing saw.

Each test is one of the ways a sync used to lose issues (issue 6), replayed deterministically against the
emulator over real HTTP and a real Snowpark session; the property test (test_walk_properties.py) explores
the same ground at random.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from snowflake.snowpark import Session

from fakejira import FakeJira
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.model import parse_jira_timestamp
from jira_sync.sync import run_sync
from jira_sync.warehouse import State, Warehouse


def source(jira: FakeJira, name: str = "walk", **options: Any) -> SourceConfig:
    options.setdefault("projects", ("ENG", "OPS", "DATA", "SUP", "MKT"))
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


def test_an_update_the_index_has_not_seen_does_not_move_the_cursor(snowpark_session: Session) -> None:
    """Index 200 s behind an update made 130 s before the run (default search lag 60 s): the listing shows
    the issue at its old place, the fetch brings its new `updated`. Jumping the cursor there skipped every
    unread issue in between (25 of 102 stored, SUCCEEDED)."""
    warehouse = Warehouse(snowpark_session)
    with FakeJira(issues=102, seed=3) as jira:
        setup(warehouse, jira, page_size=25, batch_size=10)
        jira.set_faults(search_lag_ms=200_000)
        oldest = min(jira.ground_truth(), key=lambda i: i["updated"])
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
