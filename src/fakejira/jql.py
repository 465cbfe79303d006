"""JQL for the Jira emulator: tokenizer, recursive-descent parser, validator, evaluator (pure, no I/O).

The emulator must answer connectors' searches with Jira's results *and* Jira's refusals, so this is a real
parser for the subset connectors use rather than a few regexes: the precedence (NOT > AND > OR), the quoting,
the time-zone reading of dates and the wording of error messages all follow Jira Cloud.

Public API::

    query = parse('project = ALPHA AND updated >= "2024/01/01 10:00" ORDER BY updated')  # raises JqlError
    query.matches(issue, ctx) -> bool        query.filter(issues, ctx) -> list[dict]
    query.predicate(ctx) -> (issue -> bool)  query.sort(issues, ctx) -> list[dict]
    query.is_unbounded -> bool               query.referenced_fields() -> set[str]
    validate_values(query, vocabulary) -> list[str]   # values that do not exist on the site, Jira's wording
    resolve_keys(query, vocabulary) -> Query          # issue keys (old ones too) read as the issues' ids

Semantics worth knowing (each as Jira does it):
- ``!=``, ``not in`` and relational operators never match an issue whose field is empty
  (``assignee != bob`` leaves out unassigned issues).
- ``NOT`` is pushed down to the clauses by De Morgan's laws with the operator inverted, so
  ``NOT assignee = bob`` is ``assignee != bob`` and also leaves out unassigned issues.
- ``created = "2024/01/01 10:00"`` matches that exact instant (10:00:00.000 in the account's zone), nothing
  else.
- ``key``/``issuekey``/``id`` read a number as an issue id (compared numerically) and ``ABC-12`` as an issue
  key; ``key > ABC-12`` compares numbers within project ABC only.
- ``labels`` and user/option names compare case-insensitively.
- ORDER BY: EMPTY values sort as the largest value (last ascending, first descending); ties are broken by id
  ascending; no ORDER BY means ``id DESC``. ``priority`` sorts by rank (``DESC`` puts Highest first), users by
  display name, status/issuetype by name, project by key, key by project key then number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fakejira.jql_dates import (
    DATE_FUNCTIONS,
    DateOperand,
    invalid_date_message,
    issue_millis,
    read_date_function,
    read_date_literal,
)

__all__ = ["EvalContext", "JqlError", "Query", "Vocabulary", "parse", "resolve_keys", "validate_values"]


class JqlError(ValueError):
    """Bad JQL. `messages` are Jira-style errorMessages, ready for a 400 body."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class EvalContext:
    """Who searches and when: JQL dates are read in `tz`, relative dates and now() against `now` (aware)."""

    tz: ZoneInfo
    now: dt.datetime
    current_account_id: str
    users: Mapping[str, dict] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- tokens

_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc"})
_OPERATOR_TOKENS = ("!=", "<=", ">=", "!~", "&&", "||", "=", "<", ">", "~", "(", ")", ",", "&", "|", "!")
_RESERVED_CHARS = frozenset("+.;?*/%^$#@[]")
_BREAKS = frozenset("=!<>~(),&|\"'") | _RESERVED_CHARS
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", " ": " "}
_VALID_OPERATORS = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)


@dataclass(frozen=True)
class _Token:
    kind: str  # "word" (bare), "str" (quoted), "sym" (operator or punctuation), "eof"
    text: str
    pos: int
    end: int

    def keyword(self) -> str | None:
        """The lower-case keyword this token is, if it is an unquoted one (or a symbol spelling of one)."""
        if self.kind == "word" and self.text.lower() in _KEYWORDS:
            return self.text.lower()
        return _SYMBOL_KEYWORDS.get(self.text) if self.kind == "sym" else None

    def is_sym(self, text: str) -> bool:
        return self.kind == "sym" and self.text == text


_SYMBOL_KEYWORDS = {"&&": "and", "&": "and", "||": "or", "|": "or", "!": "not"}


def _syntax_error(source: str, message: str, pos: int | None) -> JqlError:
    """Jira's syntax-error wording: positions are 1-based line and character; none at the end of the query."""
    if pos is None:
        return JqlError([f"Error in the JQL Query: {message}"])
    line = source.count("\n", 0, pos) + 1
    character = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return JqlError([f"Error in the JQL Query: {message} (line {line}, character {character})"])


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        c, start = source[i], i
        if c.isspace():
            i += 1
            continue
        if c in "\"'":
            text, i = _read_string(source, i)
            tokens.append(_Token("str", text, start, i))
        elif (
            source.startswith("cf[", i) and (end := source.find("]", i)) > 0 and source[i + 3 : end].isdigit()
        ):
            i = end + 1
            tokens.append(_Token("word", source[start:i], start, i))
        elif symbol := next((s for s in _OPERATOR_TOKENS if source.startswith(s, i)), None):
            i += len(symbol)
            tokens.append(_Token("sym", symbol, start, i))
        elif c in _RESERVED_CHARS:
            raise _syntax_error(
                source,
                f"The character '{c}' is a reserved JQL character. You must enclose it in a string or use "
                f"the escape '\\u{ord(c):04x}' instead.",
                i,
            )
        else:
            while i < n and not source[i].isspace() and source[i] not in _BREAKS:
                i += 1
            tokens.append(_Token("word", source[start:i], start, i))
    tokens.append(_Token("eof", "", n, n))
    return tokens


def _read_string(source: str, start: int) -> tuple[str, int]:
    """Read the quoted string opening at `start`; returns its text and the index after the closing quote."""
    quote, out, i = source[start], [], start + 1
    while i < len(source):
        c = source[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            nxt = source[i + 1 : i + 2]
            if nxt in _ESCAPES and nxt:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            hexa = source[i + 2 : i + 6]
            if nxt == "u" and len(hexa) == 4 and all(h in "0123456789abcdefABCDEF" for h in hexa):
                out.append(chr(int(hexa, 16)))
                i += 6
                continue
            raise _syntax_error(source, f"The escape sequence '\\{nxt}' in the string is illegal.", i)
        out.append(c)
        i += 1
    raise _syntax_error(source, f"The quoted string '{''.join(out)}' has not been completed.", start)


# ---------------------------------------------------------------------------------------------- syntax tree

_EMPTY: Any = object()  # the EMPTY / null operand


@dataclass(frozen=True)
class _Value:
    text: str
    quoted: bool


@dataclass(frozen=True)
class _Function:
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class _Operand:
    items: tuple[Any, ...]  # _Value | _Function | _EMPTY
    is_list: bool
    source: str  # the operand as written, for messages


@dataclass(frozen=True)
class _Clause:
    field: str  # as written
    op: str  # lower case: "=", "!=", "<", ">", "<=", ">=", "~", "!~", "in", "not in", "is", "is not"
    operand: _Operand
    atoms: tuple[Any, ...] = ()  # filled by validation: field-specific parsed operand values


@dataclass(frozen=True)
class _Bool:
    op: str  # "and" | "or" | "not"
    children: tuple[Any, ...]


class _Parser:
    """Recursive descent over the token list. Grammar: query := [or] [ORDER BY sort (, sort)*];
    or := and (OR and)*; and := not (AND not)*; not := NOT not | '(' or ')' | clause."""

    def __init__(self, source: str):
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, expecting: str, token: _Token, suffix: str = "") -> JqlError:
        if token.kind == "eof":
            return _syntax_error(
                self.source, f"Expecting {expecting} before the end of the query.{suffix}", None
            )
        return _syntax_error(self.source, f"Expecting {expecting} but got '{token.text}'.{suffix}", token.pos)

    def reserved_word(self, token: _Token) -> JqlError:
        return _syntax_error(
            self.source,
            f"'{token.text}' is a reserved JQL word. You must surround it in quotation marks to use it in a "
            "query.",
            token.pos,
        )

    def query(self) -> tuple[Any, tuple[tuple[str, bool], ...]]:
        where = None
        if self.peek().kind != "eof" and self.peek().keyword() != "order":
            where = self.or_expr()
        order: tuple[tuple[str, bool], ...] = ()
        if self.peek().keyword() == "order":
            order = self.order_by()
        if self.peek().kind != "eof":
            raise self.fail("either 'OR' or 'AND'", self.peek())
        return where, order

    def or_expr(self) -> Any:
        return self.chain("or", self.and_expr)

    def and_expr(self) -> Any:
        return self.chain("and", self.not_expr)

    def chain(self, keyword: str, operand: Callable[[], Any]) -> Any:
        """operand (keyword operand)*: one precedence level of the binary operators."""
        children = [operand()]
        while self.peek().keyword() == keyword:
            self.take()
            children.append(operand())
        return children[0] if len(children) == 1 else _Bool(keyword, tuple(children))

    def not_expr(self) -> Any:
        token = self.peek()
        if token.keyword() == "not":
            self.take()
            return _Bool("not", (self.not_expr(),))
        if token.is_sym("("):
            self.take()
            inner = self.or_expr()
            if not self.peek().is_sym(")"):
                raise self.fail("')'", self.peek())
            self.take()
            return inner
        return self.clause()

    def field_name(self) -> str:
        token = self.take()
        if token.kind == "str" or (token.kind == "word" and token.keyword() is None):
            return token.text
        if token.kind == "word":
            raise self.reserved_word(token)
        raise self.fail("a field name", token)

    def clause(self) -> _Clause:
        name = self.field_name()
        op = self.operator()
        start = self.peek().pos
        items, is_list = self.operand()
        source = self.source[start : self.tokens[self.i - 1].end]
        return _Clause(name, op, _Operand(items, is_list, source))

    def operator(self) -> str:
        token = self.take()
        keyword = token.keyword()
        if token.kind == "sym" and token.text in ("=", "!=", "<", ">", "<=", ">=", "~", "!~"):
            return token.text
        if keyword == "in":
            return "in"
        if keyword in ("not", "is"):
            if self.peek().keyword() == ("in" if keyword == "not" else "not"):
                self.take()
                return f"{keyword} {'in' if keyword == 'not' else 'not'}"
            if keyword == "is":
                return "is"
            raise self.fail("'IN'", self.peek())
        if token.kind == "word" and token.text.lower() in ("was", "changed"):
            raise JqlError(
                [f"The operator '{token.text.upper()}' is not supported by the fakejira JQL emulator."]
            )
        raise self.fail("operator", token, " " + _VALID_OPERATORS)

    def operand(self) -> tuple[tuple[Any, ...], bool]:
        token = self.peek()
        if token.is_sym("("):
            self.take()
            items = [self.single()]
            while self.peek().is_sym(","):
                self.take()
                items.append(self.single())
            if not self.peek().is_sym(")"):
                raise self.fail("')'", self.peek())
            self.take()
            return tuple(items), True
        return (self.single(),), False

    def single(self) -> Any:
        token = self.take()
        if token.kind == "str":
            return _Value(token.text, True)
        if token.kind != "word":
            raise self.fail("either a value, list or function", token)
        keyword = token.keyword()
        if keyword in ("empty", "null"):
            return _EMPTY
        if keyword is not None:
            raise self.reserved_word(token)
        if self.peek().is_sym("("):
            self.take()
            args: list[str] = []
            while not self.peek().is_sym(")"):
                if args:
                    if not self.peek().is_sym(","):
                        raise self.fail("')'", self.peek())
                    self.take()
                arg = self.take()
                if arg.kind not in ("word", "str"):
                    raise self.fail("a function argument", arg)
                args.append(arg.text)
            self.take()
            return _Function(token.text, tuple(args))
        return _Value(token.text, False)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        self.take()
        if self.peek().keyword() != "by":
            raise self.fail("'BY'", self.peek())
        self.take()
        keys: list[tuple[str, bool]] = []
        while True:
            name = self.field_name()
            descending = False
            if self.peek().keyword() in ("asc", "desc"):
                descending = self.take().keyword() == "desc"
            elif self.peek().kind != "eof" and not self.peek().is_sym(","):
                raise self.fail("either 'ASC' or 'DESC'", self.peek())
            keys.append((name, descending))
            if self.peek().is_sym(","):
                self.take()
                continue
            if self.peek().kind != "eof":
                raise self.fail("either ',' or the end of the query", self.peek())
            return tuple(keys)


# ---------------------------------------------------------------------------------------------- fields


def _fold(value: Any) -> str:
    return str(value).casefold()


def _named_object(obj: Any) -> list[frozenset[str]]:
    """A Jira object (project, status, issuetype, priority, statusCategory) matches by key, id or name."""
    if not obj:
        return []
    return [frozenset(_fold(obj[k]) for k in ("key", "id", "name") if obj.get(k) not in (None, ""))]


def _user(obj: Any, ctx: EvalContext) -> list[frozenset[str]]:
    """A user matches by accountId, and by display name or email as Jira still accepts them in JQL."""
    if not obj:
        return []
    known = ctx.users.get(obj.get("accountId", ""), {})
    names = {obj.get("accountId"), obj.get("displayName"), obj.get("emailAddress")}
    names |= {known.get("displayName"), known.get("emailAddress")}
    return [frozenset(_fold(n) for n in names if n)]


def _user_sort(obj: Any, ctx: EvalContext) -> str | None:
    if not obj:
        return None
    known = ctx.users.get(obj.get("accountId", ""), {})
    return _fold(known.get("displayName") or obj.get("displayName") or obj.get("accountId", ""))


def _priority_rank(obj: Any) -> Any:
    """Higher priority sorts as the larger value, so ``priority DESC`` puts Highest (Jira id 1) first."""
    if not obj:
        return None
    ident = str(obj.get("id", ""))
    return (0, -int(ident), "") if ident.isdigit() else (1, 0, _fold(obj.get("name", "")))


def _split_key(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project.casefold(), int(number)


@dataclass(frozen=True)
class _Field:
    """How one JQL field reads an issue. kind: "choice" (by names), "key", "date", "text" (sort only)."""

    name: str
    kind: str
    choices: Callable[[dict, EvalContext], list[frozenset[str]]] | None = None
    stamp: str = ""
    sort_value: Callable[[dict, EvalContext], Any] | None = None
    empty_allowed: bool = True
    functions: frozenset[str] = frozenset()


def _fields_of(issue: dict) -> dict:
    return issue.get("fields") or {}


def _object_field(name: str, getter: Callable[[dict], Any], sort_name: str = "name") -> _Field:
    return _Field(
        name,
        "choice",
        choices=lambda issue, ctx: _named_object(getter(issue)),
        sort_value=lambda issue, ctx: _fold(getter(issue)[sort_name]) if getter(issue) else None,
        empty_allowed=name not in ("project", "issuetype", "status", "statusCategory"),
    )


def _user_field(name: str) -> _Field:
    return _Field(
        name,
        "choice",
        choices=lambda issue, ctx: _user(_fields_of(issue).get(name), ctx),
        sort_value=lambda issue, ctx: _user_sort(_fields_of(issue).get(name), ctx),
        functions=frozenset({"currentuser"}),
    )


def _date_field(name: str, stamp: str) -> _Field:
    return _Field(
        name,
        "date",
        stamp=stamp,
        sort_value=lambda issue, ctx: issue_millis(_fields_of(issue).get(stamp)),
        functions=frozenset(DATE_FUNCTIONS),
    )


def _labels(issue: dict) -> list[str]:
    return _fields_of(issue).get("labels") or []


_FIELD_LIST = (
    _object_field("project", lambda issue: _fields_of(issue).get("project"), sort_name="key"),
    _Field(
        "issuekey",
        "key",
        sort_value=lambda issue, ctx: _split_key(issue["key"]),
        empty_allowed=False,
    ),
    _object_field("issuetype", lambda issue: _fields_of(issue).get("issuetype")),
    _object_field("status", lambda issue: _fields_of(issue).get("status")),
    _object_field(
        "statusCategory", lambda issue: (_fields_of(issue).get("status") or {}).get("statusCategory")
    ),
    _Field(
        "priority",
        "choice",
        choices=lambda issue, ctx: _named_object(_fields_of(issue).get("priority")),
        sort_value=lambda issue, ctx: _priority_rank(_fields_of(issue).get("priority")),
    ),
    _user_field("assignee"),
    _user_field("reporter"),
    _date_field("created", "created"),
    _date_field("updated", "updated"),
    _date_field("resolved", "resolutiondate"),
    _Field(
        "labels",
        "choice",
        choices=lambda issue, ctx: [frozenset({_fold(label)}) for label in _labels(issue)],
        sort_value=lambda issue, ctx: tuple(sorted(_fold(label) for label in _labels(issue))) or None,
    ),
    _Field("summary", "text", sort_value=lambda issue, ctx: _fold(_fields_of(issue).get("summary") or "")),
    _Field("id", "key", sort_value=lambda issue, ctx: int(issue["id"]), empty_allowed=False),
)
_BY_NAME = {f.name.lower(): f for f in _FIELD_LIST}
_ALIASES = {
    "key": "issuekey",
    "type": "issuetype",
    "category": "statuscategory",
    "createddate": "created",
    "updateddate": "updated",
    "resolutiondate": "resolved",
}
_OPERATORS_BY_KIND = {
    "choice": frozenset({"=", "!=", "in", "not in", "is", "is not"}),
    "key": frozenset({"=", "!=", "in", "not in", "<", ">", "<=", ">="}),
    "date": frozenset({"=", "!=", "in", "not in", "is", "is not", "<", ">", "<=", ">="}),
    "text": frozenset(),
}
_RELATIONAL = frozenset({"<", ">", "<=", ">="})
_INVERSE = {
    "=": "!=", "!=": "=", "in": "not in", "not in": "in", "is": "is not", "is not": "is",
    "<": ">=", ">=": "<", ">": "<=", "<=": ">",
}  # fmt: skip


def _field(name: str) -> _Field | None:
    lowered = name.lower()
    return _BY_NAME.get(_ALIASES.get(lowered, lowered))


# ---------------------------------------------------------------------------------------------- validation


def _validate(clause: _Clause, messages: list[str]) -> _Clause:
    """Check one clause as Jira's validators do; returns it with its operand read for its field (`atoms`)."""
    spec = _field(clause.field)
    if spec is None:
        messages.append(f"Field '{clause.field}' does not exist or you do not have permission to view it.")
        return clause
    op, operand, name = clause.op, clause.operand, clause.field
    if op not in _OPERATORS_BY_KIND[spec.kind]:
        messages.append(f"The operator '{op}' is not supported by the '{name}' field.")
        return clause
    list_op = op in ("in", "not in")
    if operand.is_list and not list_op:
        messages.append(
            f"Operator '{op}' does not support the list value '{operand.source}' for field '{name}'."
        )
        return clause
    if list_op and not operand.is_list and not isinstance(operand.items[0], _Function):
        messages.append(
            f"Operator '{op}' does not support the non-list value '{operand.source}' for field '{name}'."
        )
        return clause
    if op in ("is", "is not") and operand.items[0] is not _EMPTY:
        messages.append(
            f"The operator '{op}' only supports searching for EMPTY values, not '{operand.source}'."
        )
        return clause
    if _EMPTY in operand.items and (not spec.empty_allowed or op in _RELATIONAL):
        messages.append(
            f"The field '{name}' does not support searching for EMPTY values with the operator '{op}'."
        )
        return clause
    before = len(messages)
    atoms = tuple(_read_atom(spec, name, item, messages) for item in operand.items)
    return clause if len(messages) > before else _Clause(name, op, operand, atoms)


def _read_atom(spec: _Field, name: str, item: Any, messages: list[str]) -> Any:
    """One operand value read for its field: casefolded name, (id,) / (project, number) key, DateOperand."""
    if item is _EMPTY:
        return _EMPTY
    if isinstance(item, _Function):
        return _read_function(spec, name, item, messages)
    if spec.kind == "choice":
        return _fold(item.text)
    if spec.kind == "key":
        text = item.text.strip()
        if text.isdigit():
            return ("id", int(text))
        project, _, number = text.rpartition("-")
        if project and number.isdigit():
            return ("key", project.casefold(), int(number))
        messages.append(f"The issue key '{item.text}' for field '{name}' is invalid.")
        return None
    date = read_date_literal(item.text, item.quoted)
    if date is None:
        messages.append(invalid_date_message(item.text, name))
    return date


def _read_function(spec: _Field, name: str, item: _Function, messages: list[str]) -> Any:
    lowered = item.name.lower()
    if lowered not in DATE_FUNCTIONS and lowered != "currentuser":
        messages.append(f"Unable to find JQL function '{item.name}()'.")
        return None
    if lowered not in spec.functions:
        messages.append(f"A value provided by the function '{item.name}' is invalid for the field '{name}'.")
        return None
    low, high = DATE_FUNCTIONS.get(lowered, (0, 0))
    if not low <= len(item.args) <= high:
        expected = f"'{low}'" if low == high else f"between '{low}' and '{high}'"
        messages.append(
            f"Function '{item.name}' expected {expected} arguments but received '{len(item.args)}'."
        )
        return None
    if lowered == "currentuser":
        return item
    date = read_date_function(item.name, item.args)
    if date is None:
        messages.append(
            f"Duration for function '{item.name}' should have the format (+/-)n(wdhm), "
            "e.g -1d for 1 day earlier."
        )
    return date


def _validate_tree(node: Any, messages: list[str]) -> Any:
    if isinstance(node, _Clause):
        return _validate(node, messages)
    return _Bool(node.op, tuple(_validate_tree(child, messages) for child in node.children))


# ---------------------------------------------------------------------------------------------- evaluation

Predicate = Callable[[dict], bool]


def _compile(node: Any, ctx: EvalContext, negate: bool) -> Predicate:
    """Bind the tree to one context; NOT is pushed down to the clauses (De Morgan, operators inverted)."""
    if isinstance(node, _Clause):
        return _compile_clause(node, ctx, _INVERSE[node.op] if negate else node.op)
    if node.op == "not":
        return _compile(node.children[0], ctx, not negate)
    parts = [_compile(child, ctx, negate) for child in node.children]
    if (node.op == "and") != negate:
        return lambda issue: all(p(issue) for p in parts)
    return lambda issue: any(p(issue) for p in parts)


def _compile_clause(clause: _Clause, ctx: EvalContext, op: str) -> Predicate:
    spec = _field(clause.field)
    assert spec is not None
    has_empty = _EMPTY in clause.atoms
    values = [_resolve(spec, atom, ctx) for atom in clause.atoms if atom is not _EMPTY]
    items, equal, compare = _readers(spec, ctx)

    def any_equal(issue_items: list[Any]) -> bool:
        return any(equal(item, value) for item in issue_items for value in values)

    if op in ("is", "is not") or (op in ("=", "!=") and has_empty):
        wants_empty = op in ("is", "=")
        return lambda issue: (not items(issue)) == wants_empty
    if op in ("=", "in"):
        return lambda issue: (has_empty and not items(issue)) or any_equal(items(issue))
    if op in ("!=", "not in"):
        return lambda issue: bool(found := items(issue)) and not any_equal(found)
    relation = {
        "<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
    }[op]  # fmt: skip
    return lambda issue: any(
        (c := compare(item, value)) is not None and relation(c) for item in items(issue) for value in values
    )


def _resolve(spec: _Field, atom: Any, ctx: EvalContext) -> Any:
    """An operand value in the context: currentUser() -> the account, dates -> epoch milliseconds."""
    if isinstance(atom, _Function):  # currentUser()
        return _fold(ctx.current_account_id)
    if isinstance(atom, DateOperand):
        return atom.millis(ctx.tz, ctx.now)
    return atom


def _readers(spec: _Field, ctx: EvalContext) -> tuple[Callable[[dict], list[Any]], Callable, Callable]:
    """(items of an issue, equality of an item with a value, comparison -> sign or None when incomparable)."""
    if spec.kind == "choice":
        assert spec.choices is not None
        choices = spec.choices
        return (
            (lambda issue: choices(issue, ctx)),
            (lambda item, value: value in item),
            (lambda item, value: None),
        )
    if spec.kind == "date":
        stamp = spec.stamp

        def stamps(issue: dict) -> list[int]:
            millis = issue_millis(_fields_of(issue).get(stamp))
            return [] if millis is None else [millis]

        return (
            stamps,
            (lambda item, value: item == value),
            (lambda item, value: (item > value) - (item < value)),
        )
    return (lambda issue: [issue]), _key_equal, _key_compare


def _conjuncts(node: Any) -> Iterator[Any]:
    """The parts of a top-level AND (nested ANDs flattened), or the node itself."""
    if isinstance(node, _Bool) and node.op == "and":
        for child in node.children:
            yield from _conjuncts(child)
    else:
        yield node


def _key_equal(issue: dict, value: tuple) -> bool:
    return _key_compare(issue, value) == 0


def _key_compare(issue: dict, value: tuple) -> int | None:
    """Sign of issue vs value: ids compare numerically, keys only within one project (else None)."""
    if value[0] == "id":
        mine, theirs = int(issue["id"]), value[1]
    else:
        project, mine = _split_key(issue["key"])
        if project != value[1]:
            return None
        theirs = value[2]
    return (mine > theirs) - (mine < theirs)


# ---------------------------------------------------------------------------------------------- query


@dataclass(frozen=True)
class Query:
    """A parsed, validated JQL query. Evaluate with `matches`/`filter`, order with `sort`."""

    jql: str
    where: Any  # syntax tree, or None when the query has no restriction
    order_by: tuple[tuple[str, bool], ...]  # (canonical field name, descending)

    @property
    def is_unbounded(self) -> bool:
        """No WHERE clause at all (empty, or only ORDER BY): Jira answers 400 for those on /search/jql."""
        return self.where is None

    def predicate(self, ctx: EvalContext) -> Predicate:
        """The WHERE clause bound to `ctx` once (dates read in its zone), for evaluating many issues."""
        if self.where is None:
            return lambda issue: True
        return _compile(self.where, ctx, negate=False)

    def matches(self, issue: dict, ctx: EvalContext) -> bool:
        return self.predicate(ctx)(issue)

    def sorted_start(self, ctx: EvalContext) -> tuple[Callable[[dict], int | None], int] | None:
        """Where a scan of issues in this query's order may start: (the first sort key's value of an issue,
        the least value a match can have), when the query is sorted by a date ascending first and its WHERE
        requires `date >= value` (or `>`) in its top-level AND. Every issue before that point in the order
        fails the WHERE, so a search may bisect past them. None when the query gives no such bound."""
        if not self.order_by or self.order_by[0][1] or self.where is None:
            return None
        spec = _BY_NAME[self.order_by[0][0].lower()]
        if spec.kind != "date":
            return None
        bounds = [
            _resolve(spec, clause.atoms[0], ctx)
            for clause in _conjuncts(self.where)
            if isinstance(clause, _Clause)
            and clause.op in (">=", ">")
            and _field(clause.field).name == spec.name  # type: ignore[union-attr]
            and len(clause.atoms) == 1
            and isinstance(clause.atoms[0], DateOperand)
        ]
        if not bounds:
            return None
        assert spec.sort_value is not None
        return (lambda issue, value_of=spec.sort_value: value_of(issue, ctx)), max(bounds)

    def filter(self, issues: Iterable[dict], ctx: EvalContext) -> list[dict]:
        keep = self.predicate(ctx)
        return [issue for issue in issues if keep(issue)]

    def sort(self, issues: Iterable[dict], ctx: EvalContext) -> list[dict]:
        """ORDER BY (default ``id DESC``), ties by id ascending; EMPTY sorts as the largest value."""
        ordered = sorted(issues, key=lambda issue: int(issue["id"]))
        for name, descending in reversed(self.order_by or (("id", True),)):
            spec = _BY_NAME[name.lower()]
            assert spec.sort_value is not None
            value_of = spec.sort_value

            def key(issue: dict, value_of: Callable = value_of) -> tuple:
                value = value_of(issue, ctx)
                return (1, 0) if value is None else (0, value)

            ordered.sort(key=key, reverse=descending)  # stable: earlier keys and the id tie-break survive
        return ordered

    def referenced_fields(self) -> set[str]:
        """Canonical names of the fields the query reads (WHERE and ORDER BY)."""
        found = {name for name, _ in self.order_by}
        stack = [self.where] if self.where is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, _Clause):
                found.add(_field(node.field).name)  # type: ignore[union-attr]
            else:
                stack.extend(node.children)
        return found


def parse(jql: str) -> Query:
    """Parse and validate `jql`; raises JqlError with every validation message Jira would give at once."""
    where, order = _Parser(jql).query()
    messages: list[str] = []
    if where is not None:
        where = _validate_tree(where, messages)
    canonical: list[tuple[str, bool]] = []
    for name, descending in order:
        spec = _field(name)
        if spec is None:
            messages.append(f"Field '{name}' does not exist or you do not have permission to view it.")
        else:
            canonical.append((spec.name, descending))
    if messages:
        raise JqlError(messages)
    return Query(jql, where, tuple(canonical))


# ---------------------------------------------------------------------------------------------- site values


@dataclass(frozen=True)
class Vocabulary:
    """The values that exist on the site *for one account*, which Jira checks a query's values against.

    Kept apart from `parse` because it is the searching account's view of the site (a project it may not
    browse does not exist for it), so the parser stays pure. Names, keys and ids are casefolded; `issue_id`
    maps an issue key, current or old (before a move), to the id of a live issue the account may see.
    """

    projects: frozenset[str]  # keys, ids and names
    issue_types: frozenset[str]  # names and ids
    statuses: frozenset[str]  # names and ids
    issue_id: Callable[[str], str | None]


_EQUALITY = frozenset({"=", "!=", "in", "not in"})
_NAMED_FIELDS = {"project": "projects", "issuetype": "issue_types", "status": "statuses"}


def _clauses(node: Any) -> Iterable[_Clause]:
    """Every clause of a syntax tree, left to right (so messages come in the order of the query)."""
    if isinstance(node, _Clause):
        yield node
    elif node is not None:
        for child in node.children:
            yield from _clauses(child)


def _values(clause: _Clause) -> list[_Value]:
    return [item for item in clause.operand.items if isinstance(item, _Value)]


def validate_values(query: Query, vocabulary: Vocabulary) -> list[str]:
    """Jira's value validation: every literal of `=`, `!=`, `in` and `not in` on project, issuetype and
    status must name one that exists, and every issue key of key/issuekey/id an issue that exists; one
    message per bad value, in query order, without repeats. Numeric issue ids are never checked (Jira just
    matches nothing), nor are relational operators, EMPTY or functions."""
    messages: list[str] = []
    for clause in _clauses(query.where):
        spec = _field(clause.field)
        if spec is None or clause.op not in _EQUALITY:
            continue
        if spec.name in _NAMED_FIELDS:
            known: frozenset[str] = getattr(vocabulary, _NAMED_FIELDS[spec.name])
            messages += [
                f"The value '{value.text}' does not exist for the field '{clause.field}'."
                for value in _values(clause)
                if _fold(value.text) not in known
            ]
        elif spec.kind == "key":
            messages += [
                f"An issue with key '{value.text}' does not exist for field '{clause.field}'."
                for value in _values(clause)
                if not value.text.strip().isdigit() and vocabulary.issue_id(value.text.strip()) is None
            ]
    return list(dict.fromkeys(messages))


def _map_clauses(node: Any, change: Callable[[_Clause], _Clause]) -> Any:
    if isinstance(node, _Clause):
        return change(node)
    if node is None:
        return None
    return _Bool(node.op, tuple(_map_clauses(child, change) for child in node.children))


def resolve_keys(query: Query, vocabulary: Vocabulary) -> Query:
    """The query with the issue keys of `=`/`!=`/`in`/`not in` read as the ids of their issues.

    An issue keeps its id when it moves and Jira still finds it by its old key (``key = OLD-1``), so equality
    on keys is equality on the issue behind the key. Relational operators keep comparing key numbers."""

    def by_id(atom: Any) -> Any:
        if isinstance(atom, tuple) and atom[0] == "key":
            found = vocabulary.issue_id(f"{atom[1]}-{atom[2]}")
            return atom if found is None else ("id", int(found))
        return atom

    def change(clause: _Clause) -> _Clause:
        spec = _field(clause.field)
        if spec is None or spec.kind != "key" or clause.op not in _EQUALITY:
            return clause
        return dataclasses.replace(clause, atoms=tuple(by_id(atom) for atom in clause.atoms))

    return dataclasses.replace(query, where=_map_clauses(query.where, change))
