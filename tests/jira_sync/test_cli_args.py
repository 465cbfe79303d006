"""`--project` as users type it, through the real CLI (click's CliRunner, in process), and what importing the
CLI costs (in a subprocess: a clean interpreter).

`--project A,B`, `--project A --project B` and both together name the same list on every command that has the
flag; `--project A B` (B left as a stray argument) is refused in one line saying how, before anything runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fakejira import FakeJira
from jira_sync.cli import main

TOKEN_ENV = "JIRA_SYNC_ARGS_TEST_TOKEN"
PROJECT_HINT = "give several projects as --project A,B or --project A --project B"


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=24, seed=5) as emulator:
        yield emulator


@pytest.fixture
def cli(jira: FakeJira, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv(TOKEN_ENV, jira.token)
    return CliRunner(mix_stderr=False)


def projects_of(jira: FakeJira) -> list[str]:
    return sorted({issue["project"] for issue in jira.ground_truth()})


def invoke(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


def source_args(jira: FakeJira) -> list[str]:
    return ["--site", jira.url, "--email", jira.email, "--token-env", TOKEN_ENV]


def test_check_takes_comma_lists_repeated_flags_and_both_combined(cli: CliRunner, jira: FakeJira) -> None:
    first, second, third = projects_of(jira)[:3]
    expected = f'jql:       project in ("{first}", "{second}", "{third}")'
    for forms in (
        ["--project", f"{first},{second},{third}"],
        ["--project", first, "--project", second, "--project", third],
        ["--project", f"{first},{second}", "--project", third],
        ["--project", f"{first}, {second}", "--project", third],  # blanks around a key are dropped
    ):
        result = invoke(cli, "check", *source_args(jira), *forms)
        assert result.exit_code == 0, (forms, result.stderr)
        assert expected in result.stdout, forms


def test_a_space_separated_second_key_is_refused_in_one_line_by_every_command(
    cli: CliRunner, jira: FakeJira, tmp_path: Path
) -> None:
    first, second = projects_of(jira)[:2]
    folder = tmp_path / "wh"
    for command in (["check"], ["run", "--warehouse", f"local:{folder}"]):
        result = invoke(cli, *command, *source_args(jira), "--project", first, second)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"Error: unexpected argument '{second}': {PROJECT_HINT}"
        ]
        assert result.stdout == ""
    assert not folder.exists()  # refused before the warehouse was touched
    stray = invoke(cli, "check", *source_args(jira), "--jql", f"project = {first}", "oops")
    assert stray.exit_code == 2
    assert stray.stderr.strip() == "Error: unexpected argument 'oops': see jira-sync check --help"


def test_each_key_of_a_list_is_validated_as_a_single_key_is(
    cli: CliRunner, jira: FakeJira, tmp_path: Path
) -> None:
    first = projects_of(jira)[0]
    for value in (f"{first},eng", f"{first},"):
        result = invoke(
            cli, "run", *source_args(jira), "--project", value, "--warehouse", f"local:{tmp_path}/wh"
        )
        assert result.exit_code == 2, result.stderr
        assert "is invalid (keys look like ENG or DATA_2" in result.stderr
    assert not (tmp_path / "wh").exists()


def test_run_stores_the_combined_list_and_syncs_those_projects(
    cli: CliRunner, jira: FakeJira, tmp_path: Path
) -> None:
    first, second, third = projects_of(jira)[:3]
    warehouse = f"local:{tmp_path / 'wh'}"
    result = invoke(cli, "run", *source_args(jira), "--project", f"{first},{second}", "--project", third,
                    "--warehouse", warehouse)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (summary,) = json.loads(result.stdout.strip().splitlines()[-1])["sources"]
    wanted = {first, second, third}
    assert summary["issues_inserted"] == sum(1 for i in jira.ground_truth() if i["project"] in wanted)
    stored = invoke(
        cli, "sql", "--warehouse", warehouse, "--format", "json", "select PROJECTS from JIRA_SOURCES"
    )
    assert [json.loads(json.loads(line)["PROJECTS"]) for line in stored.stdout.splitlines()] == [
        [first, second, third]
    ]


def test_entities_take_comma_lists_and_repeats_and_refuse_a_stray_name(
    cli: CliRunner, jira: FakeJira, tmp_path: Path
) -> None:
    """`--entities` follows `--project`'s rule: `A,B` and repetition combine, `A B` is refused in one line,
    and a name that is no entity is refused naming the known ones, before anything is written."""
    warehouse = f"local:{tmp_path / 'wh'}"
    args = [*source_args(jira), "--project", projects_of(jira)[0], "--warehouse", warehouse]
    stray = invoke(cli, "run", *args, "--entities", "comments", "worklogs")
    assert stray.exit_code != 0
    assert stray.stderr.strip().splitlines() == [
        "Error: unexpected argument 'worklogs': give several entities as --entities A,B or --entities A "
        "--entities B"
    ]
    unknown = invoke(cli, "run", *args, "--entities", "comments,wiki")
    assert unknown.exit_code != 0 and len(unknown.stderr.strip().splitlines()) == 1
    assert "unknown entity 'wiki'" in unknown.stderr and "worklogs" in unknown.stderr
    assert not (tmp_path / "wh").exists()
    result = invoke(cli, "run", *args, "--entities", "comments,versions", "--entities", "issue_links")
    assert result.exit_code == 0, result.stderr
    stored = invoke(
        cli, "sql", "--warehouse", warehouse, "--format", "json", "select ENTITIES from JIRA_SOURCES"
    )
    assert [json.loads(json.loads(line)["ENTITIES"]) for line in stored.stdout.splitlines()] == [
        ["comments", "versions", "issue_links"]
    ]


def test_importing_the_cli_loads_no_warehouse_emulator_or_http_client() -> None:
    """`jira-sync --help` must not wait for Snowpark (and through it pandas and pyarrow), fakesnow, the
    emulator or requests: they are imported by the commands that use them."""
    code = "import json, sys, jira_sync.cli; print(json.dumps(sorted(sys.modules)))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    heavy = ("snowflake.snowpark", "snowflake.connector", "fakesnow", "pandas", "pyarrow", "duckdb", "fakejira",
             "requests", "streamlit", "altair")  # fmt: skip
    loaded = json.loads(shown.stdout)
    assert [name for name in loaded if any(name == h or name.startswith(h + ".") for h in heavy)] == []
