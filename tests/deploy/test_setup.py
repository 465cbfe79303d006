"""The set-up as an admin runs it: the token stays secret, existing objects are altered (never replaced), the
role goes to the Snowflake login, logs reach the event table, and the removal drops everything the other steps
created. The task graph has tests of its own (test_task_graph.py)."""

from __future__ import annotations

import re

import pytest
from snippets import ROOT, parse_statement
from task_graph import NAME, qualify
from walkthrough import SETUP_SECTION, TOKENS, Command, Flow, run_commands, step_commands

_OBJECT = re.compile(
    rf"""^(?P<verb>CREATE|DROP)\s+(OR\s+(REPLACE|ALTER)\s+)?
    (?P<kind>ROLE|DATABASE|SCHEMA|NETWORK\s+RULE|SECRET|(EXTERNAL\s+ACCESS\s+)?INTEGRATION|STAGE|PROCEDURE|TASK|STREAMLIT)\s+
    (IF\s+(NOT\s+)?EXISTS\s+)?(?P<name>IDENTIFIER\('[^']+'\)|{NAME})\s*(?P<arguments>\([^)]*\))?""",
    re.I | re.X,
)
_SCHEMA_LEVEL = {"NETWORK RULE", "SECRET", "STAGE", "PROCEDURE", "TASK", "STREAMLIT"}
_TYPE_NAMES = {
    "INT": "NUMBER",
    "INTEGER": "NUMBER",
    "BIGINT": "NUMBER",
    "STRING": "VARCHAR",
    "TEXT": "VARCHAR",
}


def sql_file_run(flow: Flow, path: str) -> Command:
    (command,) = [c for c in flow.snow("sql") if path in c.argv]
    return command


def objects(commands: list[Command], verb: str) -> set[tuple[str, str]]:
    """(kind, DB.SCHEMA.NAME or NAME) of what these commands created or dropped; procedures with their
    argument types, as Snowflake names a procedure."""
    found = set()
    for command in commands:
        schema = None
        for sql in command.sql():
            if use := re.match(r"\s*USE\s+SCHEMA\s+([\w$.]+)", sql, re.I):
                schema = use.group(1).upper()
            match = _OBJECT.match(sql.strip())
            if not match or match["verb"].upper() != verb:
                continue
            kind = re.sub(r"\s+", " ", match["kind"].upper()).removeprefix("EXTERNAL ACCESS ")
            name = re.sub(r"^IDENTIFIER\('(.*)'\)$", r"\1", match["name"], flags=re.I)
            if kind in _SCHEMA_LEVEL:  # quoted parts kept as they are, as Snowflake keeps them
                name = qualify(name, *(schema.split(".") if schema else (None, None)))
            else:
                name = name.upper()
            if kind == "PROCEDURE":
                arguments = [a.split() for a in match["arguments"].strip("()").split(",") if a.strip()]
                types = [argument[0 if verb == "DROP" else 1].upper() for argument in arguments]
                name += f"({', '.join(_TYPE_NAMES.get(t, t) for t in types)})"
            found.add((kind, name))
    return found


def test_the_token_reaches_its_secret_and_shows_nowhere(flow: Flow) -> None:
    """Read from the environment by the SQL template (`ctx.env`), the token is in the statements that store
    it and nowhere else: not on a command line (`ps`), not in what snow printed (--silent), not in what reached
    the terminal, not in snow's log files."""
    for token in TOKENS.values():
        holding = [sql for sql in flow.sql() if token in sql]
        assert holding, "the token never reached the secret"
        assert all(re.match(r"\s*(CREATE|ALTER)\s+SECRET\b", sql, re.I) for sql in holding), holding
        for command in flow.commands:
            assert token not in " ".join(command.argv), command.argv
            assert token not in command.output + command.fd_output, command.argv
            if any(token in sql for sql in command.sql()):
                assert "--silent" in command.argv, f"`{' '.join(command.argv)}` echoes the token"
        for log in (path for path in flow.snow_home.rglob("*") if path.is_file()):
            assert token not in log.read_text(errors="replace"), log


def test_without_silent_snow_would_show_the_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The control: `snow sql -f` echoes each statement it runs, so --silent is what keeps the token off the
    screen (and out of terminal scrollback and CI logs)."""
    (setup,) = [argv for argv in step_commands(ROOT, SETUP_SECTION, "README.md") if "sql/setup.sql" in argv]
    loud = [argument for argument in setup if argument != "--silent"]
    token = "loud-token-" * 3
    flow = run_commands(
        tmp_path_factory.mktemp("loud"), [("loud", [["export", "JIRA_API_TOKEN=..."], loud], token)]
    )
    assert token in flow.commands[-1].output


def test_existing_objects_are_altered_never_replaced(flow: Flow) -> None:
    """Replacing a secret, network rule or integration unbinds what refers to it (the procedures, the
    integration): the set-up creates them only if missing and changes them with ALTER."""
    replaced = [
        sql
        for sql in flow.sql()
        if re.match(r"\s*CREATE\s+OR\s+REPLACE\s+(SECRET|NETWORK|EXTERNAL)", sql, re.I)
    ]
    assert not replaced, replaced
    bearer = " ".join(sql_file_run(flow, "sql/secret_bearer.sql").sql()).upper()
    for change in (
        r"ALTER NETWORK RULE \w+ SET VALUE_LIST",
        r"ALTER SECRET \w+ SET SECRET_STRING",
        r"ALTER EXTERNAL ACCESS INTEGRATION \w+ SET",
    ):
        assert re.search(change, re.sub(r"\s+", " ", bearer)), change


def test_the_integration_allows_one_host_and_one_secret(flow: Flow) -> None:
    """Egress to the Jira host alone (port 443), one credential: PASSWORD (email + token) from setup.sql,
    GENERIC_STRING (bearer) from secret_bearer.sql, which points the rule at the gateway."""
    for path, host, secret_type in [
        ("sql/setup.sql", "acme.atlassian.net", "PASSWORD"),
        ("sql/secret_bearer.sql", "api.atlassian.com", "GENERIC_STRING"),
    ]:
        statements = [re.sub(r"\s+", " ", sql) for sql in sql_file_run(flow, path).sql()]
        rules = [sql for sql in statements if "NETWORK RULE" in sql and "VALUE_LIST" in sql]
        assert rules and all(f"VALUE_LIST = ('{host}:443')" in sql for sql in rules), rules
        integrations = [sql for sql in statements if "EXTERNAL ACCESS INTEGRATION" in sql]
        assert integrations
        for sql in integrations:
            assert re.search(r"ALLOWED_NETWORK_RULES = \([^,)]+\)", sql), sql
            assert re.search(r"ALLOWED_AUTHENTICATION_SECRETS = \([^,)]+\)", sql), sql
        assert any(f"TYPE = {secret_type}" in sql for sql in statements if "SECRET" in sql), path


def test_the_role_goes_to_the_snowflake_login_running_the_setup(flow: Flow) -> None:
    """CURRENT_USER() names the Snowflake login (not the OS user); IDENTIFIER() takes it through a session
    variable, as it takes no function call."""
    statements = [re.sub(r"\s+", " ", sql.strip()) for sql in sql_file_run(flow, "sql/setup.sql").sql()]
    (variable,) = [
        m.group(1) for sql in statements if (m := re.match(r"SET (\w+) = .*CURRENT_USER\(\)", sql))
    ]
    assert f"GRANT ROLE JIRA_SYNC_ROLE TO USER IDENTIFIER(${variable});" in statements
    for path in [ROOT / "README.md", *sorted((ROOT / "sql").glob("*.sql"))]:
        assert "whoami" not in path.read_text(), path


def test_warnings_reach_the_event_table(flow: Flow) -> None:
    """LOG_LEVEL on the schema that holds the procedures (Snowflake ingests logs only at or above it)."""
    (procedure, *_) = flow.deployed().values()
    schema = procedure.fqn.rpartition(".")[0]
    statements = [
        re.sub(r"\s+", " ", sql.strip()).upper() for sql in sql_file_run(flow, "sql/setup.sql").sql()
    ]
    assert any(
        re.fullmatch(rf"ALTER SCHEMA {schema} SET LOG_LEVEL = (WARN|INFO|DEBUG);", s) for s in statements
    )


def test_removal_drops_everything_the_other_steps_created(flow: Flow) -> None:
    """Every role, database, schema, network rule, secret, integration, stage, procedure (with its argument
    types), task and Streamlit app that set-up, deploy, the bearer switch and the tasks created is dropped by
    name."""
    created = objects([c for c in flow.commands if c.step != "Removing it"], "CREATE")
    dropped = objects(flow.step("Removing it"), "DROP")
    # The task graph's children, one per source, go with their schema once the root is dropped (the removal
    # leaves no task: test_task_graph.py).
    (removal,) = flow.step("Removing it")
    before = flow.commands[flow.commands.index(removal) - 1].tasks
    schemas = {name for kind, name in dropped if kind == "SCHEMA"}
    dropped |= {("TASK", t.name) for t in before.values() if t.after and t.name.rsplit(".", 1)[0] in schemas}
    kinds = {kind for kind, _ in created}
    assert kinds >= {
        "ROLE", "DATABASE", "SCHEMA", "NETWORK RULE", "SECRET", "INTEGRATION", "STAGE", "TASK", "STREAMLIT",
    }  # fmt: skip
    assert "PROCEDURE" in kinds
    assert created <= dropped, f"not dropped: {sorted(created - dropped)}"
    for sql in flow.step("Removing it")[0].sql():
        parse_statement(sql)
