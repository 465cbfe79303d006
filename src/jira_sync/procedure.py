"""Stored procedure handlers: wiring only. `snowflake.yml` points Snowflake at these functions.

Type hints here are read by Snowpark to map arguments to SQL types, and it knows `Optional[str]` and `dict`,
not `str | None` or `dict[str, Any]`: hence the older spelling.
"""

from __future__ import annotations

import logging
from typing import Optional

from snowflake.snowpark import Session

from jira_sync.config import check_changes, merge_source, same_source
from jira_sync.credentials import snowflake_secret_credentials
from jira_sync.sync import SyncError, run_sync
from jira_sync.warehouse import Warehouse

log = logging.getLogger(__name__)


def sync_jira(
    session: Session, source: Optional[str] = None, full_refresh: bool = False
) -> dict:  # plain `dict`: Snowpark maps handler hints to SQL types and has no type for Any
    """CALL sync_jira() syncs every enabled source; sync_jira('name') one. Fails the call if a source failed,
    so a TASK counts the failure, after the run log has recorded why. A PARTIAL run (time budget reached,
    progress committed) is not a failure: the next scheduled run goes on from there."""
    summary = run_sync(
        Warehouse(session), snowflake_secret_credentials, source=source, full_refresh=bool(full_refresh)
    )
    for result in summary["sources"]:
        if result["status"] == "FAILED":  # through logging, so it reaches the event table (LOG_LEVEL)
            log.error("jira-sync: source %s failed: %s", result["source"], result["error"])
    if summary["waiting"]:
        log.warning("jira-sync: time budget spent; next run starts with %s", ", ".join(summary["waiting"]))
    if summary["status"] == "FAILED":
        raise SyncError(summary)
    return summary


def add_jira_source(
    session: Session,
    name: str,
    site_url: str,
    jql: Optional[str] = None,
    projects: Optional[list] = None,
    secret_alias: str = "jira_default",
    auth: str = "basic",
    batch_size: Optional[int] = None,
    page_size: Optional[int] = None,
    workers: Optional[int] = None,
    overlap_minutes: Optional[int] = None,
    search_lag_seconds: Optional[int] = None,
    time_budget_seconds: Optional[int] = None,
    deletion_sweep_minutes: Optional[int] = None,
    entities: Optional[list] = None,
) -> dict:  # plain `dict`: Snowpark maps handler hints to SQL types and has no type for Any
    """Add a source to JIRA_SOURCES, or change an existing one's site, scope, secret and auth. The knobs
    (`batch_size => 1000`, ...: the JIRA_SOURCES columns, as `jira-sync run` flags name them) are set when
    given; NULL keeps the stored value (or the default, for a new source), so knobs set with
    `UPDATE JIRA_SOURCES` are kept. Everything is validated before anything is written, with the bounds a
    run applies (a knob out of range is one ConfigError naming it and its range); a call that changes
    nothing writes nothing (status UNCHANGED). `entities => ['comments', 'worklogs']` picks what to sync besides
    issues (NULL keeps the stored choice; a new source syncs every entity)."""
    knobs = {
        "BATCH_SIZE": batch_size,
        "PAGE_SIZE": page_size,
        "WORKERS": workers,
        "OVERLAP_MINUTES": overlap_minutes,
        "SEARCH_LAG_SECONDS": search_lag_seconds,
        "TIME_BUDGET_SECONDS": time_budget_seconds,
        "DELETION_SWEEP_MINUTES": deletion_sweep_minutes,
    }
    changes = {
        "SITE_URL": site_url,
        "JQL": jql,
        "PROJECTS": list(projects or ()) or None,
        "SECRET_ALIAS": secret_alias,
        "AUTH": auth,
        **{column: value for column, value in knobs.items() if value is not None},
    }
    if entities is not None:
        changes["ENTITIES"] = list(entities)
    check_changes(name, changes)
    warehouse = Warehouse(session)
    warehouse.ensure_tables()
    row = warehouse.read_source(name)
    source = merge_source(row, name, changes)
    if same_source(row, source):
        return {"source": source.name, "site_url": source.site_url, "status": "UNCHANGED"}
    warehouse.upsert_source(source)
    return {"source": source.name, "site_url": source.site_url, "status": "SAVED"}
