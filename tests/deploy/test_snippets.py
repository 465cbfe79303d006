"""Every SQL snippet an admin copies (README blocks, CALLs in their comments, sql/ files) is Snowflake SQL,
every CALL names all of its arguments or none and matches what snowflake.yml deploys, and the README's
"Setting it up in Snowflake" section ran, command by command, in the order it gives."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
import yaml
from snippets import (
    CALL_STATEMENT,
    README,
    ROOT,
    SNOWFLAKE_YML,
    check_call_against_signature,
    commented_calls,
    documented_commands,
    fenced_blocks,
    parse_call,
    parse_statement,
    procedure_signatures,
    section,
    shell_commands,
    sql_statements,
)
from walkthrough import SETUP_SECTION, WORKSHEET, Flow, step_commands


def readme_sql() -> list[str]:
    """The README's SQL: its sql blocks' statements, the CALLs in their comments, and the queries of its sh
    blocks (`snow sql -q QUERY`, `jira-sync sql ... QUERY`)."""
    readme = README.read_text()
    statements = [s for _, body in fenced_blocks(readme, "sql") for s in sql_statements(body)]
    statements += [f"{call};" for _, body in fenced_blocks(readme, "sql") for call in commented_calls(body)]
    for _, body in fenced_blocks(readme, "sh"):
        for argv in shell_commands(body):
            if argv[:2] == ["snow", "sql"]:
                statements += [argv[i + 1] for i, word in enumerate(argv) if word in ("-q", "--query")]
            elif argv[0].endswith("jira-sync") and argv[1:2] == ["sql"]:
                statements.append(argv[-1])
    return statements


def test_readme_sql_parses_and_each_call_names_all_arguments_or_none() -> None:
    signatures = procedure_signatures()
    statements = readme_sql()
    assert any(CALL_STATEMENT.match(statement) for statement in statements)
    for statement in statements:
        parse_statement(statement)
        if call := CALL_STATEMENT.match(statement):
            check_call_against_signature(parse_call(call.group("call")), signatures)


@pytest.mark.parametrize(
    "statement",
    [
        "CALL add_jira_source('acme', 'https://acme.atlassian.net', projects => ['ENG', 'OPS']);",
        "CALL sync_jira('acme', full_refresh => TRUE);",
    ],
)
def test_a_call_mixing_positional_and_named_arguments_is_refused(statement: str) -> None:
    with pytest.raises(AssertionError, match="name all arguments or none"):
        parse_statement(statement)


def test_every_sql_file_ran_as_documented(flow: Flow) -> None:
    """Each file in sql/ ran with the real `snow sql -f` (its statements are checked with all the others)."""
    ran = {argv[argv.index("-f") + 1] for argv in (c.argv for c in flow.snow("sql"))}
    assert ran == {f"sql/{path.name}" for path in (ROOT / "sql").glob("*.sql")}


def test_the_setup_section_ran_in_the_readme_order(flow: Flow) -> None:
    """Every command and SQL statement of the section ran (none skipped), in the README's order: set-up,
    artifact, build, deploy, then the worksheet (add_jira_source on the deployed schema), the task, the
    dashboard."""
    ran = flow.step(SETUP_SECTION)
    assert [c.argv for c in ran] == step_commands(flow.project, SETUP_SECTION, "README.md")
    order = [
        " ".join(c.argv[:4]) if not c.is_worksheet else c.argv[1].split("(")[0].split()[-1]
        for c in ran
        if c.is_snow or c.argv[:2] == ["python", "-m"] or (c.is_worksheet and "CALL" in c.argv[1])
    ]
    expected = [
        "snow sql --silent -f",
        "python -m jira_sync.artifact",
        "snow snowpark build",
        "snow snowpark deploy --replace",
        "add_jira_source",
        "add_jira_source",
        "sync_jira",
        "sync_jira",
        "sync_jira",
        "snow sql -f sql/task.sql",
        "snow streamlit deploy --replace",
    ]
    assert order == expected
    saved = [c.output for c in ran if c.is_worksheet and "add_jira_source" in c.argv[1]]
    assert saved and all("'status': 'SAVED'" in output for output in saved), saved


def test_readme_queries_run_on_the_deployed_schema(flow: Flow) -> None:
    """Step 5's queries name tables and views add_jira_source made in the schema set up in step 2."""
    queries = [
        c for c in flow.step(SETUP_SECTION) if c.is_worksheet and c.argv[1].upper().startswith("SELECT")
    ]
    text = "\n".join(body for _, body in fenced_blocks(section(README.read_text(), SETUP_SECTION), "sql"))
    readme_selects = re.findall(r"^SELECT\b", text, flags=re.MULTILINE)
    assert queries and len(queries) == len(readme_selects)
    assert all(c.output.startswith("[") for c in queries)  # rows (none yet: no sync has run)


def test_sql_file_headers_show_the_readme_commands() -> None:
    """setup.sql and task.sql repeat in their first lines the command the README runs."""
    readme = [argv for argv in step_commands(ROOT, SETUP_SECTION, "README.md") if argv[0] != WORKSHEET]
    for name in ("setup.sql", "task.sql"):
        for argv in documented_commands((ROOT / "sql" / name).read_text()):
            assert argv in readme, f"sql/{name} documents `{' '.join(argv)}`, which the README does not run"


def test_snowflake_yml_signatures_are_the_handlers_signatures() -> None:
    """The procedures' SQL arguments, in order and with their defaults, are the handlers' parameters: what
    a CALL names reaches the handler under that name."""
    definition = yaml.safe_load(SNOWFLAKE_YML.read_text())
    assert str(definition["definition_version"]) == "2"
    assert {"database", "schema", "stage", "integration", "secret"} <= definition["env"].keys()
    signatures = procedure_signatures(definition)
    for entity in (e for e in definition["entities"].values() if e["type"] == "procedure"):
        module, _, function = entity["handler"].rpartition(".")
        parameters = list(
            inspect.signature(getattr(importlib.import_module(module), function)).parameters.values()
        )
        assert parameters[0].name == "session"
        arguments = signatures[entity["identifier"]["name"].lower()]
        assert [p.name for p in parameters[1:]] == [a.name for a in arguments], entity["handler"]
        for parameter, argument in zip(parameters[1:], arguments, strict=True):
            default = parameter.default
            if default is inspect.Parameter.empty:
                assert argument.default is None, f"{argument.name}: a default in snowflake.yml only"
            else:
                sql = (
                    "NULL"
                    if default is None
                    else str(default).upper()
                    if isinstance(default, bool)
                    else default
                )
                assert str(argument.default) == str(sql), (
                    f"{entity['handler']}: {argument.name} defaults differ"
                )


def test_readme_says_which_steps_need_a_real_account() -> None:
    assert "need a real account" in section(README.read_text(), SETUP_SECTION)
