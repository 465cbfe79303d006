"""Bad input gets one clear error that says what to fix, lands in the run log, and changes nothing else.
The credential never shows up anywhere."""

from __future__ import annotations

import logging
import socket
import sys
import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from snowflake.snowpark import Session

from fakejira import FakeJira
from jira_sync import procedure
from jira_sync.config import SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.sync import SyncError, run_sync
from jira_sync.warehouse import Warehouse

SECRET = "s3cr3t-Tok3n-never-shown"


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=60, seed=3) as emulator:
        yield emulator


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def everything_stored(session: Session) -> list[Any]:
    """Tables and state as a comparable snapshot."""
    issues = session.sql("SELECT SOURCE, ID, UPDATED FROM JIRA_ISSUES ORDER BY 1, 2").collect()
    state = session.sql("SELECT * FROM JIRA_SYNC_STATE ORDER BY 1").collect()
    return [tuple(r) for r in issues] + [tuple(r) for r in state]


def assert_secret_absent(session: Session, *texts: str) -> None:
    for text in texts:
        assert SECRET not in text
    for table in ("JIRA_ISSUES", "JIRA_SYNC_STATE", "JIRA_SYNC_RUNS", "JIRA_SOURCES"):
        for row in session.sql(f"SELECT * FROM {table}").collect():
            assert SECRET not in repr(tuple(row)), f"the token leaked into {table}"


@pytest.fixture
def loaded(snowpark_session: Session, jira: FakeJira) -> Warehouse:
    """A warehouse with one good source, already loaded once."""
    warehouse = Warehouse(snowpark_session)
    warehouse.ensure_tables()
    warehouse.upsert_source(
        SourceConfig(
            name="good", site_url=jira.url, projects=("ENG",), email=jira.email, search_lag=timedelta(0)
        )
    )
    summary = run_sync(warehouse, static_credentials(jira.token, jira.email), source="good")
    assert summary["status"] == "SUCCEEDED", summary
    return warehouse


def failing_run(warehouse: Warehouse, source: SourceConfig, token: str, email: str | None) -> dict[str, Any]:
    warehouse.upsert_source(source)
    before = everything_stored(warehouse.session)
    summary = run_sync(
        warehouse,
        static_credentials(token, email),
        source=source.name,
        client_options={"max_attempts": 2, "max_retry_seconds": 3, "timeout": 5},
    )
    result = summary["sources"][0]
    assert result["status"] == "FAILED"
    assert everything_stored(warehouse.session) == before, "a failed run changed tables or state"
    logged = warehouse.session.sql(
        "SELECT STATUS, ERROR_MESSAGE FROM JIRA_SYNC_RUNS WHERE RUN_ID = ?", params=[result["run_id"]]
    ).collect()
    assert [(r["STATUS"], r["ERROR_MESSAGE"]) for r in logged] == [("FAILED", result["error"])]
    assert_secret_absent(warehouse.session, result["error"], repr(summary))
    return result


def test_bad_jql_names_the_problem(loaded: Warehouse, jira: FakeJira) -> None:
    source = SourceConfig(
        name="bad-jql", site_url=jira.url, jql="project = ENG AND status === Done", email=jira.email
    )
    error = failing_run(loaded, source, jira.token, jira.email)["error"]
    assert "JQL" in error and "status === Done" in error


def test_wrong_token_says_check_the_credentials(loaded: Warehouse, jira: FakeJira) -> None:
    source = SourceConfig(name="wrong-token", site_url=jira.url, projects=("ENG",), email=jira.email)
    error = failing_run(loaded, source, SECRET, jira.email)["error"]
    assert "401" in error and "token" in error.lower()


def test_missing_permission_says_which(loaded: Warehouse, jira: FakeJira) -> None:
    limited = jira.add_account(email="limited@example.com", token=SECRET, admin=False, projects=["OPS"])
    source = SourceConfig(name="no-access", site_url=jira.url, jql="project = ENG", email=limited.email)
    error = failing_run(loaded, source, SECRET, limited.email)["error"]
    assert "ENG" in error


def test_unreachable_site_says_check_the_url_and_network_rule(loaded: Warehouse, jira: FakeJira) -> None:
    source = SourceConfig(
        name="nowhere", site_url=f"http://127.0.0.1:{unused_port()}", projects=("ENG",), email=jira.email
    )
    error = failing_run(loaded, source, jira.token, jira.email)["error"]
    assert "127.0.0.1" in error and "network rule" in error.lower()


def test_unknown_site_path_is_a_clear_404(loaded: Warehouse, jira: FakeJira) -> None:
    source = SourceConfig(name="wrong-path", site_url=f"{jira.url}/wiki", projects=("ENG",), email=jira.email)
    error = failing_run(loaded, source, jira.token, jira.email)["error"]
    assert "404" in error and "site" in error.lower()


def test_a_server_that_is_not_jira_gives_a_malformed_response_error(
    loaded: Warehouse, jira: FakeJira, fakesnow_conn_kwargs: dict[str, Any]
) -> None:
    not_jira = f"http://127.0.0.1:{fakesnow_conn_kwargs['port']}"
    source = SourceConfig(name="not-jira", site_url=not_jira, projects=("ENG",), email=jira.email)
    failing_run(loaded, source, jira.token, jira.email)


def test_unknown_source_name_is_a_config_error(loaded: Warehouse, jira: FakeJira) -> None:
    with pytest.raises(ValueError, match="No Jira source named 'nope'"):
        run_sync(loaded, static_credentials(jira.token, jira.email), source="nope")


def test_broken_config_row_is_rejected_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="site URL"):
        SourceConfig(name="x", site_url="acme.atlassian.net", projects=("ENG",))
    with pytest.raises(ValueError, match="JQL query or at least one project"):
        SourceConfig(name="x", site_url="https://acme.atlassian.net")
    with pytest.raises(ValueError, match="project key"):
        SourceConfig(name="x", site_url="https://acme.atlassian.net", projects=("eng; drop table",))


@pytest.fixture
def fake_snowflake_module(monkeypatch: pytest.MonkeyPatch, jira: FakeJira) -> types.ModuleType:
    """`_snowflake` exists only inside Snowflake; this stands in for it with the emulator's credential."""
    module = types.ModuleType("_snowflake")
    calls: list[str] = []

    def get_username_password(alias: str) -> Any:
        calls.append(alias)
        if alias != "jira_default":
            raise ValueError(f"no secret bound as {alias}")
        return types.SimpleNamespace(username=jira.email, password=jira.token)

    module.get_username_password = get_username_password  # type: ignore[attr-defined]
    module.get_generic_secret_string = lambda alias: jira.token  # type: ignore[attr-defined]
    module.calls = calls  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "_snowflake", module)
    return module


def test_procedure_reads_the_token_through_the_secret(
    snowpark_session: Session, jira: FakeJira, fake_snowflake_module: types.ModuleType
) -> None:
    saved = procedure.add_jira_source(snowpark_session, "sf", jira.url, projects=["ENG"])
    assert saved["status"] == "SAVED"
    summary = procedure.sync_jira(snowpark_session)
    assert summary["status"] == "SUCCEEDED"
    assert summary["sources"][0]["issues_inserted"] > 0
    assert fake_snowflake_module.calls == ["jira_default"]
    assert jira.token not in repr(summary)


def test_procedure_fails_the_call_when_a_source_fails(
    snowpark_session: Session,
    jira: FakeJira,
    fake_snowflake_module: types.ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The failure reaches the task (the call fails) and the event table (an ERROR through `logging`)."""
    procedure.add_jira_source(snowpark_session, "other", jira.url, projects=["ENG"], secret_alias="unbound")
    with caplog.at_level(logging.WARNING), pytest.raises(SyncError, match="unbound") as failure:
        procedure.sync_jira(snowpark_session, "other")
    assert failure.value.summary["sources"][0]["status"] == "FAILED"
    assert jira.token not in str(failure.value)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "jira_sync.procedure"]
    assert len(errors) == 1 and "source other failed" in errors[0].getMessage()
    assert "unbound" in errors[0].getMessage() and jira.token not in caplog.text


def test_procedure_with_a_bearer_secret(
    snowpark_session: Session, jira: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GENERIC_STRING secret holding a bearer token (scoped token / OAuth): no email anywhere."""
    module = types.ModuleType("_snowflake")
    module.get_generic_secret_string = lambda alias: "bearer-token"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "_snowflake", module)
    procedure.add_jira_source(snowpark_session, "bearer", jira.url, projects=["OPS"], auth="bearer")
    summary = procedure.sync_jira(snowpark_session, "bearer")
    assert summary["sources"][0]["issues_inserted"] > 0
    assert "bearer-token" not in repr(summary)
