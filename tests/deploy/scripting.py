"""The Snowflake Scripting blocks sql/ runs (`EXECUTE IMMEDIATE $$ ... $$`), read into what they do.

sqlglot cannot parse Snowflake Scripting, and the recording account cannot run it, so the sql/ files keep to one
small shape whose every SQL part is a plain statement: a cursor over one SELECT and a FOR loop over its rows
that either runs each row's SQL_TEXT (the statements are made by the query, so the query holds all the logic)
or raises a declared exception when the query returns a row (a check). `parse_block` reads that shape and
refuses any other, so nothing unchecked can hide in a block: the SELECT is parsed as Snowflake SQL by the
snippet checks, and run on the embedded warehouse by the recording account (task_graph.py), which then runs
each statement it made as Snowflake would.

    DECLARE
      <NAME> EXCEPTION (<code>, '<message>');   -- any number
      <cursor> CURSOR FOR <SELECT>;
      <variable> VARCHAR;                       -- for the statement form
    BEGIN
      FOR <row> IN <cursor> DO
        <variable> := <row>.SQL_TEXT;           -- runs each row's statement, or
        EXECUTE IMMEDIATE <variable>;
        IF (<row>.PROBLEM = '<NAME>') THEN      -- raises for the first row: the exception its PROBLEM
          RAISE <NAME>;                         -- names, else the last RAISE
        END IF;
        RAISE <NAME>;
      END FOR;
      RETURN '<text>';
    [EXCEPTION WHEN STATEMENT_ERROR THEN RETURN '<text>';]   -- a failed statement ends the block quietly
    END;
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BLOCK = re.compile(r"^\s*EXECUTE\s+IMMEDIATE\s+\$\$(?P<body>.*)\$\$\s*;?\s*$", re.S | re.I)

_EXCEPTION = re.compile(r"^(?P<name>\w+) EXCEPTION \((?P<code>-?\d+), '(?P<message>(?:[^']|'')*)'\)$", re.I)
_CURSOR = re.compile(r"^(?P<name>\w+) CURSOR FOR (?P<query>.+)$", re.I | re.S)
_VARIABLE = re.compile(r"^(?P<name>\w+) VARCHAR$", re.I)
_FOR = re.compile(r"^BEGIN FOR (?P<row>\w+) IN (?P<cursor>\w+) DO (?P<first>.+)$", re.I | re.S)
_ASSIGN = re.compile(r"^(?P<variable>\w+) := (?P<row>\w+)\.SQL_TEXT$", re.I)
_EXECUTE = re.compile(r"^EXECUTE IMMEDIATE (?P<variable>\w+)$", re.I)
_IF_RAISE = re.compile(r"^IF \((?P<row>\w+)\.PROBLEM = '(?P<value>\w+)'\) THEN RAISE (?P<name>\w+)$", re.I)
_RAISE = re.compile(r"^RAISE (?P<name>\w+)$", re.I)
_RETURN = re.compile(r"^RETURN '(?P<text>(?:[^']|'')*)'$", re.I)
_HANDLER = re.compile(r"^EXCEPTION WHEN STATEMENT_ERROR THEN RETURN '(?P<text>(?:[^']|'')*)'$", re.I)


@dataclass(frozen=True)
class Block:
    """What a block does: the rows of `query` are either statements to run (`runs_rows`) or problems."""

    query: str
    runs_rows: bool
    exceptions: dict[str, tuple[int, str]] = field(default_factory=dict)  # NAME -> (code, message)
    raised: dict[str, str] = field(default_factory=dict)  # a PROBLEM value -> the exception raised for it
    fallback: str | None = None  # the exception raised for any other problem
    returns: str = ""
    on_error: str | None = None  # what the block returns when a statement in it fails (None: it fails)

    def exception_for(self, problem: object) -> tuple[str, int, str]:
        """(name, code, message) of the exception raised for a row whose PROBLEM is `problem`."""
        name = self.raised.get(str(problem), self.fallback)
        assert name is not None, "a check block raises nothing"
        code, message = self.exceptions[name]
        return name, code, message


def parse_block(sql: str) -> Block:
    """The block of an `EXECUTE IMMEDIATE $$ ... $$` statement; ValueError for anything but the shape above."""
    match = BLOCK.match(sql)
    if not match:
        raise ValueError(f"not an EXECUTE IMMEDIATE $$ block: {sql[:80]}")
    parts = [" ".join(part.split()) for part in _statements(match["body"])]
    if not parts or not parts[0].upper().startswith("DECLARE "):
        raise ValueError("a block the tests can read starts with DECLARE")
    parts[0] = parts[0][len("DECLARE ") :]
    exceptions: dict[str, tuple[int, str]] = {}
    query = cursor = None
    variables = set()
    while parts and not parts[0].upper().startswith("BEGIN "):
        part = parts.pop(0)
        if found := _EXCEPTION.match(part):
            exceptions[found["name"].upper()] = (int(found["code"]), _unquote(found["message"]))
        elif found := _CURSOR.match(part):
            cursor, query = found["name"].upper(), found["query"]
        elif found := _VARIABLE.match(part):
            variables.add(found["name"].upper())
        else:
            raise ValueError(f"a declaration the tests cannot read: {part[:80]}")
    loop = _FOR.match(parts.pop(0)) if parts else None
    if not loop or query is None or loop["cursor"].upper() != cursor:
        raise ValueError("a block the tests can read loops over its one cursor")
    row = loop["row"].upper()
    body = [loop["first"]]
    while parts and parts[0].upper() != "END FOR":
        body.append(parts.pop(0))
    if not parts:
        raise ValueError("the FOR loop has no END FOR")
    parts.pop(0)
    returns = _RETURN.match(parts.pop(0)) if parts else None
    handler = _HANDLER.match(parts[0]) if parts else None
    if handler:
        parts.pop(0)
    if not returns or parts != ["END"]:
        raise ValueError(f"a block the tests can read ends with RETURN '...' and END, not {parts}")
    common = {
        "query": query,
        "exceptions": exceptions,
        "returns": _unquote(returns["text"]),
        "on_error": _unquote(handler["text"]) if handler else None,
    }
    assign = _ASSIGN.match(body[0])
    if len(body) == 2 and assign and (execute := _EXECUTE.match(body[1])):
        if (
            assign["row"].upper() != row
            or not {assign["variable"].upper(), execute["variable"].upper()} <= variables
        ):
            raise ValueError("the loop runs something other than its row's SQL_TEXT")
        return Block(runs_rows=True, **common)
    raised = {}
    for part in body[:-1]:
        if part.upper() == "END IF":
            continue
        branch = _IF_RAISE.match(part)
        if not branch or branch["row"].upper() != row or branch["value"] != branch["name"].upper():
            raise ValueError(f"a loop statement the tests cannot read: {part[:80]}")
        raised[branch["value"]] = branch["name"].upper()
    last = _RAISE.match(body[-1])
    if not last or not set(raised.values()) | {last["name"].upper()} <= exceptions.keys():
        raise ValueError("a check block raises exceptions it declares, the last one unconditionally")
    return Block(runs_rows=False, raised=raised, fallback=last["name"].upper(), **common)


def _unquote(text: str) -> str:
    return text.replace("''", "'")


def _statements(body: str) -> list[str]:
    """The body split at semicolons outside string literals, `--` comments dropped."""
    parts, current, quoted, i = [], [], False, 0
    while i < len(body):
        char = body[i]
        if not quoted and body.startswith("--", i):
            i = body.find("\n", i) if "\n" in body[i:] else len(body)
            continue
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return [part for part in parts if part]
