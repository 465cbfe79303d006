"""`jira-sync check --connection NAME` against a fake account: the real command in a subprocess, its
connection from a Snowflake config (SNOWFLAKE_HOME), the account a recording fakesnow server that answers the
check's SHOW / DESCRIBE / INFORMATION_SCHEMA statements with Snowflake's documented columns (fake_account.py),
and the Jira side the emulator. Each broken deployment gets its one FIX line and exit 1; a sound one exit 0.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_account import DATABASE, ROLE, SCHEMA, Deployment, default_grants
from recording import RecordingAccount, recording_account, write_snow_config
from snippets import ROOT, SNOWFLAKE_YML

from fakejira import FakeJira
from jira_sync import cli, deployment_check
from jira_sync.deployment_check import check_deployment

CLI = Path(sys.executable).with_name("jira-sync")
TOKEN_ENV = "JIRA_SYNC_CHECK_TOKEN"
CONNECTION = "acme"
TASK = f"{DATABASE}.{SCHEMA}.SYNC_JIRA_TASK"


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=12, seed=2) as server:
        yield server


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RecordingAccount, Path]]:
    """One fake account for the module (each test sets what it holds) and a SNOWFLAKE_HOME naming it."""
    with recording_account() as (recorder, kwargs):
        home = tmp_path_factory.mktemp("snowflake_home")
        write_snow_config(home, kwargs, name=CONNECTION)
        yield recorder, home


def site_host(jira: FakeJira) -> str:
    return jira.url.removeprefix("http://")


def check(
    jira: FakeJira, account: tuple[RecordingAccount, Path], deployment: Deployment, connection: str = CONNECTION
) -> tuple[int, list[str], str]:
    """(exit code, the check's snowflake lines, stderr) of `jira-sync check --connection acme`."""
    recorder, home = account
    recorder.answer = deployment.answer
    argv = [str(CLI), "check", "--site", jira.url, "--email", jira.email, "--token-env", TOKEN_ENV,
            "--project", jira.ground_truth()[0]["project"], "--connection", connection]  # fmt: skip
    env = {**os.environ, TOKEN_ENV: jira.token, "SNOWFLAKE_HOME": str(home)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("account:"), done.stdout  # the Jira side is checked as before
    return done.returncode, [line for line in done.stdout.splitlines() if line.startswith("snowflake:")], done.stderr


def sound(jira: FakeJira, **changes: Any) -> Deployment:
    """The deployment the setup leaves for the emulator's site and account, with `changes`."""
    return Deployment(**{"site_host": site_host(jira), "email": jira.email, **changes})


def fixes(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("snowflake: FIX")]


def test_a_sound_deployment_passes_every_check(jira: FakeJira, account: tuple[RecordingAccount, Path]) -> None:
    code, lines, stderr = check(jira, account, sound(jira))
    assert code == 0, stderr
    assert not fixes(lines) and stderr == ""
    subjects = [re.sub(r"^snowflake: ok\s+", "", line).split(":")[0] for line in lines]
    assert subjects == [
        "connection",
        f"procedure {DATABASE}.{SCHEMA}.SYNC_JIRA(VARCHAR, BOOLEAN)",
        "integration JIRA_SYNC_ACCESS",
        f"secret {DATABASE}.{SCHEMA}.JIRA_CREDENTIALS",
        f"network rule {DATABASE}.{SCHEMA}.JIRA_SYNC_EGRESS",
        f"task {TASK}",
        f"grants of role {ROLE}",
    ]
    assert f"allows {site_host(jira)}" in lines[4] and "started (USING CRON */15 * * * * UTC)" in lines[5]


def without(*grants: tuple[str, str, str]) -> set[tuple[str, str, str]]:
    return default_grants() - set(grants)


BROKEN = {
    "integration missing": (
        {"integration": False, "grants": without(("USAGE", "INTEGRATION", "JIRA_SYNC_ACCESS"))},
        "integration JIRA_SYNC_ACCESS: not found, or role JIRA_SYNC_ROLE has no USAGE on it: an admin runs "
        "sql/setup.sql (README step 2), which creates it and grants USAGE ON INTEGRATION JIRA_SYNC_ACCESS TO "
        "ROLE JIRA_SYNC_ROLE",
    ),
    "network rule for another host": (
        {"rule_values": ("acme.atlassian.net:443",)},
        "network rule JIRA_SYNC.JIRA.JIRA_SYNC_EGRESS: allows acme.atlassian.net:443, not the site's {host}: "
        'rerun sql/setup.sql with -D "jira_host=127.0.0.1" (ALTER NETWORK RULE JIRA_SYNC.JIRA.JIRA_SYNC_EGRESS '
        "SET VALUE_LIST = ('{host}'))",
    ),
    "task suspended": (
        {"task_state": "suspended", "task_suspended_reason": "SUSPENDED_DUE_TO_ERRORS"},
        f"task {TASK}: is suspended (SUSPENDED_DUE_TO_ERRORS), so nothing syncs: find why in JIRA_SYNC_STATUS "
        f"(LAST_ERROR_MESSAGE) and JIRA_SYNC_RUNS, fix it, then ALTER TASK {TASK} RESUME",
    ),
    "no OPERATE on the task": (
        {"grants": without(("OWNERSHIP", "TASK", TASK)) | {("MONITOR", "TASK", TASK)}},
        f"grants of role JIRA_SYNC_ROLE: lacks OPERATE on TASK {TASK} (to resume and suspend the task): "
        f"GRANT OPERATE ON TASK {TASK} TO ROLE JIRA_SYNC_ROLE",
    ),
}
SECRET = f"{DATABASE}.{SCHEMA}.JIRA_CREDENTIALS"
MORE_BROKEN = {  # checked in process: the command's part is the same as above
    "no READ on the secret": (
        {"grants": without(("OWNERSHIP", "SECRET", SECRET)) | {("USAGE", "SECRET", SECRET)}},
        f"grants of role JIRA_SYNC_ROLE: lacks READ on SECRET {SECRET} (for the procedure to read the Jira token): "
        f"GRANT READ ON SECRET {SECRET} TO ROLE JIRA_SYNC_ROLE",
    ),
    "integration disabled": (
        {"integration_enabled": False},
        "integration JIRA_SYNC_ACCESS: is disabled: ALTER EXTERNAL ACCESS INTEGRATION JIRA_SYNC_ACCESS SET ENABLED = "
        "TRUE",
    ),
    "secret of another account": (
        {"email": "someone@else.com"},
        f"secret {SECRET}: holds the username someone@else.com, not {{email}}: ALTER SECRET {SECRET} SET USERNAME = "
        "'{email}' (or rerun sql/setup.sql with -D \"jira_email={email}\")",
    ),
    "no procedure": (
        {"procedure": False, "grants": without(("OWNERSHIP", "PROCEDURE", f'{DATABASE}.{SCHEMA}."SYNC_JIRA'
                                                f'(SOURCE VARCHAR, FULL_REFRESH BOOLEAN):VARIANT"'))},
        f"procedure {DATABASE}.{SCHEMA}.SYNC_JIRA: not found (or role JIRA_SYNC_ROLE may not see it): deploy it as "
        "README step 3 says (python -m jira_sync.artifact; snow snowpark build; snow snowpark deploy --replace "
        "--role JIRA_SYNC_ROLE)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_broken_deployment_gets_its_one_fix_line_and_exit_1(
    jira: FakeJira, account: tuple[RecordingAccount, Path], case: str
) -> None:
    changes, expected = BROKEN[case]
    code, lines, stderr = check(jira, account, sound(jira, **changes))
    assert code == 1
    assert fixes(lines) == ["snowflake: FIX  " + expected.format(host=site_host(jira))]
    assert stderr.splitlines() == [
        "Error: 1 thing to fix in the Snowflake deployment (the FIX lines above say how); then run jira-sync "
        "check again"
    ]


def test_a_connection_that_fails_is_one_line_and_exit_1(
    jira: FakeJira, account: tuple[RecordingAccount, Path]
) -> None:
    code, lines, stderr = check(jira, account, sound(jira), connection="nope")
    assert code == 1 and lines == []
    (line,) = stderr.splitlines()
    assert line.startswith("Error: cannot connect with the connection 'nope': ")
    assert line.endswith("check it in connections.toml (snow connection test -c NAME)")


def rows_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """A canned answer as the CLI's query function returns it (rows keyed by lower-case column names)."""
    if not answer["success"]:
        raise RuntimeError(answer["message"])
    names = [column["name"].lower() for column in answer["data"]["rowtype"]]
    return [dict(zip(names, row, strict=True)) for row in answer["data"]["rowset"]]


@pytest.mark.parametrize("case", list(MORE_BROKEN))
def test_more_broken_deployments_get_their_fix_line(jira: FakeJira, case: str) -> None:
    changes, expected = MORE_BROKEN[case]
    deployment = sound(jira, **changes)
    findings = check_deployment(lambda sql: rows_of(deployment.answer(sql) or {}), jira.url, jira.email)
    assert [f"{f.subject}: {f.message}" for f in findings if not f.ok] == [expected.format(email=jira.email)]


def test_grants_held_through_an_inherited_role_count(jira: FakeJira) -> None:
    """USAGE on the integration granted to a role the current role inherits is USAGE all the same."""
    deployment = sound(jira, grants=without(("USAGE", "INTEGRATION", "JIRA_SYNC_ACCESS")))

    def answer(sql: str) -> list[dict[str, Any]]:
        if sql.lower() == "show grants to role jira_sync_role":
            return [*rows_of(deployment.answer(sql)), {"privilege": "USAGE", "granted_on": "ROLE", "name": "EGRESS"}]
        if sql.lower() == "show grants to role egress":
            return [{"privilege": "USAGE", "granted_on": "INTEGRATION", "name": "JIRA_SYNC_ACCESS"}]
        canned = deployment.answer(sql)
        assert canned is not None, sql
        return rows_of(canned)

    findings = check_deployment(answer, jira.url, jira.email)
    assert [f.line() for f in findings if not f.ok] == []
    deployment.grants = without(("USAGE", "INTEGRATION", "JIRA_SYNC_ACCESS"))
    alone = check_deployment(lambda sql: rows_of(deployment.answer(sql) or {}), jira.url, jira.email)
    assert [f.message.split(":")[0] for f in alone if not f.ok] == [
        "lacks USAGE on INTEGRATION JIRA_SYNC_ACCESS (to deploy the procedures with it)"
    ]


def test_a_network_rule_value_without_a_port_means_443() -> None:
    allows = deployment_check._allows
    assert allows("acme.atlassian.net", "acme.atlassian.net", 443)
    assert not allows("acme.atlassian.net", "acme.atlassian.net", 8443)
    assert allows("API.atlassian.com:443", "api.atlassian.com", 443)
    assert not allows("api.atlassian.com:443", "acme.atlassian.net", 443)


def test_the_names_checked_are_those_the_setup_creates() -> None:
    """The check looks for what sql/setup.sql, sql/task.sql and snowflake.yml make, under the same names."""
    setup = (ROOT / "sql" / "setup.sql").read_text()
    task = (ROOT / "sql" / "task.sql").read_text()
    env = yaml.safe_load(SNOWFLAKE_YML.read_text())["env"]
    assert f"CREATE NETWORK RULE IF NOT EXISTS {deployment_check.NETWORK_RULE}\n" in setup
    assert f"CREATE SECRET IF NOT EXISTS {deployment_check.SECRET}\n" in setup
    assert f"CREATE EXTERNAL ACCESS INTEGRATION IF NOT EXISTS {deployment_check.INTEGRATION}\n" in setup
    assert f"CREATE OR ALTER TASK {deployment_check.TASK}\n" in task
    assert cli.TASK_NAME == deployment_check.TASK  # what `jira-sync status` reads the next run of
    assert f".{deployment_check.PROCEDURE}(source => " in task
    assert (env["integration"], env["secret"]) == (deployment_check.INTEGRATION, deployment_check.SECRET)
    assert (env["database"], env["schema"]) == (deployment_check.DEFAULT_DATABASE, deployment_check.DEFAULT_SCHEMA)
    assert f"{deployment_check.SECRET_ALIAS}:" in SNOWFLAKE_YML.read_text()
