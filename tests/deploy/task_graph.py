"""Tasks and task graphs as the recording account keeps them, by Snowflake's rules, and the Scripting blocks of
sql/ run against them.

fakesnow knows no tasks, so the recording account (recording.py) hands every task statement here: CREATE
[OR REPLACE | OR ALTER] TASK ... [AFTER ...], ALTER TASK (SUSPEND, RESUME, SET, UNSET), DROP TASK, DROP SCHEMA
and DROP DATABASE (their tasks go with them), SYSTEM$TASK_DEPENDENTS_ENABLE, and the `EXECUTE IMMEDIATE $$ ...
$$` blocks (scripting.py), whose cursor query runs on the embedded warehouse (INFORMATION_SCHEMA.TASK_DEPENDENTS
answered from the tasks kept here) and whose statements are then run here one by one, recorded like any other
(answered by "block"). What Snowflake refuses is refused (docs.snowflake.com/en/sql-reference/sql/create-task,
/alter-task, /drop-task and /en/user-guide/tasks-graphs):

- a child added, re-created, altered or dropped while the root of its graph is started;
- a task with more than 100 children; a schedule on a child; a predecessor that does not exist;
- a statement on a missing task without IF EXISTS.

A dropped predecessor leaves its children standalone and suspended, as DROP TASK documents. Names resolve as
Snowflake resolves them: unquoted parts upper-cased, quoted parts exact, missing parts from the session.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakesnow import statement_type
from scripting import BLOCK, Block, parse_block

MAX_CHILDREN = 100  # a task's children (docs.snowflake.com/en/user-guide/tasks-graphs)

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
NAME = rf"{_IDENT}(?:\.{_IDENT}){{0,2}}"
_CREATE = re.compile(
    rf"^CREATE\s+(?:OR\s+(?P<mode>REPLACE|ALTER)\s+)?TASK\s+(?P<if>IF\s+NOT\s+EXISTS\s+)?(?P<name>{NAME})(?P<rest>.*)$",
    re.I | re.S,
)
_ALTER = re.compile(
    rf"^ALTER\s+TASK\s+(?P<if>IF\s+EXISTS\s+)?(?P<name>{NAME})\s+(?P<action>.*)$", re.I | re.S
)
_DROP = re.compile(rf"^DROP\s+TASK\s+(?P<if>IF\s+EXISTS\s+)?(?P<name>{NAME})\s*;?\s*$", re.I | re.S)
_DROP_CONTAINER = re.compile(
    rf"^DROP\s+(?P<kind>SCHEMA|DATABASE)\s+(?:IF\s+EXISTS\s+)?(?P<name>{NAME})\s*;?\s*$", re.I | re.S
)
_ENABLE = re.compile(r"^SELECT\s+SYSTEM\$TASK_DEPENDENTS_ENABLE\(\s*'(?P<name>[^']+)'\s*\)\s*;?\s*$", re.I)
_DEPENDENTS = re.compile(
    r"TABLE\(\s*(?:\w+\.)?INFORMATION_SCHEMA\.TASK_DEPENDENTS\(\s*TASK_NAME\s*=>\s*'(?P<name>[^']+)'\s*,"
    r"\s*RECURSIVE\s*=>\s*FALSE\s*\)\s*\)",
    re.I,
)
_STRING = re.compile(r"'(?:[^']|'')*'")
_NOT_SUSPENDED = "Unable to update graph with root task {root} since that root task is not suspended."

Answer = dict[str, Any]
Run = Callable[[str], tuple[list[str], list[tuple[Any, ...]]]]  # a query on the embedded warehouse


@dataclass
class Task:
    name: str  # DB.SCHEMA.NAME, each part as Snowflake keeps it (the key in Tasks.tasks)
    short: str  # NAME alone, as SHOW TASKS and TASK_DEPENDENTS give it
    after: list[str] = field(default_factory=list)
    started: bool = False
    schedule: str | None = None
    warehouse: str | None = None  # None: serverless
    parameters: dict[str, str] = field(default_factory=dict)  # SUSPEND_TASK_AFTER_NUM_FAILURES, ...
    definition: str = ""


class TaskError(Exception):
    """What Snowflake would refuse, with its kind of message."""


@dataclass
class Tasks:
    tasks: dict[str, Task] = field(default_factory=dict)

    @staticmethod
    def handles(sql: str) -> bool:
        text = sql.strip()
        return bool(
            BLOCK.match(text) or _CREATE.match(text) or _ALTER.match(text) or _DROP.match(text)
            or _ENABLE.match(text) or _DROP_CONTAINER.match(text)
        )  # fmt: skip

    def snapshot(self) -> dict[str, Task]:
        return copy.deepcopy(self.tasks)

    def children(self, name: str) -> list[str]:
        return sorted(task.name for task in self.tasks.values() if name in task.after)

    def root_of(self, name: str) -> Task:
        task = self.tasks[name]
        while task.after:
            task = self.tasks[task.after[0]]
        return task

    def answer(
        self, sql: str, database: str | None, schema: str | None, run: Run, record: Callable
    ) -> Answer:
        """The answer to one statement; a block runs its statements through `record(sql, answer)`."""
        try:
            if BLOCK.match(sql.strip()):
                return self._block(parse_block(sql.strip()), database, schema, run, record)
            return self._statement(sql.strip(), database, schema)
        except TaskError as error:
            return refusal(str(error))

    # --- one statement ---------------------------------------------------------------------------------

    def _statement(self, sql: str, database: str | None, schema: str | None) -> Answer:
        if found := _ENABLE.match(sql):
            name = qualify(found["name"], database, schema)
            self._must_exist(name)
            for task in self._graph_below(name):
                task.started = True
            return done(f"Task {name} and its dependents resumed.", statement_type.SELECT)
        if found := _DROP.match(sql):
            name = qualify(found["name"], database, schema)
            if name not in self.tasks:
                self._must_exist(name, missing_ok=bool(found["if"]))
                return done(f"Drop statement executed successfully ({name} already dropped).")
            self._root_suspended(name)
            del self.tasks[name]
            for child in self.tasks.values():  # its children become standalone or root tasks, suspended
                if name in child.after:
                    child.after.remove(name)
                    child.started = False
            return done(f"{name} successfully dropped.")
        if found := _ALTER.match(sql):
            return self._alter(found, database, schema)
        if found := _DROP_CONTAINER.match(sql):  # its tasks go with it, whatever graph they are in
            depth = 1 if found["kind"].upper() == "DATABASE" else 2
            prefix = (
                qualify(found["name"] + ".X" * (3 - depth), database, schema).rsplit(".", 3 - depth)[0] + "."
            )
            self.tasks = {name: task for name, task in self.tasks.items() if not name.startswith(prefix)}
            return done(f"{found['kind'].upper()} successfully dropped.")
        if found := _CREATE.match(sql):
            return self._create(found, database, schema)
        raise TaskError(f"the recording account cannot run: {sql[:80]}")

    def _create(self, found: re.Match[str], database: str | None, schema: str | None) -> Answer:
        name = qualify(found["name"], database, schema)
        mode = (found["mode"] or "").upper()
        existing = self.tasks.get(name)
        if existing and not mode:
            if found["if"]:
                return done(f"{name} already exists, statement succeeded.")
            raise TaskError(f"SQL compilation error: Object '{name}' already exists.")
        clauses, definition = _split_definition(found["rest"])
        after = [qualify(p, database, schema) for p in _clause_list(clauses, "AFTER")]
        for predecessor in after:
            self._must_exist(predecessor)
        if after and _clause(clauses, "SCHEDULE"):
            raise TaskError("SQL compilation error: a child task cannot have a schedule.")
        if existing:
            self._root_suspended(name)
        for predecessor in after:
            if self.root_of(predecessor).started:
                raise TaskError(_NOT_SUSPENDED.format(root=self.root_of(predecessor).name))
        for predecessor in after:
            if name not in self.children(predecessor) and len(self.children(predecessor)) >= MAX_CHILDREN:
                raise TaskError(f"Task {predecessor} cannot have more than {MAX_CHILDREN} child tasks.")
        task = Task(
            name,
            short=_part(re.findall(_IDENT, found["name"])[-1]),
            after=after,
            started=bool(existing and existing.started and mode == "ALTER"),
            schedule=_clause(clauses, "SCHEDULE"),
            warehouse=_clause(clauses, "WAREHOUSE"),
            parameters=_parameters(clauses),
            definition=definition,
        )
        self.tasks[name] = task
        return done(f"Task {found['name']} successfully created.")

    def _alter(self, found: re.Match[str], database: str | None, schema: str | None) -> Answer:
        name = qualify(found["name"], database, schema)
        if name not in self.tasks:
            self._must_exist(name, missing_ok=bool(found["if"]))
            return done("Statement executed successfully.")
        task, action = self.tasks[name], " ".join(found["action"].rstrip("; \n").split())
        verb = action.split()[0].upper()
        if verb in ("SUSPEND", "RESUME"):
            task.started = verb == "RESUME"
            return done("Statement executed successfully.")
        self._root_suspended(name)
        if verb == "SET":
            clauses = action[len("SET") :]
            task.warehouse = _clause(clauses, "WAREHOUSE") or task.warehouse
            task.schedule = _clause(clauses, "SCHEDULE") or task.schedule
            task.parameters.update(_parameters(clauses))
        elif verb == "UNSET":
            for word in action.split()[1:]:
                if word.upper() == "WAREHOUSE":
                    task.warehouse = None
                task.parameters.pop(word.upper().rstrip(","), None)
        else:
            raise TaskError(f"the recording account cannot run: ALTER TASK ... {action[:40]}")
        return done("Statement executed successfully.")

    def _must_exist(self, name: str, missing_ok: bool = False) -> None:
        if name not in self.tasks and not missing_ok:
            raise TaskError(f"SQL compilation error: Task '{name}' does not exist or not authorized.")

    def _root_suspended(self, name: str) -> None:
        """No task of a graph may change while its root is started (a standalone task's own state is its
        root's; a graph has at least two tasks)."""
        root = self.root_of(name)
        if root.started and (root.name != name or self.children(name)):
            raise TaskError(_NOT_SUSPENDED.format(root=root.name))

    def _graph_below(self, name: str) -> list[Task]:
        found, queue = [], [name]
        while queue:
            current = queue.pop(0)
            found.append(self.tasks[current])
            queue += self.children(current)
        return found

    # --- a Scripting block -----------------------------------------------------------------------------

    def _block(
        self, block: Block, database: str | None, schema: str | None, run: Run, record: Callable
    ) -> Answer:
        """Run the block's cursor query on the embedded warehouse, then each statement it made (or raise)."""
        try:
            columns, rows = run(self._dependents_answered(block.query))
            values = [dict(zip(columns, row, strict=True)) for row in rows]
            if not block.runs_rows:
                if values:
                    exception, code, message = block.exception_for(values[0]["PROBLEM"])
                    return refusal(
                        f"Uncaught exception of type '{exception}': {message}", code=str(code), state="P0001"
                    )
                return done(block.returns, statement_type.SELECT, column="anonymous block")
            for value in values:
                sql = value["SQL_TEXT"]
                answer = self.answer(sql, database, schema, run, record)
                record(sql, answer)
                if not answer["success"]:
                    raise TaskError(f"Uncaught exception of type 'STATEMENT_ERROR': {answer['message']}")
        except TaskError as error:
            if block.on_error is None:
                return refusal(str(error))
            return done(block.on_error, statement_type.SELECT, column="anonymous block")
        return done(block.returns, statement_type.SELECT, column="anonymous block")

    def _dependents_answered(self, query: str) -> str:
        """The query with each TASK_DEPENDENTS(..., RECURSIVE => FALSE) replaced by its answer: the task, then
        its children, in a NAME column (an error, as in Snowflake, for a task that does not exist)."""

        def answer(found: re.Match[str]) -> str:
            name = qualify(found["name"], None, None)
            self._must_exist(name)
            names = [name, *self.children(name)]
            rows = ", ".join("('" + self.tasks[n].short.replace("'", "''") + "')" for n in names)
            return f"(SELECT column1 AS NAME FROM (VALUES {rows}))"

        return _DEPENDENTS.sub(answer, query)


def qualify(name: str, database: str | None, schema: str | None) -> str:
    """DB.SCHEMA.NAME as Snowflake resolves `name` in a session using `database`.`schema`."""
    parts = [_part(p) for p in re.findall(_IDENT, name)]
    missing = 3 - len(parts)
    context = [database, schema][:missing] if missing else []
    return ".".join([*(str(part).upper() for part in context), *parts])


def _part(identifier: str) -> str:
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.upper()


def _split_definition(rest: str) -> tuple[str, str]:
    """The clauses before the body (string literals kept) and the body after the first top-level AS."""
    masked = _STRING.sub(lambda m: "x" * len(m.group()), rest)
    found = re.search(r"\bAS\b", masked, re.I)
    if not found:
        raise TaskError("SQL compilation error: a task needs a body (AS ...).")
    return rest[: found.start()], rest[found.end() :].strip()


def _clause(clauses: str, key: str) -> str | None:
    found = re.search(rf"\b{key}\s*=\s*('(?:[^']|'')*'|[\w$.\"]+)", clauses, re.I)
    if not found:
        return None
    value = found.group(1)
    return value[1:-1].replace("''", "'") if value.startswith("'") else value


def _clause_list(clauses: str, key: str) -> list[str]:
    masked = _STRING.sub(lambda m: "x" * len(m.group()), clauses)
    found = re.search(rf"\b{key}\s+(?P<names>{NAME}(?:\s*,\s*{NAME})*)\s*$", masked, re.I)
    return (
        [n.strip() for n in re.findall(NAME, clauses[found.start("names") : found.end("names")])]
        if found
        else []
    )


def _parameters(clauses: str) -> dict[str, str]:
    keys = ("SUSPEND_TASK_AFTER_NUM_FAILURES", "USER_TASK_TIMEOUT_MS", "OVERLAP_POLICY",
            "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE", "COMMENT")  # fmt: skip
    return {key: value for key in keys if (value := _clause(clauses, key)) is not None}


def done(message: str, kind: int = statement_type.DDL, column: str = "status") -> Answer:
    return _result([column], [[message]], kind)


def refusal(message: str, code: str = "002003", state: str = "42000") -> Answer:
    return {
        "data": {"errorCode": code, "sqlState": state},
        "code": code,
        "message": message,
        "success": False,
    }


def _result(columns: list[str], rows: list[list[Any]], kind: int) -> Answer:
    from recording import result_set  # here: recording imports this module

    return result_set(columns, rows, kind)
