"""The orchestration of one sync: read config and state, walk the window, merge and checkpoint, log the run.

Everything here is shared by the stored procedure and the local `jira-sync` command: they differ only in the
Snowpark session they pass in and in where the credential comes from.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_sync.ahead import prepared_ahead
from jira_sync.backfill import iter_backfill
from jira_sync.collector import paced_for_bulk_data
from jira_sync.config import ConfigError, SourceConfig
from jira_sync.credentials import CredentialsProvider
from jira_sync.deletions import (
    Departures,
    audit_deleted_ids,
    confirm_departed,
    find_departed_ids,
    vanished_ids,
)
from jira_sync.entities import selected
from jira_sync.entities.base import Context, Stamp, field_ids_of_type
from jira_sync.entity_sync import (
    CHILDREN_KEY,
    child_rows,
    newly_fed,
    owned_tables,
    sync_feeds,
    sync_references,
    window_fed,
)
from jira_sync.incremental import MINUTE, WindowWalk, floor_minute
from jira_sync.jira import JiraClient, JiraError, source_jql, story_points_field_ids
from jira_sync.model import EPIC_LINK_FIELD_TYPE, Table, flatten_issue
from jira_sync.observer import SyncObserver, window_total
from jira_sync.warehouse import ChildRows, DeletionChecks, Scope, SourcePlan, State, Warehouse

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CLOCK_TOLERANCE = timedelta(minutes=5)
"""How far a stored watermark may be ahead of Jira's clock before it counts as written with a wrong clock."""
AUDIT_OVERLAP = timedelta(minutes=5)
"""How far back each read of the audit log starts before the last one ended: a record written late is read."""
RUN_TIME_BUDGET = timedelta(minutes=50)
"""What one `CALL sync_jira()` may spend across all its sources: under the 55-minute USER_TASK_TIMEOUT_MS of
sql/task.sql, with room for the batch in flight when it runs out. Sources the budget did not reach run first
next time."""


class SyncError(RuntimeError):
    """At least one source failed; carries the per-source summary so callers can still report it."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed = [s for s in summary["sources"] if s["status"] == "FAILED"]
        detail = "; ".join(f"{s['source']}: {s['error']}" for s in failed)
        super().__init__(f"jira-sync: {len(failed)} source(s) failed: {detail}")
        self.summary = summary


def utc_now() -> datetime:
    return datetime.now(UTC)


def moved_on(start: datetime | None, watermark: datetime | None) -> bool:
    """Has the watermark passed the minute this run started from? A run resumes at the minute of the
    watermark (JQL's precision) and re-reads it, so stopping before that would leave the next run where this
    one began: with more issues in one minute than a budget can fetch, no run would ever finish."""
    return watermark is not None and (start is None or floor_minute(watermark) > floor_minute(start))


@dataclass
class RunCounts:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    batches: int = 0


@dataclass
class RunResult:
    source: str
    run_id: str
    started_at: datetime | None = None
    status: str = "RUNNING"
    counts: RunCounts = field(default_factory=RunCounts)
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    time_zone: str | None = None
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    most_in_flight: int = 0  # the adaptive limit's high point
    error: str | None = None
    duration_seconds: float = 0.0
    window_upper: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "source": self.source,
            "run_id": self.run_id,
            "started_at": iso(self.started_at),
            "status": self.status,
            "issues_fetched": self.counts.fetched,
            "issues_inserted": self.counts.inserted,
            "issues_updated": self.counts.updated,
            "issues_deleted": self.counts.deleted,
            "batches": self.counts.batches,
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "most_in_flight": self.most_in_flight,
            "watermark_before": iso(self.watermark_before),
            "watermark_after": iso(self.watermark_after),
            "window_upper": iso(self.window_upper),
            "account_time_zone": self.time_zone,
            "duration_seconds": round(self.duration_seconds, 3),
            "error": self.error,
            "notes": self.notes,
        }


@dataclass
class _Progress:
    """What one run has committed so far: the watermark and the scope it holds for."""

    watermark: datetime | None
    scope: Scope
    fingerprints: dict[str, str] = field(default_factory=dict)
    feed_cursors: dict[str, dict[str, Any]] = field(default_factory=dict)


def plan_scope(state: State | None, scope_jql: str, full_refresh: bool) -> tuple[Scope, str | None]:
    """The scope this run works in, and a note when the source's JQL or projects changed.

    The watermark holds for `state.scope.jql`. A different JQL now keeps that watermark for what the two
    scopes share and backfills, by id, the issues only the new one matches; what the new one drops is
    marked deleted by the sweep. A backfill under way for this very JQL goes on where it stopped.
    """
    stored = state.scope if state is not None else Scope()
    if full_refresh or state is None or stored.jql is None or stored.jql == scope_jql:
        return Scope(jql=scope_jql), None
    if stored.backfill_jql == scope_jql:
        return stored, None
    note = (
        f"the source's scope changed from [{stored.jql}] to [{scope_jql}]: loading the issues only the new "
        "scope matches; issues it no longer matches are marked deleted"
    )
    return Scope(jql=stored.jql, backfill_jql=scope_jql), note


def repair_future_watermark(
    watermark: datetime | None, jira_now: datetime
) -> tuple[datetime | None, str | None]:
    """A stored watermark ahead of Jira's clock (written by a run whose clock was ahead) cannot be trusted:
    the run re-reads everything (the MERGE keeps what is already current) and says so."""
    if watermark is None or watermark <= jira_now + CLOCK_TOLERANCE:
        return watermark, None
    return None, (
        f"the stored watermark {watermark.isoformat()} is ahead of Jira's clock ({jira_now.isoformat()}); "
        "it was written with a wrong clock, so this run re-reads every issue to repair it"
    )


def sync_source(
    warehouse: Warehouse,
    source: SourceConfig,
    credentials: CredentialsProvider,
    *,
    full_refresh: bool = False,
    now: Clock = utc_now,
    client_options: dict[str, Any] | None = None,
    jira_clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    plan: SourcePlan | None = None,
    run_deadline: float | None = None,
    observer: SyncObserver | None = None,
) -> RunResult:
    """Sync one source. Never raises for Jira or config problems: they end as a FAILED run, state untouched.

    `now` stamps the run log; `jira_clock` is Jira's time, which bounds the window: by default read from the
    `Date` header of Jira's answers, so a wrong clock on this side cannot move a window (tests that replay
    history pass a fixed one). `monotonic` measures the time budget (tests pass one that runs fast), which
    ends at the source's own budget or at `run_deadline` (a `monotonic()` value), whichever comes first.
    `plan` is what `run_sync` already read for the source (its state, killed runs); without it, it is read.
    `observer` hears the window start (with Jira's estimate of its size), each committed batch and the end.

    Warehouse statements: a run that finds nothing new reads its plan and writes its run-log row once, at the
    end (the live ids are read only when the deletion sweep is due); the RUNNING row and the state are
    written only by runs that change something.
    """
    started = monotonic()
    state = plan.state if plan is not None else warehouse.read_state(source.name)
    result = RunResult(source=source.name, run_id=uuid.uuid4().hex, started_at=now())
    result.watermark_before = state.watermark if state else None
    result.watermark_after = result.watermark_before
    if plan is None or plan.running_runs:
        warehouse.close_killed_runs(source.name)
    run_open = False

    def open_run() -> None:
        """The RUNNING row, written before the run's first change, so a run killed after it is on record."""
        nonlocal run_open
        if not run_open:
            warehouse.start_run(
                result.run_id, source.name, result.started_at, result.watermark_before, close_killed=False
            )
            run_open = True

    client: JiraClient | None = None
    try:
        client = JiraClient(
            source.site_url_normalized, credentials(source), workers=source.workers, **(client_options or {})
        )
        zone = client.time_zone()  # re-read every run: a changed account time zone needs no reset
        result.time_zone = zone.key
        jira_now = jira_clock() if jira_clock else client.server_now() or now()
        site_fields = client.fields()
        story_fields = story_points_field_ids(site_fields)
        epic_link_fields = field_ids_of_type(site_fields, EPIC_LINK_FIELD_TYPE)
        base_jql = source_jql(source.jql, source.projects)
        scope, note = plan_scope(state, base_jql, full_refresh)
        start, repaired = repair_future_watermark(
            None if full_refresh or state is None else state.watermark, jira_now
        )
        for line in (note, repaired):
            if line:
                log.warning("%s: %s", source.name, line)
                result.notes.append(line)
        # The window ends at the first whole minute after Jira's now minus the search lag: correctness rests on
        # the probe (incremental.py), so the bound only stops the walk from chasing edits made during it.
        upper = floor_minute(jira_now - source.search_lag) + MINUTE
        entities = selected(source.entities)
        context = Context(client, Stamp(source.name, result.run_id, now()), source.projects, base_jql, site_fields)
        stored_prints = {} if full_refresh or state is None else dict(state.fingerprints or {})
        stored_cursors = {} if full_refresh or state is None else dict(state.feed_cursors or {})
        added = newly_fed(stored_prints, entities)
        if added and start is not None:
            start = None  # the issues already stored have none of these rows yet: bring every issue again
            line = f"syncing {', '.join(added)} for the first time: re-reading every issue to load them"
            log.warning("%s: %s", source.name, line)
            result.notes.append(line)
        progress = _Progress(start, scope)
        progress.fingerprints = sync_references(
            warehouse, entities, context, stored_prints, result.notes.append, now()
        )
        progress.fingerprints[CHILDREN_KEY] = ",".join(window_fed(entities))
        deadline = started + source.time_budget.total_seconds()
        if run_deadline is not None:
            deadline = min(deadline, run_deadline)

        def prepare(issues: list[dict]) -> tuple[list[dict[str, Any]], list[ChildRows]]:
            """A batch's rows, their MERGE's documents written, and its child rows (Jira requests for the
            children): no session here, as this runs on the preparing thread while the batch before is
            written (`prepared_ahead`). The child rows' documents are written when they are merged: written
            ahead with every entity, they held 70 MiB more at 5,000 issues for no gain in time."""
            return warehouse.encode_issues(flatten(issues)), child_rows(entities, context, issues)

        def commit(rows: list[dict[str, Any]], children: list[ChildRows], watermark: datetime | None) -> None:
            open_run()
            merged = warehouse.commit_batch(
                rows,
                source=source.name,
                watermark=watermark,
                time_zone=zone.key,
                run_id=result.run_id,
                force=full_refresh,
                scope=progress.scope,
                children=children,
                fingerprints=progress.fingerprints,
            )
            result.counts.fetched += len(rows)
            result.counts.inserted += merged.inserted
            result.counts.updated += merged.updated
            result.counts.batches += 1
            progress.watermark = result.watermark_after = watermark
            if observer is not None:
                observer.batch_committed(source.name, len(rows))

        def flatten(issues: list[dict]) -> list[dict[str, Any]]:
            synced_at = now()
            return [
                flatten_issue(
                    issue,
                    source=source.name,
                    story_points_fields=story_fields,
                    epic_link_fields=epic_link_fields,
                    synced_at=synced_at,
                    run_id=result.run_id,
                    on_trim=result.notes.append,  # what was cut from an issue too large for Snowflake
                )
                for issue in issues
            ]

        walk = WindowWalk(
            client,
            base_jql,
            lower=start - source.overlap if start else None,
            upper=upper,
            time_zone=zone,
            batch_size=source.batch_size,
            page_size=source.page_size,
            stored_watermark=start,
        )
        if observer is not None:  # someone watches: one more request, for the size of the window
            observer.window_started(source.name, window_total(client, walk), client.stats)
        for batch, (rows, children) in prepared_ahead(walk.batches(), lambda b: prepare(b.issues)):
            watermark = progress.watermark
            if batch.watermark and (watermark is None or batch.watermark > watermark):
                watermark = batch.watermark
            if batch.issues or watermark != progress.watermark:
                commit(rows, children, watermark)
            if monotonic() > deadline and moved_on(start, progress.watermark):
                result.status = "PARTIAL"  # committed up to here; the next run resumes from this watermark
                return result
        final = walk.final_watermark
        if final is not None and (progress.watermark is None or final > progress.watermark):
            progress.watermark = final
        if progress.scope.backfill_jql:
            for chunk in iter_backfill(
                client,
                progress.scope,
                batch_size=source.batch_size,
                page_size=source.page_size,
                already_fetched=walk.seen_ids,
            ):
                progress.scope = chunk.scope
                commit(*prepare(chunk.issues), progress.watermark)
                if monotonic() > deadline and chunk.issues:
                    result.status = "PARTIAL"
                    return result
        context.known_issues = lambda ids: warehouse.live_issue_ids_among(source.name, ids)
        progress.feed_cursors = sync_feeds(warehouse, entities, context, stored_cursors, now())
        sweep_due = full_refresh or note is not None or state is None or state.scope != progress.scope
        owned = owned_tables(entities)
        departed, checks = find_departures(warehouse, client, source, base_jql, state, jira_now, sweep_due, owned)
        unchanged = state is not None and (
            state.watermark,
            state.account_time_zone,
            state.scope,
            state.fingerprints or {},
            state.feed_cursors or {},
            DeletionChecks(state.last_sweep_at, state.audit_checked_at),
        ) == (
            progress.watermark,
            zone.key,
            progress.scope,
            progress.fingerprints,
            progress.feed_cursors,
            checks,
        )
        if departed or result.counts.batches or full_refresh or not unchanged:
            open_run()
            result.counts.deleted = warehouse.complete_window(
                source=source.name,
                watermark=progress.watermark,
                time_zone=zone.key,
                run_id=result.run_id,
                deleted_ids=departed.ids,
                gone_ids=departed.gone,
                deleted_at=now(),
                scope=progress.scope,
                window_upper=upper,
                child_tables=owned,
                fingerprints=progress.fingerprints,
                feed_cursors=progress.feed_cursors,
                deletion_checks=checks,
            )
        result.watermark_after = progress.watermark
        result.window_upper = upper
        result.status = "SUCCEEDED"
    except (JiraError, ValueError) as exc:  # ConfigError is a ValueError: bad config, bad JQL building
        result.status, result.error = "FAILED", str(exc)
    except Exception as exc:  # a bug or a warehouse failure: still logged, never silent
        log.exception("sync of %s failed", source.name)
        result.status, result.error = "FAILED", f"{type(exc).__name__}: {exc}"
    finally:
        if result.status == "RUNNING":  # interrupted (KeyboardInterrupt, timeout): record it, then re-raise
            result.status, result.error = "FAILED", "interrupted before the run finished"
        if client is not None:
            stats = client.stats.as_dict()
            result.requests, result.retries = int(stats["requests"]), int(stats["retries"])
            result.rate_limited, result.most_in_flight = int(stats["rate_limited"]), int(stats["most_in_flight"])
            client.close()
        result.duration_seconds = monotonic() - started
        if observer is not None:
            observer.source_finished(source.name, result.status)
        warehouse.finish_run(result.run_id, now(), result.summary(), started_at=result.started_at)
    return result


def find_departures(
    warehouse: Warehouse,
    client: JiraClient,
    source: SourceConfig,
    base_jql: str,
    state: State | None,
    jira_now: datetime,
    sweep_due: bool,
    owned: Sequence[tuple[Table, tuple[str, ...]]],
) -> tuple[Departures, DeletionChecks]:
    """The issues that left the source since the last check, and the checks to keep in the state.

    The sweep (every id listed, compared with the stored live ones) runs on the source's cadence, and at
    once for a new source, a full refresh or a changed scope; it also asks after the issues that rows of the
    `owned` tables name but that are no live issue of the source: whether a link's far end in another
    project still exists, and whether the issue of children a crash stored before it left the scope. Between
    sweeps the audit log, when the account may read it, names the issues deleted, of any project (one
    request; moves out of scope wait for the sweep). The audit cursor moves only when the log named
    something, so a quiet run writes no state.
    """
    last_sweep = state.last_sweep_at if state else None
    audit_at = state.audit_checked_at if state else None
    every_run = not source.deletion_sweep
    if every_run or sweep_due or last_sweep is None or jira_now - last_sweep >= source.deletion_sweep:
        links = any(len(columns) > 1 for _, columns in owned)  # only rows with two issues need `gone`
        stored = warehouse.iter_live_issue_ids(source.name)
        departed = find_departed_ids(client, base_jql, stored, tell_gone=links)
        orphaned = warehouse.iter_foreign_owner_ids(source.name, owned, orphaned=True)
        departed += confirm_departed(client, base_jql, orphaned, tell_gone=links)
        far_ends = warehouse.iter_foreign_owner_ids(source.name, owned, orphaned=False)
        departed += Departures(gone=vanished_ids(client, far_ends))
        if every_run:  # the audit log would add nothing, nor would a new sweep time in the state
            return departed, DeletionChecks(last_sweep or jira_now, audit_at)
        readable = audit_deleted_ids(client, jira_now) is not None  # may it read the log?
        return departed, DeletionChecks(jira_now, jira_now if readable else None)
    if audit_at is None:
        return Departures(), DeletionChecks(last_sweep, None)
    deleted = audit_deleted_ids(client, audit_at - AUDIT_OVERLAP)
    if deleted is None:  # no longer readable: the sweep alone, from now on
        return Departures(), DeletionChecks(last_sweep, None)
    return Departures(deleted, deleted), DeletionChecks(last_sweep, jira_now if deleted else audit_at)


def record_invalid_source(
    warehouse: Warehouse, name: str, error: str, now: Clock = utc_now, plan: SourcePlan | None = None
) -> RunResult:
    """A JIRA_SOURCES row that does not validate: a FAILED run in the log for that source alone, nothing else
    touched (the other sources still run)."""
    result = RunResult(source=name, run_id=uuid.uuid4().hex, started_at=now(), status="FAILED", error=error)
    state = plan.state if plan is not None else warehouse.read_state(name)
    result.watermark_before = result.watermark_after = state.watermark if state else None
    warehouse.finish_run(result.run_id, now(), result.summary(), started_at=result.started_at)
    return result


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, ConfigError) else f"invalid JIRA_SOURCES row: {text}"


def overall_status(statuses: Iterable[str]) -> str:
    """FAILED if any source failed, else PARTIAL if any stopped at its time budget, else SUCCEEDED."""
    seen = set(statuses)
    return next((s for s in ("FAILED", "PARTIAL") if s in seen), "SUCCEEDED")


def run_sync(
    warehouse: Warehouse,
    credentials: CredentialsProvider,
    *,
    source: str | None = None,
    full_refresh: bool = False,
    now: Clock = utc_now,
    client_options: dict[str, Any] | None = None,
    jira_clock: Clock | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    time_budget: timedelta = RUN_TIME_BUDGET,
    observer: SyncObserver | None = None,
) -> dict[str, Any]:
    """Sync every enabled source, or the one named; return a JSON-able summary per source.

    The sources share `time_budget`: those that waited longest since their last run go first, and once the
    budget is spent the rest wait for the next run (listed under "waiting"; the run is PARTIAL). The first
    source always runs, so every run makes progress.
    """
    run_deadline = monotonic() + time_budget.total_seconds()
    plans = warehouse.read_plan().sources
    if source is not None:
        selected = [plan for plan in plans if plan.row.get("NAME") == source]
        if not selected:
            known = ", ".join(str(plan.row.get("NAME")) for plan in plans) or "none"
            raise ConfigError(
                f"No Jira source named {source!r} (configured: {known}). Add it with add_jira_source()."
            )
    else:
        selected = [plan for plan in plans if plan.row.get("ENABLED") is not False]
        if not selected:
            raise ConfigError("No enabled Jira source is configured. Add one with add_jira_source().")
    selected.sort(key=_longest_waiting_first)
    started = now()
    results: list[RunResult] = []
    waiting: list[str] = []
    with paced_for_bulk_data():  # a sync's many large short-lived trees: see jira_sync.collector
        for plan in selected:
            name = str(plan.row.get("NAME"))
            if results and monotonic() >= run_deadline:
                waiting.append(name)
                continue
            try:
                config = SourceConfig.from_row(plan.row)
            except (ConfigError, ValueError, TypeError, KeyError) as exc:  # one bad row fails only its source
                results.append(record_invalid_source(warehouse, name, _one_line(exc), now, plan))
                continue
            results.append(
                sync_source(
                    warehouse,
                    config,
                    credentials,
                    full_refresh=full_refresh,
                    now=now,
                    client_options=client_options,
                    jira_clock=jira_clock,
                    monotonic=monotonic,
                    plan=plan,
                    run_deadline=run_deadline,
                    observer=observer,
                )
            )
    if waiting:
        log.warning("time budget spent: %s wait for the next run", ", ".join(waiting))
    return {
        "status": overall_status([*(r.status for r in results), *("PARTIAL" for _ in waiting)]),
        "started_at": started.isoformat(),
        "duration_seconds": round((now() - started) / timedelta(seconds=1), 3),
        "sources": [r.summary() for r in results],
        "waiting": waiting,
    }


def _longest_waiting_first(plan: SourcePlan) -> tuple[bool, datetime, str]:
    """Sources never run first, then by the start of their latest run, oldest first; then by name."""
    never = plan.last_started is None
    return (not never, plan.last_started or datetime.min.replace(tzinfo=UTC), str(plan.row.get("NAME")))
