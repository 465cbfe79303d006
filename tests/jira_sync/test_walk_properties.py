"""The window walk's rule, proven at random (Hypothesis): the real sync against the emulator over real HTTP and
a real Snowpark session on the embedded warehouse.

Each example builds a small site, then runs syncs while Jira changes under them: updates, creates, deletes and
moves (between projects, in and out of the source's scope) land before any chosen request (between pages,
between listing and fetch) or while a page is being served; the search index lags below or above the source's
search lag; page and batch sizes go down to 1; a run may die before any request to Jira or any warehouse
statement. After every checkpoint the rule must hold:

    every issue in scope whose latest update happened before the watermark is stored at that version or newer;

and once Jira is quiet and the index has caught up, one more run makes the tables equal Jira's ground truth.

`HYPOTHESIS_PROFILE=thorough` runs many more examples (see tests/conftest.py); the suite runs a few dozen.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snowflake.snowpark import Session

from fakejira import FakeJira
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.entities import ISSUES_ONLY
from jira_sync.jira import JiraClient
from jira_sync.model import parse_jira_timestamp
from jira_sync.sync import sync_source
from jira_sync.warehouse import Warehouse

PROJECTS = ("ENG", "OPS", "DATA", "SUP", "MKT")
NOP_REGEXES = [r"select system\$cancel_all_queries"]


class Killed(BaseException):
    """The sync process dies here (not an Exception: nothing in the sync may catch it)."""


@dataclass(frozen=True)
class Edit:
    kind: str  # update, create, delete, move
    pick: int  # which live issue (modulo their number)
    project: str


@dataclass(frozen=True)
class Run:
    edits_before_request: dict[int, tuple[Edit, ...]]  # Jira request number -> edits made just before it
    edits_in_page: tuple[Edit, ...]  # made while the first pages are served (after computing, before sending)
    kill_before_request: int | None
    kill_before_statement: int | None


edits = st.builds(
    Edit,
    kind=st.sampled_from(["update", "update", "create", "delete", "move"]),
    pick=st.integers(0, 10_000),
    project=st.sampled_from(PROJECTS),
)
runs = st.builds(
    Run,
    edits_before_request=st.dictionaries(
        st.integers(1, 12), st.lists(edits, max_size=3).map(tuple), max_size=4
    ),
    edits_in_page=st.lists(edits, max_size=3).map(tuple),
    kill_before_request=st.none() | st.integers(1, 14),
    kill_before_statement=st.none() | st.integers(1, 30),
)


@dataclass
class Chaos:
    """The current run's schedule of edits and deaths, applied from the client's and the warehouse's side."""

    jira: FakeJira
    run: Run | None = None
    requests: int = 0
    statements: int = 0
    checking: bool = False
    log: list[str] = field(default_factory=list)

    def before_request(self) -> None:
        if self.run is None:
            return
        self.requests += 1
        for edit in self.run.edits_before_request.get(self.requests, ()):
            apply(self.jira, edit, self.log)
        if self.run.kill_before_request == self.requests:
            raise Killed(f"killed before Jira request {self.requests}")

    def before_statement(self) -> None:
        if self.run is None or self.checking:
            return
        self.statements += 1
        if self.run.kill_before_statement == self.statements:
            raise Killed(f"killed before warehouse statement {self.statements}")


def apply(jira: FakeJira, edit: Edit, log: list[str]) -> None:
    live = sorted((i for i in jira.ground_truth() if not i["deleted"]), key=lambda i: int(i["id"]))
    if edit.kind == "create" or not live:
        created = jira.create_issue(edit.project, {"summary": "created mid-run"})
        log.append(f"create {created['key']}")
        return
    target = live[edit.pick % len(live)]
    if edit.kind == "update":
        jira.update_issue(target["key"], {"summary": f"edit {uuid.uuid4().hex[:6]}"})
    elif edit.kind == "delete":
        jira.delete_issue(target["key"])
    elif edit.project != target["project"]:
        jira.move_issue(target["key"], edit.project)
    log.append(f"{edit.kind} {target['key']}")


class CheckedWarehouse(Warehouse):
    """The real warehouse, which may die before any statement and checks the rule after every checkpoint."""

    chaos: Chaos
    scope: tuple[str, ...]

    def _sql(self, sql: str, params: Any = None) -> list[Any]:
        self.chaos.before_statement()
        return super()._sql(sql, params)

    def _checkpoint(self, source: str, *args: Any, **kwargs: Any) -> None:
        super()._checkpoint(source, *args, **kwargs)
        self.chaos.checking = True
        try:
            assert_rule(self, self.chaos.jira, source, self.scope, self.chaos.log)
        finally:
            self.chaos.checking = False


def in_scope(jira: FakeJira, scope: tuple[str, ...]) -> dict[int, datetime]:
    return {
        int(i["id"]): parse_jira_timestamp(i["updated"])
        for i in jira.ground_truth()
        if not i["deleted"] and i["project"] in scope
    }


def assert_rule(
    warehouse: Warehouse, jira: FakeJira, source: str, scope: tuple[str, ...], log: list[str]
) -> None:
    state = warehouse.read_state(source)
    if state is None or state.watermark is None or state.backfill_jql:
        return
    stored = {r["ID"]: r for r in warehouse.read_issues(source)}
    for issue_id, updated in in_scope(jira, scope).items():
        if updated < state.watermark:
            row = stored.get(issue_id)
            assert row is not None and not row["IS_DELETED"] and row["UPDATED"] >= updated, (
                f"issue {issue_id} (updated {updated}) is before the watermark {state.watermark} but stored as "
                f"{row and (row['UPDATED'], row['IS_DELETED'])}; edits so far: {log}"
            )


@contextmanager
def session_on(conn_kwargs: dict[str, Any]) -> Iterator[Session]:
    params = {
        **conn_kwargs["session_parameters"],
        "nop_regexes": NOP_REGEXES,
        "FAKESNOW_DB_PATH": ":isolated:",
    }
    config = {
        **conn_kwargs,
        "server_session_keep_alive": True,
        "database": f"PROP_{uuid.uuid4().hex[:12].upper()}",
        "schema": "SYNC",
        "session_parameters": params,
    }
    session = Session.builder.configs(config).create()
    try:
        yield session
    finally:
        session.close()


@contextmanager
def requests_hooked(hook: Callable[[], None]) -> Iterator[None]:
    """Call `hook` before every request a JiraClient sends (the sync builds its own client)."""
    original = JiraClient._send_once

    def send_once(self: JiraClient, *args: Any, **kwargs: Any) -> Any:
        hook()
        return original(self, *args, **kwargs)

    JiraClient._send_once = send_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        JiraClient._send_once = original  # type: ignore[method-assign]


@settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    issues=st.integers(3, 40),
    seed=st.integers(0, 1_000),
    scope=st.lists(st.sampled_from(PROJECTS), min_size=1, max_size=3, unique=True).map(tuple),
    page_size=st.integers(1, 30),
    batch_size=st.integers(1, 12),
    overlap_minutes=st.sampled_from([0, 5]),
    search_lag_s=st.sampled_from([0, 60]),
    index_lag_ms=st.sampled_from([0, 30_000, 200_000]),
    schedule=st.lists(runs, min_size=1, max_size=3),
)
def test_the_rule_holds_after_every_checkpoint_and_the_tables_converge(
    fakesnow_conn_kwargs: dict[str, Any],
    issues: int,
    seed: int,
    scope: tuple[str, ...],
    page_size: int,
    batch_size: int,
    overlap_minutes: int,
    search_lag_s: int,
    index_lag_ms: int,
    schedule: list[Run],
) -> None:
    with (
        FakeJira(issues=issues, seed=seed, search_lag_ms=index_lag_ms) as jira,
        session_on(fakesnow_conn_kwargs) as session,
    ):
        config = SourceConfig(
            name="prop",
            site_url=jira.url,
            email=jira.email,
            projects=tuple(sorted(scope)),
            page_size=page_size,
            batch_size=batch_size,
            workers=1,  # one request at a time: "before request N" means the same moment on every replay
            overlap=timedelta(minutes=overlap_minutes),
            search_lag=timedelta(seconds=search_lag_s),
            entities=ISSUES_ONLY,
            deletion_sweep=timedelta(0),  # departures checked on every run
        )
        chaos = Chaos(jira)
        warehouse = CheckedWarehouse(session)
        warehouse.chaos, warehouse.scope = chaos, config.projects
        warehouse.ensure_tables()
        warehouse.upsert_source(config)
        credentials = static_credentials(jira.token, jira.email)
        fast = {"backoff_seconds": 0.001, "max_retry_seconds": 5}

        def on_page(_page: dict[str, Any]) -> None:
            if chaos.run is not None and chaos.run.edits_in_page:
                edit, *rest = chaos.run.edits_in_page
                chaos.run = Run(
                    chaos.run.edits_before_request,
                    tuple(rest),
                    chaos.run.kill_before_request,
                    chaos.run.kill_before_statement,
                )
                apply(jira, edit, chaos.log)

        jira.on_search_page(on_page)
        with requests_hooked(chaos.before_request):
            for run in schedule:
                chaos.run, chaos.requests, chaos.statements = run, 0, 0
                with suppress(Killed):
                    sync_source(warehouse, config, credentials, client_options=fast)
                chaos.run = None
        jira.clear_search_hooks()

        # Jira goes quiet and its index catches up: one run (whose window reaches now) brings everything.
        jira.set_faults(search_lag_ms=0)
        caught_up = dataclasses.replace(config, search_lag=timedelta(0))
        final = sync_source(warehouse, caught_up, credentials, client_options=fast)
        assert final.status == "SUCCEEDED", final.error
        stored = {r["ID"]: r for r in warehouse.read_issues("prop")}
        live = {i: r["UPDATED"] for i, r in stored.items() if not r["IS_DELETED"]}
        assert live == in_scope(jira, config.projects), f"edits: {chaos.log}"
        assert len(stored) == len(set(stored)), "duplicate rows"
        assert not [r for r in warehouse.recent_runs("prop", limit=100) if r.status == "RUNNING"]
