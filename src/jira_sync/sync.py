"""The orchestration of one sync: read config and state, walk the window, merge and checkpoint, log the run.

Everything here is shared by the stored procedure and the local `jira-sync` command: they differ only in the
Snowpark session they pass in and in where the credential comes from.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from jira_sync.config import ConfigError, SourceConfig
from jira_sync.credentials import CredentialsProvider
from jira_sync.deletions import find_departed_ids
from jira_sync.incremental import iter_window_batches
from jira_sync.jira import JiraClient, JiraError, source_jql, story_points_field_ids
from jira_sync.model import flatten_issue
from jira_sync.warehouse import Warehouse

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


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


def floor_minute(moment: datetime) -> datetime:
    """JQL dates have minute precision: bounds are whole minutes so what we ask is exactly what Jira reads."""
    return moment.replace(second=0, microsecond=0)


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
    status: str = "RUNNING"
    counts: RunCounts = field(default_factory=RunCounts)
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    time_zone: str | None = None
    requests: int = 0
    retries: int = 0
    error: str | None = None
    duration_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "source": self.source,
            "run_id": self.run_id,
            "status": self.status,
            "issues_fetched": self.counts.fetched,
            "issues_inserted": self.counts.inserted,
            "issues_updated": self.counts.updated,
            "issues_deleted": self.counts.deleted,
            "batches": self.counts.batches,
            "requests": self.requests,
            "retries": self.retries,
            "watermark_before": iso(self.watermark_before),
            "watermark_after": iso(self.watermark_after),
            "account_time_zone": self.time_zone,
            "duration_seconds": round(self.duration_seconds, 3),
            "error": self.error,
        }


def sync_source(
    warehouse: Warehouse,
    source: SourceConfig,
    credentials: CredentialsProvider,
    *,
    full_refresh: bool = False,
    now: Clock = utc_now,
    client_options: dict[str, Any] | None = None,
) -> RunResult:
    """Sync one source. Never raises for Jira or config problems: they end as a FAILED run, state untouched."""
    started = time.monotonic()
    state = warehouse.read_state(source.name)
    result = RunResult(source=source.name, run_id=uuid.uuid4().hex)
    result.watermark_before = state.watermark if state else None
    result.watermark_after = result.watermark_before
    warehouse.start_run(result.run_id, source.name, now(), result.watermark_before)
    client: JiraClient | None = None
    try:
        client = JiraClient(
            source.site_url_normalized, credentials(source), workers=source.workers, **(client_options or {})
        )
        zone = client.time_zone()  # re-read every run: a changed account time zone needs no reset
        result.time_zone = zone.key
        story_fields = story_points_field_ids(client.fields())
        base_jql = source_jql(source.jql, source.projects)
        upper = floor_minute(now() - source.search_lag)
        start = None if full_refresh or state is None else state.watermark
        lower = start - source.overlap if start else None
        watermark = start
        for batch in iter_window_batches(
            client,
            base_jql,
            lower=lower,
            upper=upper,
            time_zone=zone,
            batch_size=source.batch_size,
            page_size=source.page_size,
        ):
            synced_at = now()
            rows = [
                flatten_issue(
                    issue,
                    source=source.name,
                    story_points_fields=story_fields,
                    synced_at=synced_at,
                    run_id=result.run_id,
                )
                for issue in batch.issues
            ]
            if batch.watermark and (watermark is None or batch.watermark > watermark):
                watermark = batch.watermark
            merged = warehouse.commit_batch(
                rows,
                source=source.name,
                watermark=watermark,
                time_zone=zone.key,
                run_id=result.run_id,
                force=full_refresh,
            )
            result.counts.fetched += len(rows)
            result.counts.inserted += merged.inserted
            result.counts.updated += merged.updated
            result.counts.batches += 1
            result.watermark_after = watermark
            if time.monotonic() - started > source.time_budget.total_seconds() and moved_on(start, watermark):
                result.status = "PARTIAL"  # committed up to here; the next run resumes from this watermark
                break
        if result.status == "PARTIAL":
            return result
        # The window is complete: every update before `upper` is in. The watermark moves up to it.
        if watermark is None or upper > watermark:
            watermark = upper
        departed = find_departed_ids(client, base_jql, warehouse.live_issue_ids(source.name))
        result.counts.deleted = warehouse.complete_window(
            source=source.name,
            watermark=watermark,
            time_zone=zone.key,
            run_id=result.run_id,
            deleted_ids=departed,
            deleted_at=now(),
        )
        result.watermark_after = watermark
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
            result.requests, result.retries = client.stats.requests, client.stats.retries
            client.close()
        result.duration_seconds = time.monotonic() - started
        warehouse.finish_run(result.run_id, now(), result.summary())
    return result


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
) -> dict[str, Any]:
    """Sync every enabled source, or the one named; return a JSON-able summary per source."""
    warehouse.ensure_tables()
    sources = [SourceConfig.from_row(row) for row in warehouse.read_sources()]
    if source is not None:
        selected = [s for s in sources if s.name == source]
        if not selected:
            known = ", ".join(s.name for s in sources) or "none"
            raise ConfigError(
                f"No Jira source named {source!r} (configured: {known}). Add it with add_jira_source()."
            )
    else:
        selected = [s for s in sources if s.enabled]
        if not selected:
            raise ConfigError("No enabled Jira source is configured. Add one with add_jira_source().")
    started = now()
    results = [
        sync_source(
            warehouse, s, credentials, full_refresh=full_refresh, now=now, client_options=client_options
        )
        for s in selected
    ]
    return {
        "status": overall_status(r.status for r in results),
        "started_at": started.isoformat(),
        "duration_seconds": round((now() - started) / timedelta(seconds=1), 3),
        "sources": [r.summary() for r in results],
    }
