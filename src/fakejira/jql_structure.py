"""`POST /rest/api/3/jql/parse`: JQL -> Jira's JqlQuery structure (or its error messages).

Walks the syntax tree fakejira.jql builds (its node types are private to it, so this module is the one
reader of them outside the parser).
"""

from __future__ import annotations

from typing import Any

from fakejira import jql
from fakejira.jql import _EMPTY, _Bool, _Clause, _Function, _Operand, _Value


def _field(name: str) -> dict[str, str]:
    return {"name": name, "encodedName": f'"{name}"' if " " in name else name}


def _value(item: Any) -> dict[str, Any]:
    if item is _EMPTY:
        return {"keyword": "empty"}
    if isinstance(item, _Function):
        return {
            "function": item.name,
            "arguments": list(item.args),
            "encodedOperand": f"{item.name}({', '.join(item.args)})",
        }
    assert isinstance(item, _Value)
    return {"value": item.text, "encodedValue": f'"{item.text}"' if item.quoted else item.text}


def _operand(operand: _Operand) -> dict[str, Any]:
    if operand.is_list:
        return {"values": [_value(i) for i in operand.items], "encodedOperand": operand.source}
    return _value(operand.items[0])


def _clause(node: Any) -> dict[str, Any]:
    if isinstance(node, _Bool):
        return {"operator": node.op, "clauses": [_clause(child) for child in node.children]}
    assert isinstance(node, _Clause)
    return {"field": _field(node.field), "operator": node.op, "operand": _operand(node.operand)}


def structure(query: jql.Query) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if query.where is not None:
        out["where"] = _clause(query.where)
    if query.order_by:
        out["orderBy"] = {
            "fields": [
                {"field": _field(name), "direction": "desc" if desc else "asc"}
                for name, desc in query.order_by
            ]
        }
    return out


def parse_queries(queries: list[str], validation: str) -> list[dict[str, Any]]:
    """ParsedJqlQuery per query. `warn`/`none` still report syntax errors; validation problems become
    warnings under `warn` and vanish under `none` (the structure is then omitted: fakejira cannot parse
    without validating)."""
    out = []
    for text in queries:
        try:
            out.append({"query": text, "structure": structure(jql.parse(text))})
        except jql.JqlError as e:
            syntax = all(m.startswith("Error in the JQL Query") for m in e.messages)
            if syntax or validation == "strict":
                out.append({"query": text, "errors": list(dict.fromkeys(e.messages))})
            elif validation == "warn":
                out.append({"query": text, "warnings": list(dict.fromkeys(e.messages))})
            else:
                out.append({"query": text})
    return out
