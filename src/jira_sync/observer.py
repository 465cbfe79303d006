"""What a caller may watch of a sync while it runs: the events `sync_source` reports to an observer.

Why an observer and not a progress bar in the sync: the same sync runs inside Snowflake, where nobody watches
and nothing may be drawn, and locally, where `jira-sync run` on a terminal draws a bar (`progress_bar.py`, the
CLI's; the procedure never imports it). The sync reports plain events; whoever listens decides what to show.

No observer, no cost: the window's total (one `search/approximate-count` request) is asked only when an
observer is there to show it, so the task and quiet local runs (output not a terminal) send what they always
sent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from jira_sync.jira import JiraError, approximate_count, window_jql

if TYPE_CHECKING:
    from jira_sync.incremental import WindowWalk
    from jira_sync.jira import JiraClient, RequestStats

log = logging.getLogger(__name__)


class SyncObserver(Protocol):
    """Receives a run's progress, source by source. Called from the sync's own thread; must not raise."""

    def window_started(self, source: str, total: int | None, stats: RequestStats) -> None:
        """The source's window is about to be read: about `total` issues (Jira's estimate; None when unknown).
        `stats` are the client's live counts: its `retries` grow while the window is read."""

    def batch_committed(self, source: str, issues: int) -> None:
        """`issues` more issues were merged and checkpointed (the watermark moved past them)."""

    def source_finished(self, source: str, status: str) -> None:
        """The source's run ended with `status` (SUCCEEDED, PARTIAL or FAILED)."""


def window_total(client: JiraClient, walk: WindowWalk) -> int | None:
    """Jira's estimate of how many issues the walk's window holds; None when Jira cannot say. A failure here
    is only a missing total: the count serves a progress bar, never the sync's correctness."""
    jql = window_jql(walk.source_jql, walk.lower, walk.upper, walk.time_zone, order_by=None)
    try:
        return approximate_count(client, jql)
    except JiraError as exc:
        log.debug("no approximate count for the progress bar: %s", exc)
        return None
