"""The deployable project: snowflake.yml validates and builds offline, and every SQL file parses as Snowflake."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlglot
import yaml
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[1]
SNOW = Path(sys.executable).with_name("snow")
SQL_FILES = sorted((ROOT / "sql").glob("*.sql"))
SAMPLE_VARIABLES = {
    "database": "JIRA_SYNC",
    "schema": "JIRA",
    "role": "JIRA_SYNC_ROLE",
    "warehouse": "COMPUTE_WH",
    "admin_user": "ALICE",
    "jira_host": "acme.atlassian.net",
    "jira_email": "bot@acme.com",
    "jira_token": "not-a-real-token",
    "schedule": "USING CRON */15 * * * * UTC",
}
# Snowflake DDL that sqlglot keeps as an opaque command; we check these by their leading words instead.
SNOWFLAKE_ONLY = re.compile(
    r"^(CREATE (OR REPLACE )?(ROLE|NETWORK RULE|SECRET|EXTERNAL ACCESS INTEGRATION|TASK)"
    r"|ALTER (TASK|EXTERNAL ACCESS INTEGRATION)|GRANT (ROLE|OWNERSHIP))\b"
)


def render(path: Path) -> str:
    """Substitute the client-side variables as `snow sql -D name=value` does."""
    text = path.read_text()
    names = set(re.findall(r"<%\s*(\w+)\s*%>", text))
    assert names <= SAMPLE_VARIABLES.keys(), (
        f"{path.name} uses undocumented variables {names - SAMPLE_VARIABLES.keys()}"
    )
    for name in names:
        assert f"{name}=" in text, f'{path.name} does not show how to pass {name} (-D "{name}=...")'
    return re.sub(r"<%\s*(\w+)\s*%>", lambda m: SAMPLE_VARIABLES[m.group(1)], text)


def statements(path: Path) -> list[exp.Expression]:
    parsed = sqlglot.parse(render(path), read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    return [statement for statement in parsed if statement is not None]


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_sql_file_parses_as_snowflake(path: Path) -> None:
    parsed = statements(path)
    assert parsed, f"{path.name} has no statement"
    for statement in parsed:
        if isinstance(statement, exp.Command):
            text = statement.sql("snowflake")
            text = re.sub(r"/\*.*?\*/\s*", "", text, flags=re.S).strip().upper()
            assert SNOWFLAKE_ONLY.match(text), f"unexpected opaque statement in {path.name}: {text[:80]}"


def test_setup_grants_exactly_one_rule_and_secret() -> None:
    text = render(ROOT / "sql" / "setup.sql")
    assert "VALUE_LIST = ('acme.atlassian.net:443')" in text
    integration = re.search(r"CREATE OR REPLACE EXTERNAL ACCESS INTEGRATION.*?;", text, re.S).group(0)
    assert re.search(r"ALLOWED_NETWORK_RULES = \([^,)]+\)", integration)
    assert re.search(r"ALLOWED_AUTHENTICATION_SECRETS = \([^,)]+\)", integration)
    assert "TYPE = PASSWORD" in text
    assert "TYPE = GENERIC_STRING" in render(ROOT / "sql" / "secret_bearer.sql")


def test_task_never_overlaps_suspends_and_times_out() -> None:
    text = render(ROOT / "sql" / "task.sql")
    assert "ALLOW_OVERLAPPING_EXECUTION = FALSE" in text
    assert re.search(r"SUSPEND_TASK_AFTER_NUM_FAILURES = \d+", text)
    assert re.search(r"USER_TASK_TIMEOUT_MS = \d+", text)
    assert "CALL JIRA_SYNC.JIRA.SYNC_JIRA()" in text
    assert re.search(r"ALTER TASK \w+ RESUME", text)


def test_snowflake_yml_names_live_in_env_and_handlers_exist() -> None:
    definition = yaml.safe_load((ROOT / "snowflake.yml").read_text())
    assert str(definition["definition_version"]) == "2"
    assert {"database", "schema", "stage", "integration", "secret"} <= definition["env"].keys()
    import importlib

    for entity in definition["entities"].values():
        assert entity["type"] == "procedure"
        module, _, function = entity["handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), function))
    runtime = (ROOT / "requirements.txt").read_text().split()
    assert {"requests", "tenacity", "snowflake-snowpark-python"} <= set(runtime)


def test_snow_snowpark_build_offline(tmp_path: Path) -> None:
    """`snow snowpark build` validates snowflake.yml against the CLI's own model and zips the code."""
    project = tmp_path / "project"
    shutil.copytree(
        ROOT, project, ignore=shutil.ignore_patterns(".venv", ".git", "*.pyc", "__pycache__", ".jira-sync")
    )
    result = subprocess.run(
        [str(SNOW), "snowpark", "build", "--skip-dependencies"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": str(SNOW.parent), "HOME": str(tmp_path), "SNOWFLAKE_HOME": str(tmp_path / ".snowflake")},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(project / "src.zip") as bundle:
        names = set(bundle.namelist())
    assert "jira_sync/procedure.py" in names
    assert "jira_sync/jira/client.py" in names
