"""Check emulator answers against Atlassian's own contracts: the Jira REST v3 OpenAPI spec and ADF.

Why a harness rather than hand-written asserts: the emulator is only useful if it answers like Jira
Cloud, and the spec is the one description of "like Jira Cloud" that nobody on the team wrote. Each
HTTP answer is matched to its operation (method + path template), and the body is validated against
that operation's response schema for the status code. The spec is OpenAPI 3.0.1, whose schema dialect
is Draft 4 plus ``nullable``; ``$ref`` siblings are ignored in both, so a Draft 4 validator over the
whole document (registered with ``referencing``) gives the right semantics once ``nullable`` is
rewritten as a ``null`` type.

``IssueBean.fields`` is free-form in the spec, so the values of well-known fields are checked against
the component schemas Jira renders them with (``FIELD_SCHEMAS``, ``SCALAR_CHECKS``), and rich-text
values against the ADF schema. The Agile REST API (``/rest/agile/1.0``) is not in the spec; its page
shapes are written by hand from Atlassian's reference (``AGILE_SCHEMAS``).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_FILE = "jira-platform-v3.swagger-v3.v3.json"
ADF_FILE = "adf-json-schema-v1-full.json"
SPEC_URI = "https://spec.fakejira.invalid/jira-platform-v3.json"

# Jira renders every timestamp as "2024-03-05T14:07:33.123+0000" (offset without colon); that is not
# RFC 3339, so the stock ``date-time`` checker would reject real Jira answers. ``date`` is an ISO date.
JIRA_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
V2_PREFIX = re.compile(r"^/rest/api/(2|latest)/")

# System field id -> component schema Jira renders the value with (None allowed where Jira sends null).
FIELD_SCHEMAS: Mapping[str, tuple[str, bool]] = {
    "status": ("StatusDetails", False),
    "priority": ("Priority", True),
    "project": ("ProjectDetails", False),
    "issuetype": ("IssueTypeDetails", False),
    "resolution": ("Resolution", True),
    "assignee": ("UserDetails", True),
    "reporter": ("UserDetails", True),
    "creator": ("UserDetails", True),
    "votes": ("Votes", False),
    "comment": ("PageOfComments", False),
    "worklog": ("PageOfWorklogs", False),
    "timetracking": ("TimeTrackingDetails", False),
}
FIELD_ARRAY_SCHEMAS: Mapping[str, str] = {
    "fixVersions": "Version",
    "versions": "Version",
    "components": "ProjectComponent",
    "attachment": "Attachment",
}
ADF_SYSTEM_FIELDS = ("description", "environment")
# Fields holding a page of items with rich text inside: field -> (list key, ADF key of each item).
ADF_PAGED_FIELDS: Mapping[str, tuple[str, str]] = {
    "comment": ("comments", "body"),
    "worklog": ("worklogs", "comment"),
}
ADF_CUSTOM_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:textarea"


def reference_dir() -> Path:
    """Where the two reference documents live: ``$JIRA_REFERENCE_DIR``, a ``reference/`` folder beside
    this file if the repository vendors them, else the team's shared folder next to the checkout."""
    configured = os.environ.get("JIRA_REFERENCE_DIR")
    if configured:
        return Path(configured)
    vendored = Path(__file__).resolve().parent / "reference"
    if (vendored / SPEC_FILE).exists():
        return vendored
    return Path(__file__).resolve().parents[3] / "shared" / "jira"


def _jira_format_checker() -> FormatChecker:
    """Formats as Jira means them: its own timestamp shape, 32/64-bit integers, absolute URIs."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _datetime(value: object) -> bool:
        return not isinstance(value, str) or bool(JIRA_DATETIME.match(value))

    @checker.checks("date")
    def _date(value: object) -> bool:
        return not isinstance(value, str) or bool(ISO_DATE.match(value))

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def _int64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    return checker


FORMAT_CHECKER = _jira_format_checker()


# Where a schema contradicts Atlassian's own example response for the same operation, the example
# shows what Jira really sends, and the schema is widened by exactly that: (schema, property, property
# schema, the operation whose example proves it). Everything else in the spec is taken as written.
SPEC_ERRATA: tuple[tuple[str, str, dict, str], ...] = (
    ("ServerInformation", "defaultLocale", {"type": "object"}, "getServerInfo"),
    ("AuditRecordBean", "authorAccountId", {"type": "string"}, "getAuditRecords"),
    ("BulkIssueResults", "expand", {"type": "string"}, "bulkFetchIssues"),
    ("ChangeDetails", "from", {"type": "string", "nullable": True}, "getChangeLogs"),
    ("ChangeDetails", "to", {"type": "string", "nullable": True}, "getChangeLogs"),
    ("ChangeDetails", "fromString", {"type": "string", "nullable": True}, "getChangeLogs"),
    ("ChangeDetails", "toString", {"type": "string", "nullable": True}, "getChangeLogs"),
    ("ResolutionJsonBean", "isDefault", {"type": "boolean"}, "searchResolutions"),
)


def apply_errata(spec: dict) -> dict:
    """A copy of ``spec`` with ``SPEC_ERRATA`` applied."""
    fixed = copy.deepcopy(spec)
    for schema, prop, prop_schema, _operation in SPEC_ERRATA:
        fixed["components"]["schemas"][schema]["properties"][prop] = prop_schema
    return fixed


def openapi_to_draft4(node: Any) -> Any:
    """Translate OpenAPI 3.0 schema semantics to Draft 4.

    ``nullable: true`` (always beside ``type`` in this spec) becomes a ``null`` type.
    ``additionalProperties: false`` beside ``anyOf``/``oneOf`` and no ``properties`` of its own (e.g.
    ``JqlQueryClause``) means "nothing beyond the alternatives' properties" to Atlassian's generator,
    but "no properties at all" to JSON Schema; it is dropped so the alternatives decide.
    """
    if isinstance(node, list):
        return [openapi_to_draft4(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_draft4(value) for key, value in node.items()}
    if (
        out.get("additionalProperties") is False
        and "properties" not in out
        and ("anyOf" in out or "oneOf" in out)
    ):
        del out["additionalProperties"]
    if out.pop("nullable", False):
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, found by method and concrete path."""

    method: str
    template: str
    operation_id: str
    responses: Mapping[str, Any]

    def response_pointer(self, status: int) -> str | None:
        """JSON pointer of the JSON response schema for ``status``, or None if the spec has none."""
        for code in (str(status), f"{str(status)[0]}XX", "default"):
            response = self.responses.get(code)
            if response is None:
                continue
            if "schema" not in response.get("content", {}).get("application/json", {}):
                return None
            return "/".join(
                (
                    "#/paths",
                    _pointer_escape(self.template),
                    self.method,
                    "responses",
                    code,
                    "content",
                    _pointer_escape("application/json"),
                    "schema",
                )
            )
        return None

    def example(self, status: int) -> Any:
        """The spec's example body for ``status`` (parsed from its JSON string), or None."""
        content = self.responses.get(str(status), {}).get("content", {}).get("application/json", {})
        raw = content.get("example")
        return json.loads(raw) if isinstance(raw, str) else raw


def adf_node_types(definitions: Mapping[str, Any]) -> dict[str, frozenset[str] | None]:
    """For each ADF definition, the node ``type`` values it can accept (None: not a node, or any).

    Every ADF node schema pins ``properties.type.enum``; wrappers combine others with ``allOf`` or
    ``anyOf``. Knowing this lets ``anyOf`` skip alternatives that cannot match a node's ``type``.
    """
    found: dict[str, frozenset[str] | None] = {}

    def of(schema: Mapping[str, Any]) -> frozenset[str] | None:
        if "$ref" in schema:
            return named(schema["$ref"].rsplit("/", 1)[-1])
        enum = schema.get("properties", {}).get("type", {}).get("enum")
        if enum is not None:
            return frozenset(enum)
        if "allOf" in schema:
            known = [types for part in schema["allOf"] if (types := of(part)) is not None]
            return frozenset.intersection(*known) if known else None
        if "anyOf" in schema:
            parts = [of(part) for part in schema["anyOf"]]
            return None if any(p is None for p in parts) else frozenset().union(*parts)
        return None

    def named(name: str) -> frozenset[str] | None:
        if name not in found:
            found[name] = None  # cycles: unknown until resolved
            found[name] = of(definitions[name])
        return found[name]

    for name in definitions:
        named(name)
    return found


def adf_validator_class(definitions: Mapping[str, Any]) -> Any:
    """Draft 4 with an ``anyOf`` that only tries node alternatives whose ``type`` fits the node.

    Same verdicts as plain Draft 4 (an alternative pinned to another ``type`` always fails), but
    without evaluating every wrong alternative in depth, which made ADF checks ~10x slower.
    """
    node_types = {f"#/definitions/{name}": types for name, types in adf_node_types(definitions).items()}
    plain_any_of = Draft4Validator.VALIDATORS["anyOf"]

    def typed_any_of(validator: Any, any_of: list, instance: Any, schema: Any) -> Any:
        kind = instance.get("type") if isinstance(instance, dict) else None
        if isinstance(kind, str):
            fitting = [alt for alt in any_of if kind in (node_types.get(alt.get("$ref", "")) or {kind})]
            any_of = fitting or any_of
        yield from plain_any_of(validator, any_of, instance, schema)

    return validators.extend(Draft4Validator, {"anyOf": typed_any_of})


class JiraSpec:
    """The OpenAPI document of Jira REST v3 plus the ADF schema, ready to validate bodies."""

    def __init__(self, spec: dict, adf_schema: dict) -> None:
        self.document = spec
        self._adf = adf_schema
        converted = openapi_to_draft4(apply_errata(spec))
        self._registry: Registry = Registry().with_resource(
            SPEC_URI, Resource(contents=converted, specification=DRAFT4)
        )
        self._validators: dict[str, Draft4Validator] = {}
        self._templates = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"), template)
            for template in spec["paths"]
        ]

    @classmethod
    def load(cls, directory: Path | None = None) -> JiraSpec:
        folder = directory or reference_dir()
        spec = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
        adf = json.loads((folder / ADF_FILE).read_text(encoding="utf-8"))
        return cls(spec, adf)

    def operation(self, method: str, path: str) -> Operation:
        """The operation serving ``method path``; literal segments beat templates (``issue/bulkfetch``).

        REST v2 (and ``latest``) paths map to the same v3 operations: Atlassian documents the two
        versions as one collection of operations, differing only in rich text (ADF in v3).
        """
        path = V2_PREFIX.sub("/rest/api/3/", urlsplit(path).path.rstrip("/") or "/")
        method = method.lower()
        candidates = [
            template
            for pattern, template in self._templates
            if pattern.match(path) and method in self.document["paths"][template]
        ]
        if not candidates:
            raise LookupError(f"no operation in the spec for {method.upper()} {path}")
        template = min(candidates, key=lambda t: (t.count("{"), -len(t)))
        op = self.document["paths"][template][method]
        return Operation(method, template, op.get("operationId", ""), op.get("responses", {}))

    def validator(self, ref: str) -> Draft4Validator:
        """A validator for a schema given by pointer (``#/paths/...``) or component name (``IssueBean``)."""
        pointer = ref if ref.startswith("#") else f"#/components/schemas/{ref}"
        return self._validator(pointer)

    def _validator(self, pointer: str) -> Draft4Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft4Validator(
                {"$ref": SPEC_URI + pointer}, registry=self._registry, format_checker=FORMAT_CHECKER
            )
        return self._validators[pointer]

    @functools.cached_property
    def adf_validator(self) -> Any:
        return adf_validator_class(self._adf["definitions"])(self._adf)

    def errors(self, body: Any, ref: str) -> list[str]:
        return describe(self.validator(ref).iter_errors(body))

    def response_errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Schema errors of a response body; a status without a schema in the spec needs an error body."""
        pointer = self.operation(method, path).response_pointer(status)
        if pointer is not None:
            return self.errors(body, pointer)
        if status >= 400:
            return self.errors(body, "ErrorCollection")
        return [] if body in (None, "", {}) else [f"the spec defines no body for {status}, got {body!r:.200}"]

    def adf_errors(self, document: Any) -> list[str]:
        return describe(self.adf_validator.iter_errors(document))

    def issue_field_errors(
        self, issue: Mapping[str, Any], field_types: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        """Errors in well-known field values of one issue (``field_types``: field id -> its ``schema``)."""
        problems: list[str] = []
        for field, value in issue.get("fields", {}).items():
            where = f"{issue.get('key')}.fields.{field}"
            errors = self._field_errors(field, value, field_types.get(field, {}))
            problems += [f"{where}: {error}" for error in errors]
        return problems

    def _field_errors(self, field: str, value: Any, schema: Mapping[str, Any]) -> list[str]:
        if field in FIELD_SCHEMAS:
            name, nullable = FIELD_SCHEMAS[field]
            if value is None:
                return [] if nullable else ["is null"]
            errors = self.errors(value, name)
            if field in ADF_PAGED_FIELDS and isinstance(value, dict):
                items, rich = ADF_PAGED_FIELDS[field]
                for item in value.get(items, []):
                    if item.get(rich) is not None:
                        errors += [
                            f"{items}/{item.get('id')}/{rich}: {e}" for e in self.adf_errors(item[rich])
                        ]
            return errors
        if field in FIELD_ARRAY_SCHEMAS:
            return self._list_errors(value, FIELD_ARRAY_SCHEMAS[field])
        if field == "labels":
            ok = isinstance(value, list) and all(
                isinstance(label, str) and " " not in label for label in value
            )
            return [] if ok else [f"is not a list of labels: {value!r:.80}"]
        if field in ADF_SYSTEM_FIELDS or schema.get("custom") == ADF_CUSTOM_TYPE:
            return [] if value is None else self.adf_errors(value)
        if value is None:
            return []
        kind, items = schema.get("type"), schema.get("items")
        if kind == "user":
            return self.errors(value, "UserDetails")
        if kind == "array" and items == "user":
            return self._list_errors(value, "UserDetails")
        if kind in SCALAR_CHECKS:
            return [] if SCALAR_CHECKS[kind](value) else [f"is not a {kind}: {value!r:.80}"]
        if kind == "array" and items in SCALAR_CHECKS:
            ok = isinstance(value, list) and all(SCALAR_CHECKS[items](item) for item in value)
            return [] if ok else [f"is not a list of {items}: {value!r:.80}"]
        return []

    def _list_errors(self, value: Any, item_schema: str) -> list[str]:
        if not isinstance(value, list):
            return [f"is not a list: {value!r:.80}"]
        return [error for item in value for error in self.errors(item, item_schema)]


def _is_option(value: Any) -> bool:
    """A select option as issues render it: ``{"self", "value", "id"}`` (CustomFieldOption lacks ``id``)."""
    return (
        isinstance(value, dict) and isinstance(value.get("value"), str) and isinstance(value.get("id"), str)
    )


# Field schema type (from GET /field) -> check of a non-null value.
SCALAR_CHECKS: Mapping[str, Any] = {
    "datetime": lambda v: isinstance(v, str) and bool(JIRA_DATETIME.match(v)),
    "date": lambda v: isinstance(v, str) and bool(ISO_DATE.match(v)),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "option": _is_option,
}


def describe(errors: Iterable[Any], limit: int = 8) -> list[str]:
    """Readable lines for validation errors: where in the body, and what is wrong."""
    lines = []
    for error in sorted(errors, key=lambda e: list(e.absolute_path).__repr__()):
        location = "/".join(str(part) for part in error.absolute_path) or "<root>"
        lines.append(f"{location}: {error.message[:300]}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


@functools.cache
def jira_spec() -> JiraSpec:
    """The spec, loaded once per test session (it is 2.4 MB)."""
    return JiraSpec.load()


def assert_conforms(response: Any, spec: JiraSpec | None = None) -> Any:
    """Assert a ``requests`` response answers like Jira's operation for its method, path and status.

    Returns the body: parsed JSON, or the text of a non-JSON answer. A non-JSON body is accepted only
    where the spec defines no JSON body for the status (Jira's 401 is ``text/plain``); JSON error
    bodies the spec gives no schema for are checked against ``ErrorCollection``.
    """
    spec = spec or jira_spec()
    method = response.request.method
    path = urlsplit(response.url).path
    where = f"{method} {path} -> {response.status_code}"
    if "json" not in response.headers.get("Content-Type", ""):
        pointer = spec.operation(method, path).response_pointer(response.status_code)
        assert pointer is None and not response.ok, f"{where} is not JSON: {response.text[:200]!r}"
        return response.text
    body = response.json() if response.content else None
    problems = spec.response_errors(method, path, response.status_code, body)
    assert not problems, f"{where} does not match the spec:\n" + "\n".join(problems)
    return body


def assert_adf(document: Any, where: str = "", spec: JiraSpec | None = None) -> None:
    problems = (spec or jira_spec()).adf_errors(document)
    assert not problems, f"{where} is not valid ADF:\n" + "\n".join(problems)


def assert_issue_fields(
    issues: Iterable[Mapping[str, Any]], fields_meta: Iterable[Mapping[str, Any]]
) -> None:
    """Assert well-known field values of ``issues`` are rendered as Jira does (``fields_meta``: /field)."""
    field_types = {f["id"]: f.get("schema", {}) for f in fields_meta}
    spec = jira_spec()
    problems = [error for issue in issues for error in spec.issue_field_errors(issue, field_types)]
    assert not problems, "issue field values do not match Jira's shapes:\n" + "\n".join(problems[:20])


# --- Agile REST API 1.0: not in the platform spec; shapes from Atlassian's reference pages. ---

_AGILE_PAGE = {
    "type": "object",
    "required": ["maxResults", "startAt", "isLast", "values"],
    "properties": {
        "maxResults": {"type": "integer"},
        "startAt": {"type": "integer"},
        "total": {"type": "integer"},
        "isLast": {"type": "boolean"},
    },
}
_AGILE_BOARD = {
    "type": "object",
    "required": ["id", "self", "name", "type"],
    "properties": {
        "id": {"type": "integer"},
        "self": {"type": "string", "format": "uri"},
        "name": {"type": "string"},
        "type": {"enum": ["scrum", "kanban", "simple"]},
        "location": {
            "type": "object",
            "properties": {
                "projectId": {"type": "integer"},
                "projectKey": {"type": "string"},
                "projectName": {"type": "string"},
                "projectTypeKey": {"type": "string"},
                "displayName": {"type": "string"},
                "name": {"type": "string"},
            },
        },
    },
}
_AGILE_SPRINT = {
    "type": "object",
    "required": ["id", "self", "state", "name"],
    "properties": {
        "id": {"type": "integer"},
        "self": {"type": "string", "format": "uri"},
        "state": {"enum": ["future", "active", "closed"]},
        "name": {"type": "string"},
        "startDate": {"type": "string"},
        "endDate": {"type": "string"},
        "completeDate": {"type": "string"},
        "createdDate": {"type": "string"},
        "originBoardId": {"type": "integer"},
        "goal": {"type": "string"},
    },
}


def _agile_page(item: dict) -> dict:
    page = copy.deepcopy(_AGILE_PAGE)
    page["properties"]["values"] = {"type": "array", "items": item}
    return page


# "Get issues for sprint": a search-style page; each issue is an IssueBean, checked with the platform spec.
_AGILE_ISSUE_PAGE = copy.deepcopy(_AGILE_PAGE)
_AGILE_ISSUE_PAGE["required"] = ["startAt", "maxResults", "total", "issues"]
_AGILE_ISSUE_PAGE["properties"].update(
    expand={"type": "string"},
    issues={"type": "array", "items": {"type": "object", "required": ["id", "key"]}},
)

AGILE_SCHEMAS: Mapping[str, dict] = {
    "board-page": _agile_page(_AGILE_BOARD),
    "sprint-page": _agile_page(_AGILE_SPRINT),
    "board": _AGILE_BOARD,
    "sprint": _AGILE_SPRINT,
    "issue-page": _AGILE_ISSUE_PAGE,
}


def agile_errors(body: Any, shape: str) -> list[str]:
    errors = describe(Draft4Validator(AGILE_SCHEMAS[shape], format_checker=FORMAT_CHECKER).iter_errors(body))
    if shape == "issue-page" and isinstance(body, dict):  # the issues themselves are platform IssueBeans
        spec = jira_spec()
        errors += [
            f"issues/{i}: {e}"
            for i, issue in enumerate(body.get("issues", []))
            for e in spec.errors(issue, "IssueBean")
        ]
    return errors
