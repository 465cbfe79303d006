"""The progress bar `jira-sync run` draws on a terminal: issues merged of Jira's estimate, ETA, issues/s, retries.

A `SyncObserver` (observer.py) drawn with rich, one bar per source. Local only: rich is a dependency of the
CLI, not of the procedure, and nothing the handlers import imports this module (artifact.py zips what they
import; tests/jira_sync/test_progress.py checks this module stays out of that set). The CLI imports it only
when its output is a terminal, so `jira-sync --help` and piped runs never load rich.

The rate and the ETA are the run's own average (issues merged / time since the window started), not rich's
short-window speed: batches land seconds apart, and an average over a 30-second window of two samples says
little. The total is Jira's estimate: when a run ends SUCCEEDED having merged more or fewer, the bar is set to
what it merged.
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from jira_sync.jira import RequestStats


def _rate(task: Task) -> float | None:
    """Issues merged per second since the window started (None before the first second)."""
    elapsed = task.elapsed
    return task.completed / elapsed if elapsed else None


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        return Text(f"{rate:,.1f} issues/s" if rate is not None else "- issues/s", style="progress.data.speed")


class _EtaColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        if task.finished:
            return Text("ETA 0:00:00", style="progress.remaining")
        if task.total is None or not rate:
            return Text("ETA -:--:--", style="progress.remaining")
        remaining = max(task.total - task.completed, 0) / rate
        return Text(f"ETA {timedelta(seconds=round(remaining))}", style="progress.remaining")


class _RetriesColumn(ProgressColumn):
    """The client's retries so far (429s and transient failures it waited out), read live at each refresh."""

    def render(self, task: Task) -> Text:
        stats: RequestStats | None = task.fields.get("stats")
        retries = stats.retries if stats is not None else 0
        return Text(f"{retries} {'retry' if retries == 1 else 'retries'}", style="yellow" if retries else "")


class ProgressBar:
    """Draws each source's window as a bar on `out` (a terminal), between `__enter__` and `__exit__`."""

    def __init__(self, out: TextIO, *, redirect_stderr: bool = False) -> None:
        # stderr is taken over (printed above the bar) only when it goes to the same terminal; otherwise a
        # warning meant for stderr would land on stdout.
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("issues"),
            _EtaColumn(),
            _RateColumn(),
            _RetriesColumn(),
            console=Console(file=out),
            redirect_stdout=False,
            redirect_stderr=redirect_stderr,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def window_started(self, source: str, total: int | None, stats: RequestStats) -> None:
        self._tasks[source] = self._progress.add_task(source, total=total, stats=stats)

    def batch_committed(self, source: str, issues: int) -> None:
        if source in self._tasks:
            self._progress.advance(self._tasks[source], issues)

    def source_finished(self, source: str, status: str) -> None:
        task_id = self._tasks.get(source)
        if task_id is None:  # failed before its window started: the summary says why
            return
        task = next(task for task in self._progress.tasks if task.id == task_id)
        total = task.completed if status == "SUCCEEDED" else task.total
        self._progress.update(task_id, total=total, description=f"{source} {status}")
        self._progress.stop_task(task_id)
