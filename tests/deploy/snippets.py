"""The README and sql/ read the way an admin reads them, and the checks every snippet of SQL must pass.

Statements are split as the connector under `snow sql` splits them (`split_statements`), parsed with sqlglot
in Snowflake's dialect (errors raise); sqlglot keeps some Snowflake-only DDL as an opaque `Command`, which is
accepted only for the kinds listed in `SNOWFLAKE_ONLY`. A CALL is parsed as the function call it holds, and
must name all of its arguments or none (Snowflake refuses `CALL p('a', x => 1)`).
"""

from __future__ import annotations

import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from scripting import BLOCK, parse_block
from snowflake.connector.util_text import split_statements
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SNOWFLAKE_YML = ROOT / "snowflake.yml"

# Snowflake DDL that sqlglot keeps as an opaque Command: accepted by its leading words (upper case).
SNOWFLAKE_ONLY = re.compile(
    r"""^(
        CREATE\ (OR\ REPLACE\ )?(ROLE|NETWORK\ RULE|SECRET|EXTERNAL\ ACCESS\ INTEGRATION|TASK)
        | CREATE\ OR\ ALTER\ TASK
        | ALTER\ (TASK|SECRET|NETWORK\ RULE|EXTERNAL\ ACCESS\ INTEGRATION|STREAMLIT)
        | ALTER\ SCHEMA\ \S+\ SET\ LOG_LEVEL
        | DROP\ (TASK|SECRET|NETWORK\ RULE)
        | GRANT\ (ROLE|OWNERSHIP)
        | SHOW\ INTEGRATIONS
    )\b""",
    re.VERBOSE,
)
CALL_STATEMENT = re.compile(r"^\s*CALL\s+(?P<call>.*?);?\s*$", re.S | re.I)
_COMMENTED_CALL = re.compile(r"--.*?\b(CALL\s+[\w.]+\s*\(.*?\))\s*;", re.I)


def section(markdown: str, title: str) -> str:
    """The text of the `## title` section (up to the next `## ` heading)."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert match, f"README has no section '## {title}'"
    return match.group(1)


def fenced_blocks(markdown: str, language: str | None = None) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order."""
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", markdown, re.S | re.M)
    return [(lang, body) for lang, body in blocks if language is None or lang == language]


def shell_commands(body: str) -> list[list[str]]:
    """The commands of a shell block as argv lists: continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", body)
    return [argv for line in joined.splitlines() if (argv := shlex.split(line, comments=True))]


def sql_statements(text: str) -> list[str]:
    """The statements of a SQL text, split as `snow sql` splits them, comments removed."""
    return [statement for statement, _ in split_statements(io.StringIO(text), remove_comments=True)]


def commented_calls(text: str) -> list[str]:
    """CALLs written in `--` comments (alternatives an admin copies as they are)."""
    return _COMMENTED_CALL.findall(text)


def leading_words(sql: str) -> str:
    return re.sub(r"\s+", " ", sql.strip()).upper()


def parse_statement(sql: str) -> exp.Expression:
    """Parse one statement as Snowflake SQL, raising on errors; an opaque Command must be Snowflake-only DDL. A
    Snowflake Scripting block must have the one shape scripting.py reads, and its query must parse."""
    if BLOCK.match(sql):
        parse_statement(parse_block(sql).query)
        return exp.Command(this="EXECUTE", expression=exp.Literal.string(sql))
    if call := CALL_STATEMENT.match(sql):
        parse_call(call.group("call"))
        return exp.Command(this="CALL", expression=exp.Literal.string(call.group("call")))
    parsed = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    if isinstance(parsed, exp.Command):
        assert SNOWFLAKE_ONLY.match(leading_words(sql)), f"sqlglot cannot check this statement: {sql[:120]}"
    return parsed


@dataclass(frozen=True)
class Call:
    procedure: str  # unqualified, lower case
    positional: tuple[exp.Expression, ...]
    named: dict[str, exp.Expression]


def parse_call(call: str) -> Call:
    """`name(args)` of a CALL; all arguments named or none."""
    function = sqlglot.parse_one(f"SELECT {call}", read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    function = function.expressions[0]
    if isinstance(function, exp.Dot):  # DB.SCHEMA.PROC(...)
        function = function.expression
    assert isinstance(function, exp.Anonymous), f"not a procedure call: CALL {call}"
    arguments = function.expressions
    named = {arg.this.name.lower(): arg.expression for arg in arguments if isinstance(arg, exp.Kwarg)}
    positional = tuple(arg for arg in arguments if not isinstance(arg, exp.Kwarg))
    assert not (named and positional), f"CALL {call}: name all arguments or none (Snowflake refuses a mix)"
    assert len(named) == sum(isinstance(arg, exp.Kwarg) for arg in arguments), f"CALL {call}: a name twice"
    return Call(function.name.lower(), positional, named)


def python_value(value: exp.Expression) -> Any:
    """A literal argument as the handler receives it."""
    if isinstance(value, exp.Null):
        return None
    if isinstance(value, exp.Boolean):
        return value.this
    if isinstance(value, exp.Literal):
        return value.this if value.is_string else int(value.this)
    if isinstance(value, exp.Array):
        return [python_value(item) for item in value.expressions]
    raise AssertionError(f"not a literal argument: {value.sql('snowflake')}")


@dataclass(frozen=True)
class Argument:
    name: str
    type: str
    default: str | None


def procedure_signatures(definition: dict[str, Any] | None = None) -> dict[str, list[Argument]]:
    """The procedures of snowflake.yml (lower-case names) and their arguments."""
    definition = definition or yaml.safe_load(SNOWFLAKE_YML.read_text())
    return {
        entity["identifier"]["name"].lower(): [
            Argument(arg["name"].lower(), arg["type"].upper(), arg.get("default"))
            for arg in entity.get("signature") or []
        ]
        for entity in definition["entities"].values()
        if entity["type"] == "procedure"
    }


def check_call_against_signature(call: Call, signatures: dict[str, list[Argument]]) -> list[Argument]:
    """The call's procedure exists, its arguments are the procedure's, the required ones given."""
    assert call.procedure in signatures, f"CALL {call.procedure}: snowflake.yml deploys no such procedure"
    arguments = signatures[call.procedure]
    if call.positional:
        assert len(call.positional) <= len(arguments), f"CALL {call.procedure}: too many arguments"
        given = {argument.name for argument in arguments[: len(call.positional)]}
    else:
        given = set(call.named)
        unknown = given - {argument.name for argument in arguments}
        assert not unknown, f"CALL {call.procedure}: no argument named {sorted(unknown)}"
    missing = [arg.name for arg in arguments if arg.default is None and arg.name not in given]
    assert not missing, f"CALL {call.procedure}: required arguments {missing} missing"
    return arguments


def documented_commands(sql_text: str) -> list[list[str]]:
    """The shell commands a SQL file's header comment tells the admin to run (`--   snow ...` lines)."""
    header = []
    for line in sql_text.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:])
    lines, continuing = [], False
    for line in header:
        if continuing or (line.startswith("   ") and re.match(r"(snow|export|read)\s", line.strip())):
            lines.append(line.strip())
            continuing = line.rstrip().endswith("\\")
    return shell_commands("\n".join(lines))


@dataclass(frozen=True)
class Procedure:
    """A CREATE PROCEDURE as sent: its arguments and clauses, read back from sqlglot's parse."""

    fqn: str  # DB.SCHEMA.NAME, upper case
    arguments: tuple[tuple[str, str, exp.Expression | None], ...]  # (name, TYPE, default)
    handler: str
    imports: tuple[str, ...]
    packages: tuple[str, ...]
    integrations: tuple[str, ...]
    secrets: dict[str, str]  # alias -> DB.SCHEMA.SECRET

    @property
    def name(self) -> str:
        return self.fqn.rsplit(".", 1)[-1].lower()


def _items(value: exp.Expression) -> list[exp.Expression]:
    if isinstance(value, exp.Paren):
        return [value.this]
    return list(value.expressions) if isinstance(value, exp.Tuple) else [value]


def parse_procedure(sql: str) -> Procedure:
    create = parse_statement(sql)
    assert isinstance(create, exp.Create) and create.kind == "PROCEDURE", (
        f"not a CREATE PROCEDURE: {sql[:80]}"
    )
    function = create.this
    name = function.this.this
    fqn = name.this.name if isinstance(name, exp.DynamicIdentifier) else function.this.sql("snowflake")
    arguments = []
    for column in function.expressions:
        default = next(
            (c.kind.this for c in column.constraints if isinstance(c.kind, exp.DefaultColumnConstraint)), None
        )
        arguments.append((column.name.lower(), column.kind.sql("snowflake").upper(), default))
    clauses: dict[str, exp.Expression] = {}
    for prop in create.args["properties"].expressions:
        if isinstance(prop, exp.HandlerProperty):
            clauses["handler"] = prop.this
        elif type(prop) is exp.Property:
            clauses[prop.name.lower()] = prop.args["value"]
    secrets = {
        pair.this.name: pair.expression.sql("snowflake").upper() for pair in _items(clauses["secrets"])
    }
    return Procedure(
        fqn=fqn.upper(),
        arguments=tuple(arguments),
        handler=clauses["handler"].name,
        imports=tuple(item.name for item in _items(clauses["imports"])),
        packages=tuple(item.name for item in _items(clauses["packages"])),
        integrations=tuple(
            item.sql("snowflake").upper() for item in _items(clauses["external_access_integrations"])
        ),
        secrets=secrets,
    )
