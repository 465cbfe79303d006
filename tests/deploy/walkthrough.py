"""The documented path from a fresh clone to a scheduled sync, walked as an admin walks it.

`run_commands` runs an admin's commands in order in a copy of the project, against a recording account
(recording.py): `snow` in-process (the real CLI, a new session per command, as a new process has), the few
shell built-ins the docs use (`.`, `read -s`, `export`), `python -m jira_sync...`, and SQL the README has typed
in a worksheet. Each command's argv (as the shell hands it over: what `ps` shows), exit code, output (what snow
printed and what reached file descriptors 1 and 2) and the statements it sent are kept in a `Flow`. What the
process shares with other tests (environment, working folder, logging, warnings) is put back afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from recording import Recorded, RecordingAccount, recording_account, write_snow_config
from snippets import (
    CALL_STATEMENT,
    ROOT,
    Procedure,
    check_call_against_signature,
    commented_calls,
    documented_commands,
    fenced_blocks,
    parse_call,
    parse_procedure,
    parse_statement,
    procedure_signatures,
    python_value,
    section,
    shell_commands,
    sql_statements,
)
from snowflake.snowpark import Session
from task_graph import Task

WORKSHEET = "worksheet>"  # argv[0] of a SQL statement the README has the admin type in a worksheet
# Distinctive tokens: if one shows anywhere it must not, it is found.
TOKENS = {"basic": "jira-basic-Zq8x7Kp2w-never-shown", "bearer": "jira-bearer-Vn4w9Lr6t-never-shown"}
SETUP_SECTION = "Setting it up in Snowflake"
REMOVAL_SECTION = "Removing it"
# Steps in order: (label, where the commands come from, the token the admin pastes).
STEPS = [
    (SETUP_SECTION, "README.md", "basic"),
    ("sql/secret_bearer.sql", "sql/secret_bearer.sql", "bearer"),
    ("sql/task_warehouse.sql", "sql/task_warehouse.sql", "bearer"),
    (REMOVAL_SECTION, "README.md", "bearer"),
]
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*.pyc", ".jira-sync", ".hypothesis", ".pytest_cache", ".ruff_cache",
    "output", "mutants", "*.zip", "requirements.snowflake.txt",
)  # fmt: skip


@dataclass
class Command:
    """One command an admin types, as run here."""

    step: str
    argv: list[str]
    exit_code: int = 0
    output: str = ""  # what snow printed (stdout and stderr)
    fd_output: str = ""  # what reached file descriptors 1 and 2 meanwhile (pip, stray prints)
    statements: list[Recorded] = field(default_factory=list)
    first: int = 0  # the index of its first statement among all the account recorded
    tasks: dict[str, Task] = field(default_factory=dict)  # the account's tasks once it ran, by DB.SCHEMA.NAME

    @property
    def is_snow(self) -> bool:
        return self.argv[0] == "snow"

    @property
    def is_worksheet(self) -> bool:
        return self.argv[0] == WORKSHEET

    def sql(self) -> list[str]:
        return [recorded.sql for recorded in self.statements]


@dataclass
class Flow:
    project: Path
    snow_home: Path
    account: RecordingAccount
    commands: list[Command] = field(default_factory=list)

    def step(self, label: str) -> list[Command]:
        return [command for command in self.commands if command.step == label]

    def snow(self, *words: str) -> list[Command]:
        """The snow commands that start with these words (e.g. "snowpark", "deploy")."""
        return [c for c in self.commands if c.is_snow and c.argv[1 : 1 + len(words)] == list(words)]

    def sql(self) -> list[str]:
        return [recorded.sql for recorded in self.account.statements]

    @property
    def env(self) -> dict[str, str]:
        """snowflake.yml's env: (object names)."""
        return yaml.safe_load((self.project / "snowflake.yml").read_text())["env"]

    def deployed(self, step: str = SETUP_SECTION) -> dict[str, Procedure]:
        """The procedures a step's deploy created, by name."""
        (deploy,) = [command for command in self.snow("snowpark", "deploy") if command.step == step]
        creates = [sql for sql in deploy.sql() if sql.lower().startswith("create or replace procedure")]
        return {procedure.name: procedure for procedure in map(parse_procedure, creates)}

    def uploaded(self, import_path: str) -> bytes:
        """The bytes last uploaded to the stage path an IMPORTS entry names (@DB.SCHEMA.STAGE/path)."""
        return self.account.uploads[import_path.lstrip("@").replace(".", "/", 2)]


def step_commands(project: Path, label: str, source: str) -> list[list[str]]:
    """The commands of a README section's blocks in order (shell commands; each statement of a SQL block as
    [WORKSHEET, statement]), or those a SQL file's header documents."""
    text = (project / source).read_text()
    if source != "README.md":
        return documented_commands(text)
    commands = []
    for language, body in fenced_blocks(section(text, label)):
        if language == "sql":  # statements and the alternatives commented out (`-- or: CALL ...`), in order
            typed = [(body.find(statement.splitlines()[0]), statement) for statement in sql_statements(body)]
            typed += [(body.find(call), f"{call};") for call in commented_calls(body)]
            commands += [[WORKSHEET, statement] for _, statement in sorted(typed)]
        else:
            assert language == "sh", f"README, {label}: a ```{language} block the tests cannot run"
            commands += shell_commands(body)
    return commands


class _Runner:
    """Runs an admin's commands: snow in-process, the few shell built-ins the docs use, and SQL typed in a
    worksheet, on a Snowpark session to the recording account (CALL add_jira_source runs its handler there;
    CALL sync_jira needs Jira and the secret: only checked)."""

    def __init__(
        self, flow: Flow, config: Path, connection: dict[str, Any], may_fail: Collection[str] = ()
    ) -> None:
        from snowflake.cli._app.cli_app import CliAppFactory

        self.flow = flow
        self.may_fail = set(may_fail)
        self.config = config
        self.connection = connection
        self.app = CliAppFactory().create_or_get_app()
        self.session: Session | None = None

    def run(self, step: str, argv: list[str], token: str) -> None:
        if argv[0] != WORKSHEET:  # as the shell hands it to the program (and `ps` shows it)
            assert not any("$(" in word or "`" in word for word in argv), f"{step}: command substitution"
            argv = [os.path.expandvars(word) for word in argv]
        command = Command(step, argv)
        self.flow.commands.append(command)
        match argv:
            case ["snow", *args]:
                self._snow(command, args)
            case [prompt, statement] if prompt == WORKSHEET:
                self._worksheet(command, statement)
            case ["export", assignment] if "=" in assignment:
                name, _, value = assignment.partition("=")
                os.environ[name] = token if value == "..." else value  # "..." is where the admin pastes it
            case ["export", name]:
                assert os.environ.get(name), f"{step}: `export {name}` exports nothing"
            case ["read", *flags, name] if all(flag.startswith("-") for flag in flags):
                assert "s" in "".join(flags), f"{step}: `read` without -s echoes what is pasted"
                os.environ[name] = token
            case ["python", "-m", module, *args] if module.startswith("jira_sync."):
                self._python(command, [module, *args])
            case ["." | "source", script]:
                assert script.endswith("bin/activate"), f"{step}: sources {script}"
                os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
            case _:
                pytest.fail(f"{step}: the tests do not know how to run `{' '.join(argv)}`")

    def _worksheet(self, command: Command, statement: str) -> None:
        from jira_sync import procedure

        if self.session is None:
            params = {
                **self.connection["session_parameters"],
                "nop_regexes": [r"select system\$cancel_all_queries"],
            }
            config = {**self.connection, "session_parameters": params, "server_session_keep_alive": True}
            self.session = Session.builder.configs(config).create()
        command.first = len(self.flow.account.statements)
        parse_statement(statement)
        if call := CALL_STATEMENT.match(statement):
            call = parse_call(call.group("call"))
            arguments = check_call_against_signature(
                call, procedure_signatures(yaml.safe_load((self.flow.project / "snowflake.yml").read_text()))
            )
            named = call.named or {
                arg.name: value for arg, value in zip(arguments, call.positional, strict=False)
            }
            if call.procedure == "add_jira_source":
                kwargs = {name: python_value(value) for name, value in named.items()}
                command.output = repr(procedure.add_jira_source(self.session, **kwargs))
            else:
                command.output = "not run: needs Jira and the secret"
        else:
            command.output = repr(self.session.sql(statement.rstrip(";")).collect())
        command.statements = self.flow.account.statements[command.first :]
        command.tasks = self.flow.account.tasks.snapshot()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    def _python(self, command: Command, args: list[str]) -> None:
        """`python -m jira_sync....` run by this Python on the project copy's sources."""
        env = {**os.environ, "PYTHONPATH": str(self.flow.project / "src")}
        result = subprocess.run(
            [sys.executable, "-m", *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        command.exit_code, command.output = result.returncode, result.stdout + result.stderr
        assert result.returncode == 0, f"`{' '.join(command.argv)}` failed:\n{command.output}"

    def _snow(self, command: Command, args: list[str]) -> None:
        from snowflake.cli.api.cli_global_context import _CONNECTION_CACHE
        from typer.testing import CliRunner

        first = len(self.flow.account.statements)
        with _captured_fds() as captured:
            try:
                result = CliRunner().invoke(self.app, ["--config-file", str(self.config), *args])
            finally:
                _CONNECTION_CACHE.clear()  # a new session for each command, as a new snow process has
        command.exit_code = result.exit_code
        command.output = result.output
        command.fd_output = captured.read_text(errors="replace")
        command.statements = self.flow.account.statements[first:]
        command.first = first
        command.tasks = self.flow.account.tasks.snapshot()
        assert result.exit_code == 0 or command.step in self.may_fail, (
            f"`{' '.join(command.argv)}` failed:\n{result.output}"
        )


@contextlib.contextmanager
def _captured_fds() -> Iterator[Path]:
    """Everything written to file descriptors 1 and 2 inside the block, in a file."""
    with tempfile.NamedTemporaryFile(delete=False) as sink:
        path = Path(sink.name)
    saved = [os.dup(1), os.dup(2)]
    sys.stdout.flush()
    sys.stderr.flush()
    with path.open("wb") as target:
        os.dup2(target.fileno(), 1)
        os.dup2(target.fileno(), 2)
        try:
            yield path
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


@contextlib.contextmanager
def _preserved_environment() -> Iterator[None]:
    """The commands export variables (the token among them) and put .venv/bin on PATH: for themselves only."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _preserved_logging() -> Iterator[None]:
    """snow configures logging with dictConfig(disable_existing_loggers=True): undo that for the other tests."""
    loggers = [
        logging.getLogger(),
        *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict)),
    ]
    saved = [(lg, lg.disabled, lg.level, lg.propagate, list(lg.handlers)) for lg in loggers]
    try:
        yield
    finally:
        for lg, disabled, level, propagate, handlers in saved:
            lg.disabled, lg.level, lg.propagate, lg.handlers[:] = disabled, level, propagate, handlers
        for name in set(logging.root.manager.loggerDict) - {lg.name for lg in loggers}:
            if isinstance(made := logging.root.manager.loggerDict[name], logging.Logger):
                made.handlers.clear()  # loggers snow made (its file handler) stop writing


def run_commands(
    base: Path, steps: list[tuple[str, list[list[str]], str]], may_fail: Collection[str] = ()
) -> Flow:
    """Run (step, commands, token) in order, in a copy of the project in `base`, against a new recording
    account; the token is what the admin pastes where a command reads one. A snow command of a step named in
    `may_fail` may exit non-zero (its exit code is kept); any other failing command fails the run."""
    project = base / "project"
    if not project.exists():
        shutil.copytree(ROOT, project, ignore=COPY_IGNORE)
    with (
        recording_account() as (account, connection),
        pytest.MonkeyPatch.context() as patch,
        _preserved_environment(),
        _preserved_logging(),
        warnings.catch_warnings(),
    ):
        os.environ.pop("JIRA_API_TOKEN", None)  # only what the docs export counts
        patch.chdir(project)
        flow = Flow(project, base / "snowflake", account)
        runner = _Runner(flow, write_snow_config(flow.snow_home, connection), connection, may_fail)
        try:
            for label, commands, token in steps:
                for argv in commands:
                    runner.run(label, argv, token)
        finally:
            runner.close()
    return flow
