"""The schedule as a task graph: sql/task.sql, sql/task_warehouse.sql and the removal, run with the real `snow`
against the recording account, which keeps tasks by Snowflake's rules and runs the Scripting blocks' queries
on the embedded warehouse (task_graph.py): a statement Snowflake would refuse (a child changed while its root
is started, a 101st child, ...) fails the command here too.

The README's own walk (`flow`) schedules the two sources its step 4 adds; `changes` walks JIRA_SOURCES through
additions, disabling, re-enabling, an overlap and no source at all, running sql/task.sql after each.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from scripting import BLOCK, parse_block
from snippets import parse_call, parse_statement, python_value
from task_graph import Task, Tasks, qualify
from walkthrough import SETUP_SECTION, WORKSHEET, Command, Flow, run_commands, step_commands

from jira_sync.sync import RUN_TIME_BUDGET

SCHEMA = "JIRA_SYNC.JIRA"
ROOT_TASK = f"{SCHEMA}.SYNC_JIRA_TASK"
SITE = "https://acme.atlassian.net"
REFUSED = "overlap refused"


def task_sql_runs(flow: Flow, path: str = "sql/task.sql") -> list[Command]:
    return [c for c in flow.snow("sql") if path in c.argv]


def graph(command: Command) -> tuple[Task, dict[str, Task]]:
    """The root and its children (by the source each syncs) once `command` had run."""
    root = command.tasks[ROOT_TASK]
    children = [task for task in command.tasks.values() if ROOT_TASK in task.after]
    return root, {source_of(task): task for task in children}


def source_of(task: Task) -> str:
    """The source a child's `CALL ...SYNC_JIRA(source => '...')` names; it names nothing else."""
    call = parse_call(task.definition.removeprefix("CALL "))
    assert call.procedure == "sync_jira" and not call.positional and set(call.named) == {"source"}
    return python_value(call.named["source"])


def sources_in_store(flow: Flow) -> dict[str, bool]:
    """JIRA_SOURCES as the store holds it at the end of the flow: name -> enabled."""
    connection = flow.account.store.connect(*SCHEMA.split("."))
    rows = connection.cursor().execute('SELECT "NAME", "ENABLED" FROM JIRA_SOURCES').fetchall()
    return {str(name): enabled is not False for name, enabled in rows}


def test_every_statement_of_the_graph_parses_and_every_block_is_readable(flow: Flow) -> None:
    """Each statement the task files sent, and each one their blocks ran, parses as Snowflake SQL (a block's
    query included) and was answered; each block has the one shape scripting.py reads."""
    commands = [
        *task_sql_runs(flow),
        *task_sql_runs(flow, "sql/task_warehouse.sql"),
        *flow.step("Removing it"),
    ]
    blocks = 0
    for command in commands:
        for recorded in command.statements:
            parse_statement(recorded.sql)
            assert recorded.ok, recorded.sql
            if BLOCK.match(recorded.sql):
                parse_block(recorded.sql)
                blocks += 1
    assert blocks == 3  # task.sql checks, then builds; task_warehouse.sql moves the children
    assert any(recorded.answered_by == "block" for c in commands for recorded in c.statements)


def test_the_graph_has_one_child_per_enabled_source_calling_sync_jira_for_it(flow: Flow) -> None:
    """After step 4: the root on the schedule, serverless, no overlapping runs, and one started child per
    enabled source, each serverless, calling the deployed procedure for its source alone, with a timeout that
    lets a run stop at its own budget first."""
    (command,) = task_sql_runs(flow)
    root, children = graph(command)
    enabled = {name for name, on in sources_in_store(flow).items() if on}
    assert enabled == {"acme", "eng-bugs"}  # what the README's step 4 adds
    assert children.keys() == enabled
    assert root.started and root.schedule == "USING CRON */15 * * * * UTC" and root.warehouse is None
    assert root.parameters["OVERLAP_POLICY"] == "NO_OVERLAP"
    assert root.parameters["SUSPEND_TASK_AFTER_NUM_FAILURES"] == "0"  # one failing source stops no other
    procedures = {procedure.fqn for procedure in flow.deployed().values()}
    for source, child in children.items():
        assert child.name == f"{SCHEMA}.SYNC_JIRA_TASK_{source}"
        assert child.started and child.warehouse is None and child.schedule is None
        assert child.definition.removeprefix("CALL ").split("(")[0].upper() in procedures
        timeout = timedelta(milliseconds=int(child.parameters["USER_TASK_TIMEOUT_MS"]))
        # a run stops on its own before its task cancels it, with room for the batch in flight
        assert timeout >= RUN_TIME_BUDGET + timedelta(minutes=5)
        assert int(root.parameters["USER_TASK_TIMEOUT_MS"]) >= int(child.parameters["USER_TASK_TIMEOUT_MS"])
    assert "GRANT EXECUTE MANAGED TASK ON ACCOUNT TO ROLE JIRA_SYNC_ROLE;" in flow.sql()


def test_the_root_is_suspended_before_anything_changes_and_resumed_last(flow: Flow) -> None:
    """The checks first (they refuse before anything changes), then the root suspended, the graph changed, and
    the graph resumed by its last statement (children first, as SYSTEM$TASK_DEPENDENTS_ENABLE does)."""
    (command,) = task_sql_runs(flow)
    words = [" ".join(sql.split()).upper() for sql in command.sql()]
    first_task = next(i for i, sql in enumerate(words) if "TASK" in sql and not sql.startswith("USE"))
    assert BLOCK.match(command.sql()[first_task]) and not parse_block(command.sql()[first_task]).runs_rows
    assert words[first_task + 1] == "ALTER TASK IF EXISTS SYNC_JIRA_TASK SUSPEND;"
    assert words[-1] == f"SELECT SYSTEM$TASK_DEPENDENTS_ENABLE('{ROOT_TASK}')"


def test_the_whole_graph_moves_onto_a_warehouse(flow: Flow) -> None:
    """sql/task_warehouse.sql: the root and every child on the warehouse, the graph started again."""
    (command,) = task_sql_runs(flow, "sql/task_warehouse.sql")
    root, children = graph(command)
    assert children.keys() == {"acme", "eng-bugs"}
    for task in (root, *children.values()):
        assert task.warehouse == "COMPUTE_WH" and task.started, task
    assert "GRANT EXECUTE TASK ON ACCOUNT TO ROLE JIRA_SYNC_ROLE;" in flow.sql()


def test_the_removal_suspends_the_root_first_and_leaves_no_task(flow: Flow) -> None:
    """The root suspended (no graph run starts) and dropped, which leaves its children standalone and
    suspended; they go with the schema."""
    (removal,) = flow.step("Removing it")
    tasks = [" ".join(sql.split()) for sql in removal.sql() if re.search(r"\bTASK\b", sql)]
    assert tasks[:2] == [f"ALTER TASK IF EXISTS {ROOT_TASK} SUSPEND;", f"DROP TASK IF EXISTS {ROOT_TASK};"]
    assert removal.tasks == {}


def add(name: str, projects: list[str], site: str = SITE) -> str:
    keys = ", ".join(f"'{key}'" for key in projects)
    return f"CALL add_jira_source(name => '{name}', site_url => '{site}', projects => [{keys}]);"


def enable(name: str, on: bool) -> str:
    return f"UPDATE JIRA_SOURCES SET ENABLED = {str(on).upper()} WHERE NAME = '{name}';"


@pytest.fixture(scope="module")
def changes(tmp_path_factory: pytest.TempPathFactory, flow: Flow) -> list[Command]:
    """JIRA_SOURCES changed step by step, sql/task.sql run after each change with the README's command; its
    runs, in order."""
    (schedule,) = [
        argv for argv in step_commands(flow.project, SETUP_SECTION, "README.md") if "sql/task.sql" in argv
    ]
    setup = (
        "CREATE DATABASE IF NOT EXISTS JIRA_SYNC;",
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA};",
        f"USE SCHEMA {SCHEMA};",
    )
    changes = [
        ("three sources, one disabled", *setup, add("eng", ["ENG"]), add("ops-and-data", ["OPS", "DATA"]),
         add("Old", ["MKT"]), enable("Old", False)),
        ("one left", enable("ops-and-data", False)),
        ("one back, one new", enable("Old", True), add("sup", ["SUP"])),
        # the same site written another way, and a project another source of that site has
        (REFUSED, add("eng-too", ["QA", "ENG"], "https://ACME.atlassian.net/")),
        ("none", "UPDATE JIRA_SOURCES SET ENABLED = FALSE;"),
    ]  # fmt: skip
    steps = [(label, [*([WORKSHEET, sql] for sql in statements), schedule]) for label, *statements in changes]
    base = tmp_path_factory.mktemp("graph")
    changed = run_commands(
        base, [(label, commands, "unused") for label, commands in steps], may_fail={REFUSED}
    )
    runs = task_sql_runs(changed)
    assert [run.step for run in runs] == [label for label, _ in steps]
    return runs


def test_the_graph_follows_jira_sources(changes: list[Command]) -> None:
    """Every enabled source has a child and no other source does: a disabled source's child is dropped, a
    re-enabled or new one gets one, a source name keeps its case and characters in its task's name."""
    expected = [{"eng", "ops-and-data"}, {"eng"}, {"eng", "Old", "sup"}]
    for command, sources in zip(changes, expected, strict=False):
        root, children = graph(command)
        assert children.keys() == sources, command.step
        assert root.started and all(child.started for child in children.values())
    assert graph(changes[2])[1]["Old"].name == f"{SCHEMA}.SYNC_JIRA_TASK_Old"
    dropped = [r.sql for r in changes[1].statements if r.answered_by == "block" and r.sql.startswith("DROP")]
    assert dropped == ['DROP TASK IF EXISTS "SYNC_JIRA_TASK_ops-and-data"']


def test_one_source_suspends_the_graph_after_three_failures_and_several_never(changes: list[Command]) -> None:
    """Snowflake suspends a whole graph when any one task fails SUSPEND_TASK_AFTER_NUM_FAILURES times in a row:
    with one source that is the single task's old guard, with several it would let one source stop the rest."""
    limits = [graph(command)[0].parameters["SUSPEND_TASK_AFTER_NUM_FAILURES"] for command in changes[:3]]
    assert limits == ["0", "3", "0"]


def test_overlapping_projects_on_one_site_are_refused_before_anything_changes(changes: list[Command]) -> None:
    """Two enabled sources of one site (however its URL is written) listing one project: the run fails, with
    the reason, at the check, and the graph is what it was."""
    refused = changes[3]
    assert refused.step == REFUSED and refused.exit_code != 0
    assert "two enabled sources of one Jira site list the same project" in " ".join(refused.output.split())
    assert refused.tasks == changes[2].tasks
    assert not [r.sql for r in refused.statements if re.match(r"\s*(ALTER|CREATE|DROP)\b", r.sql, re.I)]


def test_with_no_enabled_source_the_graph_has_no_child_and_stays_suspended(changes: list[Command]) -> None:
    root, children = graph(changes[4])
    assert children == {} and not root.started


def test_names_resolve_as_snowflake_resolves_them() -> None:
    assert qualify("sync_jira_task", "JIRA_SYNC", "JIRA") == ROOT_TASK
    assert qualify('"SYNC_JIRA_TASK_eng-bugs"', "JIRA_SYNC", "JIRA") == f"{SCHEMA}.SYNC_JIRA_TASK_eng-bugs"
    assert qualify('jira_sync.jira."a""b"', None, None) == f'{SCHEMA}.a"b'


def test_the_recording_account_refuses_what_snowflake_refuses() -> None:
    """The task model has teeth: a graph changed while its root is started, a 101st child, a child with a
    schedule and a missing predecessor are refused, as Snowflake refuses them; a suspended root lets all pass."""
    tasks = Tasks()

    def run(sql: str) -> bool:
        return tasks.answer(sql, "DB", "S", lambda query: ([], []), lambda *_: None)["success"]

    assert run("CREATE TASK ROOT SCHEDULE = '5 MINUTES' AS SELECT 1")
    assert run("ALTER TASK ROOT RESUME")
    assert not run("CREATE TASK C0 AFTER ROOT AS SELECT 1")  # the root is started
    assert run("ALTER TASK ROOT SUSPEND")
    assert all(run(f'CREATE TASK "c{i}" AFTER ROOT AS SELECT 1') for i in range(100))
    assert not run("CREATE TASK C100 AFTER ROOT AS SELECT 1")  # a 101st child
    assert not run("CREATE TASK C101 SCHEDULE = '5 MINUTES' AFTER ROOT AS SELECT 1")
    assert not run("CREATE TASK C102 AFTER NOWHERE AS SELECT 1")
    assert run("SELECT SYSTEM$TASK_DEPENDENTS_ENABLE('DB.S.ROOT')")
    assert all(task.started for task in tasks.tasks.values())
    assert not run('DROP TASK "c7"') and not run("ALTER TASK ROOT SET WAREHOUSE = WH")
    assert run("ALTER TASK ROOT SUSPEND") and run('DROP TASK "c7"') and run("DROP TASK ROOT")
    assert not any(task.after for task in tasks.tasks.values())  # the children stand alone, suspended
    assert not any(task.started for task in tasks.tasks.values())


@pytest.mark.parametrize(
    "body",
    [
        "BEGIN CREATE TASK T AS SELECT 1; RETURN 'x'; END;",  # no cursor
        "DECLARE c CURSOR FOR SELECT 1; BEGIN FOR r IN c DO LET s := r.SQL_TEXT; EXECUTE IMMEDIATE s; END FOR; "
        "RETURN 'x'; END;",  # LET: not the shape
        "DECLARE c CURSOR FOR SELECT 1; s VARCHAR; BEGIN FOR r IN c DO s := r.SQL_TEXT; EXECUTE IMMEDIATE s; "
        "DROP TABLE T; END FOR; RETURN 'x'; END;",  # something else in the loop
    ],
)
def test_a_block_of_another_shape_is_not_read(body: str) -> None:
    with pytest.raises(ValueError):
        parse_block(f"EXECUTE IMMEDIATE $${body}$$")
