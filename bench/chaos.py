"""Chaos bench: randomized trials of the real `jira-sync run` CLI against a misbehaving emulated Jira, each
ending in a comparison of the warehouse with the emulator's ground truth.

    .venv/bin/python -m bench.chaos --trials 20 --seed 1 [--parallel 2] [--launcher fork|exec] [--settle jump|wait]

A trial (all of it drawn from its seed, printed on its line; `--replay SEED` runs one again):

* a site of 30-200 issues (the emulator in this process), a source of 1-3 of its 5 projects (`--project` or
  `--jql "project in (...)"`), the account in a time zone on either side of the date line or one with DST;
* Jira's clock off from this machine's (`clock_offset_ms` from -10 years to +1 day, small ones too), or set a
  minute or so before the zone's latest DST change so that the trial crosses it;
* faults while the sync runs: 429 storms (Retry-After), 5xx with and without Retry-After, dropped
  connections, truncated and trickling bodies, search-index lag above or below the source's search lag;
* concurrent edits from a thread (updates, bulk edits of many issues in one minute, creates, deletes, moves
  between projects, comments) and, in some trials, edits landing between two search pages;
* 1-3 CLI runs in subprocesses, some killed with SIGKILL at a random moment, the account's time zone maybe
  switched between two runs, pagination knobs (batch and page size, workers, overlap, search lag, time
  budget) where the CLI has the flags;
* then convergence: edits stop, faults off, index lag 0; runs until two runs in a row SUCCEED with nothing
  new (at most `--converge-runs`), both started once Jira's clock has passed the last edit's minute plus the
  source's search lag (JQL reads minutes; `--settle jump`, the default, moves Jira's clock forward, which for
  a sync that takes its time from Jira's `Date` header is the same as waiting; `--settle wait` sleeps instead,
  for a sync that trusts the local clock);
* the comparison, for the issues in the source's scope, of `JIRA_ISSUES` with `jira.ground_truth()`:
  lost (live and in scope in Jira, no row at all), stale (live row older than Jira's `updated`), duplicated
  (more than one row per source and id), wrongly deleted (row marked deleted, issue live and in scope), and
  deletions not reflected (issue deleted or out of scope in Jira, row still live); and children off: a row of
  a child table (changelog, comments, worklogs, links, sprint membership) missing for an issue live and in
  scope, or still live when it or its issue is gone.

When a trial finds something, Jira's clock is moved 90 minutes on and two more runs are made, to tell an
issue that is only late (e.g. hidden for the hour after a DST change) from one that is lost for good; the
counts are those before that. Each run is a process of its own: `--launcher fork` (the default) forks it from
a process that has imported the CLI already, `--launcher exec` starts the console script (the imports make
that 4-5 s slower per run). The exit code is 1 when any of the five counts is not zero, or a trial did not
converge.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zoneinfo
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakejira import FakeJira
from fakejira.catalog import PRIORITIES, STATUSES
from fakejira.faults import FaultConfig
from fakejira.generator import generate_site
from fakejira.lifecycle import END_MS

SOURCE = "chaos"
TOKEN_ENV = "CHAOS_JIRA_TOKEN"
PROJECTS = ("ENG", "OPS", "DATA", "SUP", "MKT")
TIME_ZONES = (
    "Pacific/Kiritimati",  # UTC+14, west of the date line
    "Pacific/Pago_Pago",  # UTC-11, east of it
    "Pacific/Auckland",  # +12/+13, DST
    "America/Los_Angeles",  # -8/-7, DST
    "Europe/Berlin",  # +1/+2, DST
    "Asia/Kolkata",  # +5:30
    "UTC",
)
DST_ZONES = ("Pacific/Auckland", "America/Los_Angeles", "Europe/Berlin")
FAULT_KINDS = ("429", "5xx", "drop", "truncate", "trickle", "lag-below", "lag-above")
COUNTS = ("lost", "stale", "duplicated", "wrongly_deleted", "not_deleted", "children_off")
COUNT_LABELS = {
    "lost": "lost",
    "stale": "stale",
    "duplicated": "duplicated",
    "wrongly_deleted": "wrongly deleted",
    "not_deleted": "deletions not reflected",
    "children_off": "children off",
}
CHILD_TABLES = {  # the child tables and their keys, compared with the emulator's issues
    "JIRA_ISSUE_CHANGELOG": ("ISSUE_ID", "HISTORY_ID", "ITEM_INDEX"),
    "JIRA_COMMENTS": ("ID",),
    "JIRA_WORKLOGS": ("ID",),
    "JIRA_ISSUE_LINKS": ("ID",),
    "JIRA_ISSUE_SPRINTS": ("ISSUE_ID", "SPRINT_ID"),
}
YEAR_MS = 365 * 86_400_000
DAY_MS = 86_400_000
DEFAULT_SEARCH_LAG_S = 60  # the source's default when the CLI cannot set it
CALM_FAULTS = {
    name: value
    for name, value in asdict(FaultConfig()).items()
    if name not in ("clock_offset_ms", "seed")  # Jira's clock stays as it is
}
"""Every fault and trigger off, index lag 0."""


# --- the CLI's knobs: one line each; a knob the CLI does not have yet is skipped ----------------------


@dataclass(frozen=True)
class Knob:
    chaos: Sequence[int]  # values a trial draws from for its runs under faults
    converge: int | None = None  # the value for converging runs (None: the trial's value)


KNOBS: dict[str, Knob] = {
    "--batch-size": Knob((1, 2, 3, 7, 25, 100, 500)),
    "--page-size": Knob((1, 2, 5, 13, 50, 5000)),
    "--workers": Knob((1, 2, 4)),
    "--overlap-minutes": Knob((1, 2, 5)),
    "--search-lag-seconds": Knob((0, 0, 1, 2, 5)),
    "--time-budget-seconds": Knob((1, 2, 5, 600, 600), converge=600),
    "--request-timeout": Knob((1, 3, 10), converge=30),
    "--retry-seconds": Knob((5, 15, 60), converge=300),
}


def cli_command() -> list[str]:
    """The real CLI: the console script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("jira-sync")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jira_sync.cli"]


@functools.cache
def cli_flags() -> frozenset[str]:
    """The options `jira-sync run --help` lists."""
    shown = subprocess.run([*cli_command(), "run", "--help"], capture_output=True, text=True, timeout=120)
    return frozenset(re.findall(r"(--[a-z][a-z-]+)", shown.stdout))


# --- a trial's plan: everything random, drawn from its seed --------------------------------------------


@dataclass(frozen=True)
class Plan:
    seed: int
    issues: int
    site_seed: int
    projects: tuple[str, ...]
    use_jql: bool
    time_zone: str
    switch_zone: str | None  # the account moves to this zone between two runs
    clock: str  # "none", "small", "behind", "ahead", "dst"
    clock_offset_ms: int  # for "dst": how long before the zone's last DST change the trial starts (ms)
    fault_kinds: tuple[str, ...]
    faults: dict[str, Any]  # FaultConfig settings while the sync runs under faults (lag set at run time)
    lag_factor: float  # index lag relative to the source's search lag (below < 1 < above)
    knobs: dict[str, int]  # CLI flag -> value, for the runs under faults
    kills: tuple[float | None, ...]  # per run under faults: kill after this share of a typical run
    edit_pause_s: float  # mean pause between two edits
    page_edits: float  # chance of an edit between two search pages
    latency_ms: int


def plan_trial(seed: int) -> Plan:
    rng = random.Random(f"chaos/{seed}")
    time_zone = rng.choice(TIME_ZONES)
    clock = rng.choices(("none", "small", "behind", "ahead", "dst"), (2, 3, 2, 2, 2))[0]
    if clock == "dst":
        time_zone = rng.choice(DST_ZONES)
        offset = rng.randint(15_000, 120_000)
    elif clock == "small":
        offset = rng.choice((-1, 1)) * rng.randint(200, 300_000)
    elif clock == "behind":
        offset = -rng.choice((10 * YEAR_MS, rng.randint(DAY_MS, 10 * YEAR_MS), rng.randint(300_000, DAY_MS)))
    elif clock == "ahead":
        offset = rng.choice((DAY_MS, rng.randint(300_000, DAY_MS)))
    else:
        offset = 0
    kinds = tuple(sorted(rng.sample(FAULT_KINDS, rng.choice((0, 1, 1, 2, 2, 3)))))
    if "lag-below" in kinds and "lag-above" in kinds:
        kinds = tuple(k for k in kinds if k != rng.choice(("lag-below", "lag-above")))
    faults: dict[str, Any] = {"seed": seed}
    if "429" in kinds:
        faults.update(rate_limit=rng.uniform(1, 5), rate_limit_capacity=rng.randint(1, 4))
    if "5xx" in kinds:
        faults["error_rate"] = rng.uniform(0.1, 0.3)
    if "drop" in kinds:
        faults["drop_rate"] = rng.uniform(0.05, 0.15)
    if "truncate" in kinds:
        faults["truncate_rate"] = rng.uniform(0.05, 0.15)
    if "trickle" in kinds:
        faults.update(trickle_rate=rng.uniform(0.05, 0.15), trickle_interval_ms=rng.choice((200, 500, 2000)))
    lag_factor = rng.uniform(0.1, 0.9) if "lag-below" in kinds else rng.uniform(1.2, 3.0)
    runs = rng.choice((2, 2, 3, 4))
    return Plan(
        seed=seed,
        issues=rng.randint(30, 200),
        site_seed=rng.randint(1, 10_000),
        projects=tuple(sorted(rng.sample(PROJECTS, rng.randint(1, 3)))),
        use_jql=rng.random() < 0.3,
        time_zone=time_zone,
        switch_zone=rng.choice(TIME_ZONES) if rng.random() < 0.25 else None,
        clock=clock,
        clock_offset_ms=offset,
        fault_kinds=kinds,
        faults=faults,
        lag_factor=lag_factor,
        knobs={flag: rng.choice(knob.chaos) for flag, knob in KNOBS.items()},
        kills=tuple(rng.uniform(0.2, 1.3) if rng.random() < 0.5 else None for _ in range(runs)),
        edit_pause_s=rng.choice((0.05, 0.2, 0.5)),
        page_edits=rng.choice((0.0, 0.0, 0.2, 0.5)),
        latency_ms=rng.choice((0, 0, 5, 20)),
    )


def last_dst_change(zone: str, before: datetime) -> datetime | None:
    """The latest instant before `before` at which `zone`'s UTC offset changed (to the minute)."""
    tz = zoneinfo.ZoneInfo(zone)
    step = timedelta(minutes=15)
    moment = before.replace(second=0, microsecond=0, minute=before.minute // 15 * 15)
    offset = moment.astimezone(tz).utcoffset()
    for _ in range(4 * 24 * 400):
        earlier = moment - step
        if earlier.astimezone(tz).utcoffset() != offset:
            return moment
        moment = earlier
    return None


def clock_offset(plan: Plan, now: datetime) -> int:
    """The trial's clock_offset_ms; for a DST trial, Jira's clock starts a little before the zone's change."""
    if plan.clock != "dst":
        return plan.clock_offset_ms
    change = last_dst_change(plan.time_zone, now)
    if change is None:
        return 0
    return int((change - now).total_seconds() * 1000) - plan.clock_offset_ms


def describe_offset(ms: int) -> str:
    sign = "-" if ms < 0 else "+"
    ms = abs(ms)
    if ms >= 2 * DAY_MS:
        return f"{sign}{ms / DAY_MS:.0f}d"
    if ms >= 3_600_000:
        return f"{sign}{ms / 3_600_000:.1f}h"
    return f"{sign}{ms / 1000:.1f}s"


# --- concurrent edits ----------------------------------------------------------------------------------


class Editor:
    """Edits the site from a thread (and, if asked, between two search pages) and remembers what it did."""

    def __init__(self, jira: FakeJira, rng: random.Random, pause_s: float, page_edits: float) -> None:
        self.jira = jira
        self.rng = rng
        self.pause_s = pause_s
        self.page_edits = page_edits
        self.counts: Counter[str] = Counter()
        self.history: dict[str, list[str]] = {}  # issue id -> what happened to it, in order
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaos editor", daemon=True)

    def start(self) -> None:
        if self.page_edits:
            self.jira.on_search_page(self._between_pages)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.jira.clear_search_hooks()

    def _loop(self) -> None:
        while not self._stop.wait(self.rng.expovariate(1 / self.pause_s)):
            self.edit()

    def _between_pages(self, page: dict[str, Any]) -> None:
        if not self._stop.is_set() and self.rng.random() < self.page_edits:
            self.edit(page.get("issue_ids") or None)

    def _note(self, issue: dict[str, Any], what: str) -> None:
        stamp = self.jira.now().strftime("%H:%M:%S.%f")[:-3]
        self.history.setdefault(str(issue["id"]), []).append(f"{what}@{stamp}")

    def edit(self, near: list[str] | None = None) -> None:
        """One random edit; `near`: ids of the page just served, preferred as targets."""
        with self._lock:
            rng = self.rng
            live = [row for row in self.jira.ground_truth() if not row["deleted"]]
            if not live:
                return
            kind = rng.choices(
                ("update", "bulk", "create", "delete", "move", "comment", "worklog", "uncomment", "link"),
                (40, 6, 12, 8, 12, 8, 6, 4, 4),
            )[0]
            target = rng.choice(near) if near else rng.choice(live)["id"]
            try:
                self._apply(kind, str(target), live)
            except (KeyError, ValueError):  # gone meanwhile (a sub-task deleted with its parent, ...)
                kind = "missed"
            self.counts[kind] += 1

    def _apply(self, kind: str, target: str, live: list[dict[str, Any]]) -> None:
        rng, jira = self.rng, self.jira
        if kind == "update":
            fields: dict[str, Any] = rng.choice(
                (
                    {"labels": [f"chaos-{rng.randint(1, 9)}"]},
                    {"status": rng.choice(list(STATUSES))},
                    {"priority": rng.choice(list(PRIORITIES))},
                    {"summary": f"edited under chaos {rng.randint(1, 10**6)}"},
                )
            )
            self._note(jira.update_issue(target, fields), "update")
        elif kind == "bulk":  # many issues in one minute, as a bulk edit does
            label = f"bulk-{rng.randint(1, 10**6)}"
            for row in rng.sample(live, min(len(live), rng.randint(10, 50))):
                with contextlib.suppress(KeyError):
                    self._note(jira.update_issue(row["id"], {"labels": [label]}), "bulk")
        elif kind == "create":
            self._note(jira.create_issue(rng.choice(PROJECTS), {"summary": "created under chaos"}), "create")
        elif kind == "delete":
            issue = jira.get_issue(target)
            jira.delete_issue(target)
            if issue is not None:
                self._note(issue, "delete")
        elif kind == "move":
            project = rng.choice(PROJECTS)
            issue = jira.move_issue(target, project)
            self._note(issue, f"move->{project}")
        elif kind == "comment":
            jira.add_comment(target, "a comment under chaos")
            self._note({"id": target}, "comment")
        elif kind == "worklog":  # log time, or take back the latest time logged
            logged = jira.issue_truth(target)["worklogs"]
            if logged and rng.random() < 0.4:
                jira.delete_worklog(int(logged[-1]["id"]))
            else:
                jira.add_worklog(target, rng.randint(1, 8) * 900, "time under chaos")
            self._note({"id": target}, "worklog")
        elif kind == "uncomment":  # edit or delete a comment
            comments = jira.issue_truth(target)["comments"]
            if not comments:
                raise KeyError(target)
            if rng.random() < 0.5:
                jira.edit_comment(target, comments[0]["id"], "edited under chaos")
            else:
                jira.delete_comment(target, comments[0]["id"])
            self._note({"id": target}, "uncomment")
        else:
            other = rng.choice(live)["id"]
            if str(other) == target:
                raise KeyError(target)
            jira.add_issue_link(target, other)
            self._note({"id": target}, "link")


# --- running the CLI -----------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    phase: str  # "chaos" or "converge"
    status: str  # SUCCEEDED, PARTIAL, FAILED, killed, timeout, error
    seconds: float
    changed: int | None = None  # issues inserted + updated + deleted, from the summary
    started_jira_ms: int = 0
    detail: str = ""


_RUN_SECONDS: list[float] = []
"""Durations of complete runs in this process, and of their part that talks to Jira: for placing kills."""
_JIRA_SECONDS: list[float] = []


def typical_run_seconds() -> float:
    return _median(_RUN_SECONDS, 8.0)


def _median(values: list[float], default: float) -> float:
    return sorted(values)[len(values) // 2] if values else default


def _kill_moment(kill: float | None, begun: float, talked: float | None) -> float | None:
    """When to kill a run planned to die at `kill` (share of a typical run): a fifth of the kills land in the
    start-up, before the first answer from Jira; the others while it talks to Jira, timed from that answer."""
    if kill is None:
        return None
    if kill < 0.4:
        return begun + kill / 0.4 * max(1.0, typical_run_seconds() - _median(_JIRA_SECONDS, 1.0))
    return None if talked is None else talked + (kill - 0.4) / 0.9 * _median(_JIRA_SECONDS, 1.0)


class ExecLauncher:
    """Each run is the console script in a new process, as a user runs it."""

    name = "exec"

    def start(self, args: list[str], env: dict[str, str], out: Path, err: Path) -> Any:
        with out.open("wb") as stdout, err.open("wb") as stderr:
            return subprocess.Popen([*cli_command(), *args], stdout=stdout, stderr=stderr, env=env)

    def close(self) -> None:
        pass


class ForkLauncher:
    """Each run is a process forked from one that has already imported the CLI (a "zygote", one per trial),
    which then runs the CLI's own `main` with the run's arguments and environment, its output to files: the
    same code in its own process, killable the same way, without paying the imports (most of a run's start-up)
    every time. Only what the imported modules read from the environment at import time is the zygote's."""

    name = "fork"

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
        self._zygote = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos", "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lock = threading.Lock()
        if self._ask(None) != {"ready": True}:
            raise RuntimeError("the fork launcher did not start")

    def _ask(self, request: dict[str, Any] | None) -> dict[str, Any]:
        stdin, stdout = self._zygote.stdin, self._zygote.stdout
        assert stdin is not None and stdout is not None
        with self._lock:
            if request is not None:
                stdin.write(json.dumps(request) + "\n")
                stdin.flush()
            line = stdout.readline()
        if not line:
            raise RuntimeError("the fork launcher died")
        return json.loads(line)

    def start(self, args: list[str], env: dict[str, str], out: Path, err: Path) -> Forked:
        reply = self._ask({"args": args, "env": env, "out": str(out), "err": str(err)})
        return Forked(self, int(reply["pid"]))

    def poll(self, pid: int) -> int | None:
        return self._ask({"poll": pid})["exit"]

    def close(self) -> None:
        if self._zygote.stdin:
            self._zygote.stdin.close()
        self._zygote.wait(timeout=30)


class Forked:
    """A forked run, with the part of Popen's interface `run_cli` uses."""

    def __init__(self, launcher: ForkLauncher, pid: int) -> None:
        self.launcher, self.pid = launcher, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.launcher.poll(self.pid)
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        while self.poll() is None:
            time.sleep(0.01)
        return self.returncode or 0


def zygote() -> None:
    """The fork launcher's side: import the CLI, then fork a run per request read from stdin."""
    import fakesnow.server  # noqa: F401  (the embedded warehouse imports these when it starts)
    import uvicorn  # noqa: F401

    import jira_sync.cli  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "poll" in request:
            pid, status = os.waitpid(request["poll"], os.WNOHANG)
            reply: dict[str, Any] = {"exit": os.waitstatus_to_exitcode(status) if pid else None}
        else:
            pid = os.fork()
            if pid == 0:
                _forked_run(request)
            reply = {"pid": pid}
        print(json.dumps(reply), flush=True)


def _forked_run(request: dict[str, Any]) -> None:
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        for fd, path in ((1, request["out"]), (2, request["err"])):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["jira-sync", *request["args"]]
        from jira_sync.cli import main

        main(args=request["args"], prog_name="jira-sync")
        code = 0
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_cli(
    launcher: Any,
    args: list[str],
    env: dict[str, str],
    phase: str,
    timeout: float,
    kill: float | None,
    jira: FakeJira,
) -> RunOutcome:
    """One CLI run in its own process; SIGKILL at the moment `kill` picks (see `_kill_moment`) or at `timeout`."""
    began = time.monotonic()
    started_jira_ms = jira.site.now_ms()
    answered = jira.request_log()["total"]
    talked: float | None = None
    with tempfile.TemporaryDirectory(prefix="chaos-run-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        process = launcher.start(args, env, out, err)
        status = None
        while process.poll() is None:
            now = time.monotonic()
            if talked is None and jira.request_log()["total"] > answered:
                talked = now
            moment = _kill_moment(kill, began, talked)
            if (moment is not None and now >= moment) or now - began >= timeout:
                process.kill()
                status = "killed" if moment is not None and now >= moment else "timeout"
                break
            time.sleep(0.02)
        process.wait()
        seconds = time.monotonic() - began
        if status is not None:
            return RunOutcome(phase, status, seconds, None, started_jira_ms)
        if talked is not None:
            _JIRA_SECONDS.append(time.monotonic() - talked)
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    summary = next(
        (json.loads(line) for line in reversed(stdout.splitlines()) if line.startswith("{")), None
    )
    if not isinstance(summary, dict) or "status" not in summary:
        tail = (stderr.strip().splitlines() or ["no output"])[-1][:300]
        return RunOutcome(phase, "error", seconds, None, started_jira_ms, f"exit {process.returncode}: {tail}")
    _RUN_SECONDS.append(seconds)
    changed = sum(
        int(s.get(k) or 0)
        for s in summary.get("sources", [])
        for k in ("issues_inserted", "issues_updated", "issues_deleted")
    )
    errors = [s.get("error") for s in summary.get("sources", []) if s.get("error")]
    return RunOutcome(phase, str(summary["status"]), seconds, changed, started_jira_ms, "; ".join(errors)[:300])


# --- comparing with ground truth -----------------------------------------------------------------------


def _jira_datetime(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


def compare(rows: list[dict[str, Any]], truth: list[dict[str, Any]], scope: Sequence[str]) -> dict[str, list]:
    """The five counts as lists of (issue id, key, what) for the issues in the source's scope."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_id.setdefault(str(int(row["ID"])), []).append(row)
    found: dict[str, list] = {name: [] for name in COUNTS}
    for issue in truth:
        iid, key = str(issue["id"]), issue["key"]
        stored = by_id.get(iid, [])
        live_rows = [r for r in stored if not r.get("IS_DELETED")]
        if len(stored) > 1:
            found["duplicated"].append((iid, key, f"{len(stored)} rows"))
        in_scope = not issue["deleted"] and issue["project"] in scope
        if in_scope and not stored:
            found["lost"].append((iid, key, f"updated {issue['updated']}, no row"))
        elif in_scope and not live_rows:
            found["wrongly_deleted"].append((iid, key, "row marked deleted"))
        elif in_scope:
            newest = max(_as_datetime(r["UPDATED"]) for r in live_rows)
            if newest < _jira_datetime(issue["updated"]):
                found["stale"].append((iid, key, f"row {newest:%Y-%m-%dT%H:%M:%S.%f}, Jira {issue['updated']}"))
        elif live_rows:
            why = "deleted" if issue["deleted"] else f"moved to {issue['project']}"
            found["not_deleted"].append((iid, key, f"{why} in Jira, row live"))
    return found


def expected_children(jira: FakeJira, truth: list[dict[str, Any]], scope: Sequence[str]) -> dict[str, set]:
    """The live rows each child table should hold: those of the issues live and in the source's scope."""
    expected: dict[str, set] = {table: set() for table in CHILD_TABLES}
    for issue in truth:
        if issue["deleted"] or issue["project"] not in scope:
            continue
        whole = jira.issue_truth(issue["id"])
        iid = int(whole["id"])
        for history in whole["changelog"]:
            expected["JIRA_ISSUE_CHANGELOG"] |= {(iid, int(history["id"]), n) for n in range(len(history["items"]))}
        expected["JIRA_COMMENTS"] |= {(int(c["id"]),) for c in whole["comments"]}
        expected["JIRA_WORKLOGS"] |= {(int(w["id"]),) for w in whole["worklogs"]}
        expected["JIRA_ISSUE_LINKS"] |= {(int(link["id"]),) for link in whole["links"]}
        expected["JIRA_ISSUE_SPRINTS"] |= {(iid, int(s)) for s in whole["sprint_ids"]}
    return expected


def compare_children(stored: dict[str, set], expected: dict[str, set]) -> list[tuple[str, str, str]]:
    """(table, key, what) for each child row missing, or live when its issue or itself is gone."""
    found = []
    for table, want in expected.items():
        have = stored.get(table, set())
        found += [(table, str(key), "missing") for key in sorted(want - have)]
        found += [(table, str(key), "live, gone in Jira") for key in sorted(have - want)]
    return found


def read_children(folder: Path) -> dict[str, set]:
    """The live rows of each child table, by key."""
    from jira_sync.local_warehouse import embedded_session

    with embedded_session(folder) as session:
        return {
            table: {
                tuple(int(v) for v in row)
                for row in session.sql(
                    f"select {', '.join(keys)} from {table} where SOURCE = ? and not coalesce(IS_DELETED, false)",
                    params=[SOURCE],
                ).collect()
            }
            for table, keys in CHILD_TABLES.items()
        }


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def read_warehouse(folder: Path) -> list[dict[str, Any]]:
    from jira_sync.local_warehouse import embedded_session
    from jira_sync.warehouse import Warehouse

    with embedded_session(folder) as session:
        return Warehouse(session).read_issues(SOURCE)


# --- one trial -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    settle: str = "jump"  # "jump" (move Jira's clock forward) or "wait" (sleep until Jira's clock passes)
    launcher: str = "fork"  # "fork" (see ForkLauncher) or "exec" (the console script per run)
    run_timeout: float = 60.0  # a run under faults still going after this is killed ("timeout")
    converge_timeout: float = 180.0
    converge_runs: int = 6
    keep: bool = False  # keep the warehouse folder of a trial that found something
    recheck_minutes: int = 90  # when something is found: move Jira's clock on this much, two runs, count again


@dataclass
class TrialResult:
    plan: Plan
    offset_ms: int
    fresh_site: bool
    found: dict[str, list]
    runs: list[RunOutcome]
    edits: dict[str, int]
    faulted: dict[str, int]  # answers by fault kind, from the emulator's request log
    converged: bool
    seconds: float
    knobs_used: dict[str, int]
    folder: str | None = None
    error: str = ""
    history: dict[str, list[str]] = field(default_factory=dict)
    recheck: dict[str, list] | None = None  # the counts again, after Jira's clock moved `recheck_minutes` on

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(self.found[name]) for name in COUNTS}


def _build_site(jira_offset_ms: int, plan: Plan, rng: random.Random) -> tuple[FakeJira, bool]:
    """The emulator, with a site whose data is not in the future of its own clock: when Jira's clock is
    behind the generated data (which ends mid-2026), the issues are created through the API instead."""
    jira_now_ms = time.time() * 1000 + jira_offset_ms
    fresh = jira_now_ms < END_MS + DAY_MS
    site = generate_site(0 if fresh else plan.issues, plan.site_seed, "UTC")
    jira = FakeJira(site=site, clock_offset_ms=jira_offset_ms).start()
    if fresh:
        for _ in range(plan.issues):
            fields: dict[str, Any] = {"summary": "created by the bench", "status": rng.choice(list(STATUSES))}
            jira.create_issue(rng.choice(PROJECTS), fields)
    return jira, fresh


def _knob_args(knobs: dict[str, int], converge: bool) -> list[str]:
    args: list[str] = []
    for flag, value in knobs.items():
        if converge and KNOBS[flag].converge is not None:
            value = KNOBS[flag].converge
        args += [flag, str(value)]
    return args


def run_trial(seed: int, options: Options = Options()) -> TrialResult:
    plan = plan_trial(seed)
    rng = random.Random(f"chaos/{seed}/run")
    began = time.monotonic()
    offset = clock_offset(plan, datetime.now(UTC))
    folder = Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-"))
    jira, fresh = _build_site(offset, plan, rng)
    flags = cli_flags()
    knobs = {flag: value for flag, value in plan.knobs.items() if flag in flags}
    source_lag_s = knobs.get("--search-lag-seconds", DEFAULT_SEARCH_LAG_S)
    scope = plan.projects
    argv = ["run", "--site", jira.url, "--email", jira.email, "--token-env", TOKEN_ENV,
            "--warehouse", f"local:{folder}", "--source", SOURCE]  # fmt: skip
    if plan.use_jql:
        argv += ["--jql", f"project in ({', '.join(scope)})"]
    else:
        for project in scope:
            argv += ["--project", project]
    env = {**os.environ, TOKEN_ENV: jira.token}
    account = jira.account(jira.email).account_id
    runs: list[RunOutcome] = []
    editor = Editor(jira, random.Random(f"chaos/{seed}/edits"), plan.edit_pause_s, plan.page_edits)
    result = TrialResult(plan, offset, fresh, {n: [] for n in COUNTS}, runs, {}, {}, False, 0.0, knobs)
    launcher: Any = ExecLauncher()
    try:
        launcher = ForkLauncher() if options.launcher == "fork" else launcher
        jira.set_time_zone(account, plan.time_zone)
        lag_ms = plan.lag_factor * source_lag_s * 1000 if {"lag-below", "lag-above"} & set(plan.fault_kinds) else 0
        if "lag-above" in plan.fault_kinds:
            lag_ms = max(lag_ms, (source_lag_s + 1) * 1000)
        jira.set_faults(**plan.faults, search_lag_ms=lag_ms, latency_ms=plan.latency_ms)
        editor.start()
        for n, kill in enumerate(plan.kills):
            chaos_args = [*argv, *_knob_args(knobs, False)]
            runs.append(run_cli(launcher, chaos_args, env, "chaos", options.run_timeout, kill, jira))
            if plan.switch_zone and n == 0:
                jira.set_time_zone(account, plan.switch_zone)
        editor.stop()
        settled_ms = _settle_point(jira, source_lag_s)
        jira.set_faults(**CALM_FAULTS)
        converge_args = [*argv, *_knob_args(knobs, True)]
        if "--deletion-sweep-minutes" in flags:  # while under chaos the audit log finds deletions (the
            converge_args += ["--deletion-sweep-minutes", "0"]  # default cadence); moves need the sweep
        result.converged = _converge(launcher, jira, converge_args, env, settled_ms, options, runs)
        result.found = compare(read_warehouse(folder), jira.ground_truth(), scope)
        truth = jira.ground_truth()
        result.found["children_off"] = compare_children(read_children(folder), expected_children(jira, truth, scope))
        if options.recheck_minutes and any(result.found.values()):  # lost for good, or only late?
            jira.set_faults(clock_offset_ms=jira.app.faults.config.clock_offset_ms + options.recheck_minutes * 60_000)
            for _ in range(2):
                runs.append(run_cli(launcher, converge_args, env, "recheck", options.converge_timeout, None, jira))
            result.recheck = compare(read_warehouse(folder), jira.ground_truth(), scope)
            result.recheck["children_off"] = compare_children(
                read_children(folder), expected_children(jira, jira.ground_truth(), scope)
            )
    except Exception as e:  # a broken trial is reported, not fatal to the bench
        result.error = f"{type(e).__name__}: {e}"
        with contextlib.suppress(Exception):
            editor.stop()
    finally:
        result.edits = dict(editor.counts)
        result.history = editor.history
        result.faulted = dict(Counter(r["fault"] for r in jira.request_log()["requests"] if r.get("fault")))
        jira.stop()
        launcher.close()
        result.seconds = time.monotonic() - began
        problems = any(result.found[n] for n in COUNTS) or not result.converged or result.error
        if options.keep and problems:
            result.folder = str(folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def _settle_point(jira: FakeJira, source_lag_s: int) -> int:
    """Jira time (ms) from which a run sees every edit made so far: past the minute of the last edit (JQL
    reads minutes) plus the source's search lag, plus a second for the Date header's whole seconds."""
    now_ms = jira.site.now_ms()
    return (now_ms // 60_000 + 1) * 60_000 + source_lag_s * 1000 + 1000


def _converge(
    launcher: Any,
    jira: FakeJira,
    args: list[str],
    env: dict[str, str],
    settled_ms: int,
    options: Options,
    runs: list[RunOutcome],
) -> bool:
    """Runs until two in a row SUCCEED with nothing new, both started once Jira's clock is past `settled_ms`
    (at most `options.converge_runs` of those, plus one catch-up run when there is time to wait anyway)."""
    if options.settle == "jump":
        wait_ms = settled_ms - jira.site.now_ms()
        if wait_ms > 0:
            jira.set_faults(clock_offset_ms=jira.app.faults.config.clock_offset_ms + wait_ms)
    elif settled_ms - jira.site.now_ms() > 1500 * typical_run_seconds():
        runs.append(run_cli(launcher, args, env, "converge", options.converge_timeout, None, jira))
    quiet = 0
    for _ in range(options.converge_runs):
        wait_ms = settled_ms - jira.site.now_ms()
        if wait_ms > 0:
            time.sleep(wait_ms / 1000)
        outcome = run_cli(launcher, args, env, "converge", options.converge_timeout, None, jira)
        runs.append(outcome)
        settled = outcome.started_jira_ms >= settled_ms
        quiet = quiet + 1 if settled and outcome.status == "SUCCEEDED" and outcome.changed == 0 else 0
        if quiet == 2:
            return True
    return False


# --- reporting -----------------------------------------------------------------------------------------


def trial_line(index: int, total: int, r: TrialResult) -> str:
    p = r.plan
    kills = sum(o.status == "killed" for o in r.runs)
    timeouts = sum(o.status == "timeout" for o in r.runs)
    zone = p.time_zone + (f"->{p.switch_zone}" if p.switch_zone else "")
    counts = " ".join(f"{name}={n}" for name, n in r.counts.items())
    flags = "" if r.converged else " NOT-CONVERGED"
    statuses = " ".join(f"{o.status[:4]}:{o.seconds:.0f}s" for o in r.runs)
    return (
        f"[{index:>3}/{total}] seed {p.seed} issues {p.issues}{' (created)' if r.fresh_site else ''} "
        f"scope {'jql:' if p.use_jql else ''}{','.join(p.projects)} tz {zone} "
        f"clock {p.clock} {describe_offset(r.offset_ms)} faults {','.join(p.fault_kinds) or '-'} "
        f"edits {sum(r.edits.values())} runs {len(r.runs)} [{statuses}] kills {kills} timeouts {timeouts} "
        f"| {counts}{flags} | {r.seconds:.1f}s" + (f"\n    error: {r.error}" if r.error else "")
    )


def problem_lines(r: TrialResult) -> Iterator[str]:
    for name in COUNTS:
        for iid, key, what in r.found[name][:10]:
            story = " ".join(r.history.get(iid, [])[-6:]) or "no edits"
            yield f"    {COUNT_LABELS[name]}: {key} (id {iid}): {what}; edits: {story}"
    for o in r.runs:
        if o.detail:
            yield f"    run {o.phase} {o.status}: {o.detail}"
    if r.recheck is not None:
        again = " ".join(f"{name}={len(r.recheck[name])}" for name in COUNTS)
        yield f"    after Jira's clock moved {Options.recheck_minutes} min on and two more runs: {again}"
    if r.folder:
        yield f"    warehouse kept in {r.folder}"


def summary_lines(results: list[TrialResult], seconds: float, parallel: int) -> list[str]:
    runs = [o for r in results for o in r.runs]
    kinds: Counter[str] = Counter(k for r in results for k in r.plan.fault_kinds)
    answers: Counter[str] = Counter()
    for r in results:
        answers.update(r.faulted)
    clocks = Counter(r.plan.clock for r in results)
    totals = {name: sum(r.counts[name] for r in results) for name in COUNTS}
    per_trial = sum(r.seconds for r in results) / max(1, len(results))
    missing = [flag for flag in KNOBS if flag not in cli_flags()]
    return [
        "",
        f"trials: {len(results)} in {seconds / 60:.1f} min, {per_trial:.1f} s per trial "
        f"({seconds / max(1, len(results)):.1f} s wall per trial, {parallel} at a time)",
        "faults by kind (trials): " + ", ".join(f"{k} {kinds[k]}" for k in FAULT_KINDS),
        "faulted answers: " + (", ".join(f"{k} {n}" for k, n in sorted(answers.items())) or "none"),
        "clocks (trials): " + ", ".join(f"{k} {n}" for k, n in sorted(clocks.items())),
        f"runs: {len(runs)} (under faults {sum(o.phase == 'chaos' for o in runs)}, converging "
        f"{sum(o.phase == 'converge' for o in runs)}); kills: {sum(o.status == 'killed' for o in runs)}; "
        f"timeouts: {sum(o.status == 'timeout' for o in runs)}; statuses: "
        + ", ".join(f"{s} {n}" for s, n in sorted(Counter(o.status for o in runs).items())),
        f"not converged: {sum(not r.converged for r in results)}; trial errors: {sum(bool(r.error) for r in results)}; "
        f"trials whose findings were gone {Options.recheck_minutes} min later (by Jira's clock): "
        f"{sum(r.recheck is not None and not any(r.recheck.values()) for r in results)}"
        + (f"; knobs the CLI lacks (skipped): {' '.join(missing)}" if missing else ""),
        "  ".join(f"{COUNT_LABELS[name]}: {totals[name]}" for name in COUNTS),
    ]


def failed(results: list[TrialResult]) -> bool:
    return any(any(r.counts.values()) or not r.converged or r.error for r in results)


def trial_seeds(seed: int, trials: int) -> list[int]:
    return [seed * 10_000 + i for i in range(1, trials + 1)]


def run_trials(
    seeds: Sequence[int], options: Options, parallel: int = 1, echo: Any = print
) -> list[TrialResult]:
    """Run the trials (`parallel` at a time, each in its own process when more than one) and print a line
    per trial as it ends."""
    results: list[TrialResult] = []

    def report(result: TrialResult) -> None:
        results.append(result)
        echo(trial_line(len(results), len(seeds), result))
        for line in problem_lines(result):
            echo(line)

    if parallel <= 1:
        for seed in seeds:
            report(run_trial(seed, options))
        return results
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(parallel, mp_context=context) as pool:
        for future in concurrent.futures.as_completed([pool.submit(run_trial, s, options) for s in seeds]):
            report(future.result())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="trial n has seed SEED*10000+n")
    parser.add_argument("--replay", type=int, nargs="+", metavar="TRIAL_SEED", help="run these trials only")
    parser.add_argument("--parallel", type=int, default=2, help="trials at a time (each its own process)")
    parser.add_argument("--settle", choices=("jump", "wait"), default="jump")
    parser.add_argument("--launcher", choices=("fork", "exec"), default="fork")
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run-timeout", type=float, default=60.0, help="seconds before a run is killed")
    parser.add_argument("--converge-runs", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep warehouses of trials that found something")
    args = parser.parse_args(argv)
    if args.zygote:
        zygote()
        return 0
    options = Options(args.settle, args.launcher, args.run_timeout, converge_runs=args.converge_runs, keep=args.keep)
    seeds = args.replay or trial_seeds(args.seed, args.trials)
    flags = cli_flags()
    print(f"chaos: {len(seeds)} trials, CLI {' '.join(cli_command())}, knobs "
          f"{' '.join(f for f in KNOBS if f in flags) or 'none'}, settle {args.settle}, launcher {args.launcher}",
          flush=True)  # fmt: skip
    began = time.monotonic()
    results = run_trials(seeds, options, args.parallel, functools.partial(print, flush=True))
    for line in summary_lines(results, time.monotonic() - began, args.parallel):
        print(line)
    return 1 if failed(results) else 0


if __name__ == "__main__":
    sys.exit(main())
