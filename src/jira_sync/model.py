"""Table schemas and the pure Jira issue -> row flattening.

Each table is one `Table` constant. The warehouse builds its DDL, its upserts and its reads from these
constants, and `flatten_issue` produces exactly the ISSUES columns, so a column is added in one place.

Everything here is pure: no clock, no I/O. Values produced by `flatten_issue` are JSON-serialisable
(timestamps as ISO 8601 strings with a colon offset, in UTC) because the warehouse ships rows to SQL as a
single JSON-array bind parameter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from jira_sync import fastjson

T = TypeVar("T")

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

# SQL types that behave alike on Snowflake and on fakesnow (DuckDB): see the warehouse tests.
NUMBER = "NUMBER(38,0)"
VARCHAR = "VARCHAR"
BOOLEAN = "BOOLEAN"
FLOAT = "FLOAT"
DATE = "DATE"
TIMESTAMP_TZ = "TIMESTAMP_TZ"
VARIANT = "VARIANT"
ARRAY = "ARRAY"
SQL_TYPES = frozenset({NUMBER, VARCHAR, BOOLEAN, FLOAT, DATE, TIMESTAMP_TZ, VARIANT, ARRAY})


@dataclass(frozen=True)
class Column:
    """One column: its name (an unquoted-style identifier, upper case) and its SQL type."""

    name: str
    sql_type: str
    key: bool = False

    def __post_init__(self) -> None:
        if not IDENTIFIER.match(self.name) or self.name != self.name.upper():
            raise ValueError(f"column name {self.name!r} must be an upper-case SQL identifier")
        if self.sql_type not in SQL_TYPES:
            raise ValueError(f"column {self.name}: unsupported type {self.sql_type!r}")


@dataclass(frozen=True)
class Table:
    """A table: its name, its columns in DDL order; the key columns identify a row."""

    name: str
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        if not IDENTIFIER.match(self.name) or self.name != self.name.upper():
            raise ValueError(f"table name {self.name!r} must be an upper-case SQL identifier")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        if not any(c.key for c in self.columns):
            raise ValueError(f"table {self.name}: no key column")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def keys(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.key)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name}")


@dataclass(frozen=True)
class View:
    """A view: its name and its SELECT, where `{TABLE_NAME}` stands for that table's qualified name.

    Column lists are explicit: a `SELECT *` view breaks on Snowflake when a column is added to its table.
    """

    name: str
    select: str


def _cols(*spec: tuple[str, str] | tuple[str, str, bool]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


ISSUES = Table(
    "JIRA_ISSUES",
    _cols(
        ("SOURCE", VARCHAR, True),
        ("ID", NUMBER, True),
        ("KEY", VARCHAR),
        ("PROJECT_KEY", VARCHAR),
        ("PROJECT_NAME", VARCHAR),
        ("ISSUE_TYPE", VARCHAR),
        ("IS_SUBTASK", BOOLEAN),
        ("PARENT_ID", NUMBER),
        ("PARENT_KEY", VARCHAR),
        ("STATUS", VARCHAR),
        ("STATUS_ID", NUMBER),  # joins JIRA_STATUSES and the changelog's status ids
        ("STATUS_CATEGORY", VARCHAR),
        ("PRIORITY", VARCHAR),
        ("RESOLUTION", VARCHAR),
        ("SUMMARY", VARCHAR),
        ("DESCRIPTION", VARCHAR),
        ("ASSIGNEE_ACCOUNT_ID", VARCHAR),
        ("ASSIGNEE_NAME", VARCHAR),
        ("REPORTER_ACCOUNT_ID", VARCHAR),
        ("REPORTER_NAME", VARCHAR),
        ("CREATOR_ACCOUNT_ID", VARCHAR),
        ("CREATOR_NAME", VARCHAR),
        ("LABELS", ARRAY),
        ("COMPONENTS", ARRAY),
        ("FIX_VERSIONS", ARRAY),
        ("CREATED", TIMESTAMP_TZ),
        ("UPDATED", TIMESTAMP_TZ),
        ("RESOLVED", TIMESTAMP_TZ),
        ("DUE_DATE", DATE),
        ("STORY_POINTS", FLOAT),
        ("RAW", VARIANT),
        ("IS_DELETED", BOOLEAN),
        ("DELETED_AT", TIMESTAMP_TZ),
        ("SYNCED_AT", TIMESTAMP_TZ),
        ("RUN_ID", VARCHAR),
    ),
)

STATE = Table(
    "JIRA_SYNC_STATE",
    _cols(
        ("SOURCE", VARCHAR, True),
        ("WATERMARK", TIMESTAMP_TZ),
        ("ACCOUNT_TIME_ZONE", VARCHAR),
        ("WINDOW_UPPER", TIMESTAMP_TZ),  # the end of the last complete window (Jira's clock minus search lag)
        ("LAST_RUN_ID", VARCHAR),
        ("UPDATED_AT", TIMESTAMP_TZ),
        ("SCOPE_JQL", VARCHAR),  # the source JQL the watermark holds for
        ("BACKFILL_JQL", VARCHAR),  # a changed source JQL whose added issues are being loaded
        ("BACKFILL_AFTER_ID", NUMBER),  # how far (by issue id) that backfill has got
        ("FINGERPRINTS", VARIANT),  # per reference entity, a hash of the rows last written (see entities)
        ("FEED_CURSORS", VARIANT),  # per feed entity (worklogs), where its change feed was read up to
        ("LAST_SWEEP_AT", TIMESTAMP_TZ),  # Jira's time of the last complete deletion sweep (every id listed)
        ("AUDIT_CHECKED_AT", TIMESTAMP_TZ),  # the audit log read for deletions up to here; NULL: unreadable
    ),
)

# PARTIAL: the run stopped at its time budget after committing what it fetched; the next run goes on from there.
RUN_STATUSES = ("RUNNING", "SUCCEEDED", "PARTIAL", "FAILED")

RUN_LOG = Table(
    "JIRA_SYNC_RUNS",
    _cols(
        ("RUN_ID", VARCHAR, True),
        ("SOURCE", VARCHAR),
        ("STARTED_AT", TIMESTAMP_TZ),
        ("ENDED_AT", TIMESTAMP_TZ),
        ("STATUS", VARCHAR),
        ("ISSUES_FETCHED", NUMBER),
        ("ISSUES_INSERTED", NUMBER),
        ("ISSUES_UPDATED", NUMBER),
        ("ISSUES_DELETED", NUMBER),
        ("REQUESTS", NUMBER),
        ("RETRIES", NUMBER),
        ("WATERMARK_BEFORE", TIMESTAMP_TZ),
        ("WATERMARK_AFTER", TIMESTAMP_TZ),
        ("ERROR_MESSAGE", VARCHAR),
        ("SUMMARY", VARIANT),  # the JSON summary the procedure returned: timings, batches, time zone
    ),
)

AUTH_METHODS = ("basic", "bearer")

SOURCES = Table(
    "JIRA_SOURCES",
    _cols(
        ("NAME", VARCHAR, True),
        ("SITE_URL", VARCHAR),
        ("AUTH", VARCHAR),
        ("EMAIL", VARCHAR),
        ("SECRET_ALIAS", VARCHAR),
        ("JQL", VARCHAR),
        ("PROJECTS", ARRAY),
        ("ENABLED", BOOLEAN),
        ("OVERLAP_MINUTES", NUMBER),
        ("SEARCH_LAG_SECONDS", NUMBER),
        ("BATCH_SIZE", NUMBER),
        ("PAGE_SIZE", NUMBER),
        ("WORKERS", NUMBER),
        ("TIME_BUDGET_SECONDS", NUMBER),
        ("DELETION_SWEEP_MINUTES", NUMBER),  # how often every id is listed to find departures (0: every run)
        ("ENTITIES", ARRAY),  # what to sync besides issues (entity names); NULL: everything
        ("CREATED_AT", TIMESTAMP_TZ),
        ("UPDATED_AT", TIMESTAMP_TZ),
    ),
)

TABLES = (ISSUES, STATE, RUN_LOG, SOURCES)


# --- values -----------------------------------------------------------------------------------------


def iso_utc(value: datetime | None) -> str | None:
    """An aware datetime as ISO 8601 in UTC with a colon offset, the form both warehouses cast reliably."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_jira_timestamp(value: Any) -> datetime | None:
    """Jira's `2024-03-05T14:07:33.123+0000` (or any ISO 8601 with an offset) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # Jira always sends an offset; a bare value is read as UTC rather than dropped
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def jira_iso(value: Any) -> str | None:
    return iso_utc(parse_jira_timestamp(value))


def as_date(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def as_obj(value: Any) -> Mapping[str, Any]:
    """The value if it is a JSON object, else an empty one: Jira sends null for unset objects."""
    return value if isinstance(value, Mapping) else {}


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def name_of(value: Any) -> str | None:
    """The name of a Jira object such as a status or a priority ({"name": ...}); None when unset."""
    return as_str(as_obj(value).get("name"))


def user_columns(prefix: str, value: Any) -> dict[str, str | None]:
    """A user field as the <PREFIX>_ACCOUNT_ID and <PREFIX>_NAME columns (both None when unassigned)."""
    user = as_obj(value)
    return {
        f"{prefix}_ACCOUNT_ID": as_str(user.get("accountId")),
        f"{prefix}_NAME": as_str(user.get("displayName")),
    }


def names_of(items: Any) -> list[str]:
    """Names of a list of Jira objects ({"name": ...}) or plain strings, in order, skipping the unnamed."""
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        name = item if isinstance(item, str) else as_obj(item).get("name")
        if isinstance(name, str):
            out.append(name)
    return out


def story_points(fields: Mapping[str, Any], field_ids: Sequence[str]) -> float | None:
    """The first numeric value among the site's story-point fields (sites differ in which id they use)."""
    return _first_value(fields, field_ids, as_float)


EPIC_LINK_FIELD_TYPE = "gh-epic-link"
"""The older way an issue names its epic (company-managed projects before Jira's `parent` field): the epic's
key in a custom field of this type."""


def epic_link(fields: Mapping[str, Any], field_ids: Sequence[str]) -> str | None:
    """The epic key an issue's epic-link field holds, for issues that have no `parent`."""
    return _first_value(fields, field_ids, lambda value: as_str(value) or None)


def _first_value(
    fields: Mapping[str, Any], field_ids: Sequence[str], convert: Callable[[Any], T | None]
) -> T | None:
    """The first of these fields whose value `convert` accepts (not None): sites differ in which custom field
    holds story points or the epic link."""
    for field_id in field_ids:
        value = convert(fields.get(field_id))
        if value is not None:
            return value
    return None


def flatten_issue(
    issue: Mapping[str, Any],
    *,
    source: str,
    story_points_fields: Sequence[str],
    synced_at: datetime,
    run_id: str,
    on_trim: Callable[[str], None] | None = None,
    epic_link_fields: Sequence[str] = (),
) -> dict[str, Any]:
    """One Jira issue (REST JSON) as a row of ISSUES: every column present, JSON-serialisable values.

    Missing or null fields anywhere give None (or an empty list for the ARRAY columns) rather than an error:
    field sets vary by site, project, screen and permission. An issue too large for Snowflake is stored
    trimmed (see `fit_row`); `on_trim` then gets one line saying which issue and what was cut, for the run log.
    """
    fields = as_obj(issue.get("fields"))
    project = as_obj(fields.get("project"))
    issue_type = as_obj(fields.get("issuetype"))
    parent = as_obj(fields.get("parent"))
    status = as_obj(fields.get("status"))
    description = fields.get("description")
    subtask = issue_type.get("subtask")
    row = {
        "SOURCE": source,
        "ID": as_int(issue.get("id")),
        "KEY": as_str(issue.get("key")),
        "PROJECT_KEY": as_str(project.get("key")),
        "PROJECT_NAME": as_str(project.get("name")),
        "ISSUE_TYPE": as_str(issue_type.get("name")),
        "IS_SUBTASK": subtask if isinstance(subtask, bool) else None,
        "PARENT_ID": as_int(parent.get("id")),
        "PARENT_KEY": as_str(parent.get("key")) or epic_link(fields, epic_link_fields),
        "STATUS": name_of(status),
        "STATUS_ID": as_int(status.get("id")),
        "STATUS_CATEGORY": name_of(status.get("statusCategory")),
        "PRIORITY": name_of(fields.get("priority")),
        "RESOLUTION": name_of(fields.get("resolution")),
        "SUMMARY": as_str(fields.get("summary")),
        "DESCRIPTION": None if description is None else adf_to_text(description),
        **user_columns("ASSIGNEE", fields.get("assignee")),
        **user_columns("REPORTER", fields.get("reporter")),
        **user_columns("CREATOR", fields.get("creator")),
        "LABELS": names_of(fields.get("labels")),
        "COMPONENTS": names_of(fields.get("components")),
        "FIX_VERSIONS": names_of(fields.get("fixVersions")),
        "CREATED": jira_iso(fields.get("created")),
        "UPDATED": jira_iso(fields.get("updated")),
        "RESOLVED": jira_iso(fields.get("resolutiondate")),
        "DUE_DATE": as_date(fields.get("duedate")),
        "STORY_POINTS": story_points(fields, story_points_fields),
        "RAW": dict(issue),
        "IS_DELETED": False,
        "DELETED_AT": None,
        "SYNCED_AT": iso_utc(synced_at),
        "RUN_ID": run_id,
    }
    fitted, trimmed = fit_row(row)
    if trimmed is not None and on_trim is not None:
        on_trim(trimmed.note())
    return fitted


# --- values too large for Snowflake -------------------------------------------------------------------

MAX_VALUE_BYTES = 16 * 1024 * 1024
"""The most bytes jira-sync puts in one Snowflake value: 16 MiB (16,777,216), the one limit trimming obeys.

Snowflake's docs, checked 2026-12: behavior change bundle 2025_03 (on by default from release 9.17, June 2025,
for every account from 9.22, August 2025) raised the largest VARCHAR, VARIANT, ARRAY and OBJECT value from
16 MB to 128 MB (https://docs.snowflake.com/release-notes/bcr-bundles/2025_03/bcr-1942); a VARIANT's 128 MB
are uncompressed data, and internal overhead usually makes the real ceiling lower
(https://docs.snowflake.com/sql-reference/data-types-semistructured).
But a VARCHAR declared without a length, as every text column here is (`VARCHAR` above), still gets the
default length of 16,777,216 (https://docs.snowflake.com/en/sql-reference/data-types-text), and a value
over it fails the whole MERGE. 16 MiB therefore holds for every column of these tables on every account, old
bundle or new; it also keeps one issue's share of a stored procedure's memory modest.
"""

ROW_BUDGET_BYTES = MAX_VALUE_BYTES * 3 // 4
"""The most bytes one flattened row may take as compact UTF-8 JSON, escapes included: how the warehouse ships
it, as one document PARSE_JSON turns into a VARIANT. A row within it has every value within it too. The
quarter left of MAX_VALUE_BYTES is margin for Snowflake's internal VARIANT overhead and for anything a
future column adds outside this measure."""

TRIMMED_KEY = "_jira_sync_trimmed"
"""The key `fit_row` adds to the RAW of a trimmed row. Its value maps each cut part to its size, in bytes of
compact JSON, before the cut: dotted paths inside RAW (`fields.description`, `changelog.histories`,
`fields.customfield_10050`), each replaced in RAW by CUT_MARKER, and upper-case names of typed columns
(`DESCRIPTION`), whose text was shortened to end with a note, or whose list was shortened. Query it with
`RAW:"_jira_sync_trimmed"`; a row without the key is whole."""

CUT_MARKER = f"[cut by jira-sync: too large for Snowflake; see {TRIMMED_KEY}]"
_KEEP_IN_RAW = frozenset({"id", "key", "self"})  # what identifies the issue stays, whatever else is cut
_COLUMN_CUTS_RESERVE = 4096  # room in RAW for the TRIMMED_KEY entries of cut typed columns (~50 bytes each)


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON in UTF-8 (escapes included), the form the warehouse sends: measured
    with `fastjson` (every issue is measured once: orjson is 5 times as fast as `json`)."""
    return len(fastjson.encode(value))


@dataclass(frozen=True)
class Trimmed:
    """What `fit_row` cut from one issue's row: part -> its size before the cut (see TRIMMED_KEY)."""

    key: Any
    issue_id: Any
    row_bytes: int
    cuts: Mapping[str, int]

    def note(self) -> str:
        """One line for the run log: which issue, how large, what was cut (the first 8 parts; RAW has all)."""
        listed = list(self.cuts.items())
        parts = ", ".join(f"{part} ({size:,} bytes)" for part, size in listed[:8])
        if len(listed) > 8:
            parts += f" and {len(listed) - 8} more parts"
        return (
            f"issue {self.key} (id {self.issue_id}) takes {self.row_bytes:,} bytes as JSON, too large for "
            f"Snowflake (at most {MAX_VALUE_BYTES:,} bytes a value): stored with its typed columns, "
            f"{parts} cut; RAW:{TRIMMED_KEY} lists what was cut"
        )


def fit_row(row: dict[str, Any], budget: int = ROW_BUDGET_BYTES) -> tuple[dict[str, Any], Trimmed | None]:
    """`row` (a flattened issue, RAW a JSON object) as it fits in `budget` bytes of JSON, and what was cut.

    A row within the budget comes back as is, with None. Otherwise RAW gives way first, as it repeats what the
    typed columns hold: its biggest parts (the children of its top-level objects, such as `fields.description`
    or `changelog.histories`, and its other top-level values) are replaced by CUT_MARKER, biggest first, until
    RAW fits beside the typed columns, but never below half the budget on their account; if that is not
    enough, whole top-level objects go too (`id`, `key` and `self` always stay). Then typed columns still too
    large are shortened, biggest first: text keeps its start and ends with a note, lists keep their first
    items. RAW gets TRIMMED_KEY. Sizes add up exactly (a value's JSON is the same wherever it stands), so the
    result is within the budget. Nothing in `row` is changed: copies are shallow, the large strings shared.
    """
    size = json_size(row)
    if size <= budget:
        return row, None
    cuts: dict[str, int] = {}
    raw = dict(row["RAW"])
    raw_size = json_size(raw)
    others = size - raw_size
    raw_budget = max(budget - others, budget // 2) - _COLUMN_CUTS_RESERVE
    raw_size = _cut_raw(raw, raw_size, raw_budget, cuts)
    fitted = {**row, "RAW": raw}
    _cut_columns(fitted, others + raw_size + _COLUMN_CUTS_RESERVE - budget, cuts)
    raw[TRIMMED_KEY] = cuts
    return fitted, Trimmed(row.get("KEY"), row.get("ID"), size, dict(cuts))


def _marker_size(cuts: Mapping[str, int]) -> int:
    """What the TRIMMED_KEY entry holding `cuts` adds to RAW: `"key":{...}` and a comma."""
    return len(TRIMMED_KEY) + 4 + json_size(cuts)


def _cut_raw(raw: dict[str, Any], size: int, budget: int, cuts: dict[str, int]) -> int:
    """Replace RAW's biggest parts by CUT_MARKER until it and its TRIMMED_KEY entry fit `budget`; its size."""
    cut_size = json_size(CUT_MARKER)
    copied: set[str] = set()  # top-level objects copied before their first child is cut (never the caller's)

    def parts(whole_objects: bool) -> list[tuple[int, str, str, str | None]]:
        """(size, path, top-level key, child key or None), biggest first."""
        found: list[tuple[int, str, str, str | None]] = []
        for top, value in raw.items():
            if top in _KEEP_IN_RAW:
                continue
            if isinstance(value, Mapping) and value and not whole_objects:
                found.extend((json_size(v), f"{top}.{child}", top, child) for child, v in value.items())
            elif not whole_objects or isinstance(value, Mapping):
                found.append((json_size(value), top, top, None))
        return sorted(found, key=lambda part: (-part[0], part[1]))

    for whole_objects in (False, True):
        if size + _marker_size(cuts) <= budget:
            break
        for part_size, path, top, child in parts(whole_objects):
            if size + _marker_size(cuts) <= budget:
                break
            if part_size <= cut_size:
                continue
            if child is None:
                raw[top] = CUT_MARKER
            else:
                if top not in copied:
                    raw[top] = dict(raw[top])
                    copied.add(top)
                raw[top][child] = CUT_MARKER
            size -= part_size - cut_size
            cuts[path] = part_size
    return size + _marker_size(cuts)


def _cut_columns(row: dict[str, Any], excess: int, cuts: dict[str, int]) -> None:
    """Shorten the row's typed text and list columns, biggest first, until `excess` bytes are gone."""
    if excess <= 0:
        return
    sized = [
        (json_size(value), name)
        for name, value in row.items()
        if name != "RAW" and isinstance(value, str | list)
    ]
    for size, name in sorted(sized, reverse=True):
        if excess <= 0:
            return
        value = row[name]
        limit = max(size - excess, 0)
        row[name] = _cut_text(value, size, limit) if isinstance(value, str) else _cut_list(value, limit)
        excess -= size - json_size(row[name])
        cuts[name] = size


def _cut_text(text: str, size: int, limit: int) -> str:
    """`text` (`size` bytes as JSON) cut to at most `limit` bytes as JSON, ending with a note saying so."""
    note = f"\n[cut by jira-sync: the text takes {size:,} bytes, too large for Snowflake]"
    room = limit - json_size(note) + 2  # the prefix's JSON, quotes included: its quotes and the note's merge
    keep = len(text) * room // size
    while keep > 0:
        measured = json_size(text[:keep])
        if measured <= room:
            return text[:keep] + note
        keep = min(keep - 1, keep * room // measured)
    return note if json_size(note) <= limit else ""


def _cut_list(items: list[Any], limit: int) -> list[Any]:
    """The first items of `items` whose JSON array fits `limit` bytes."""
    total = 2  # the brackets
    for count, item in enumerate(items):
        total += json_size(item) + (1 if count else 0)
        if total > limit:
            return items[:count]
    return items


# --- Atlassian Document Format -> plain text ---------------------------------------------------------

_INLINE_TYPES = frozenset(
    {
        "text",
        "hardBreak",
        "mention",
        "emoji",
        "inlineCard",
        "status",
        "date",
        "mediaInline",
        "placeholder",
        "inlineExtension",
    }
)
_TEXT_BLOCKS = frozenset({"paragraph", "heading"})


def adf_to_text(adf: Any) -> str:
    """Readable plain text from an ADF document (Jira API v3 rich text); a plain string (API v2) as is.

    Paragraphs and headings become lines, list items get "- " (or "1. ") and nest by two spaces, table cells
    are tab-separated with one line per row, code blocks keep their lines; unknown nodes are walked into,
    so text inside future node types is kept rather than lost.
    """
    if adf is None:
        return ""
    if isinstance(adf, str):
        return adf
    if not isinstance(adf, Mapping):
        return ""
    return "\n".join(_block(adf)).strip("\n")


def _children(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    content = node.get("content")
    if not isinstance(content, list):
        return []
    return [c for c in content if isinstance(c, Mapping)]


def _inline(node: Mapping[str, Any]) -> str:
    """The text of one inline node (or of all inline text under a node)."""
    kind = node.get("type")
    attrs = as_obj(node.get("attrs"))
    if kind == "text":
        return as_str(node.get("text")) or ""
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = as_str(attrs.get("text")) or as_str(attrs.get("id")) or ""
        return text if text.startswith("@") or not text else f"@{text}"
    if kind == "emoji":
        return as_str(attrs.get("text")) or as_str(attrs.get("shortName")) or ""
    if kind == "inlineCard":
        return as_str(attrs.get("url")) or ""
    if kind in ("status", "placeholder", "inlineExtension"):
        return as_str(attrs.get("text")) or ""
    if kind == "date":
        millis = as_int(attrs.get("timestamp"))
        return datetime.fromtimestamp(millis / 1000, UTC).date().isoformat() if millis is not None else ""
    if kind == "mediaInline":
        return as_str(attrs.get("alt")) or ""
    return "".join(_inline(c) for c in _children(node))


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _block(node: Mapping[str, Any]) -> list[str]:
    """The lines of one block node."""
    kind = node.get("type")
    attrs = as_obj(node.get("attrs"))
    children = _children(node)
    if kind in _TEXT_BLOCKS or kind in _INLINE_TYPES:
        return _lines(_inline(node))
    if kind == "codeBlock":
        return _lines("".join(_inline(c) for c in children))
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        return _list(node)
    if kind == "table":
        return ["\t".join(_cell_text(cell) for cell in _children(row)) for row in children]
    if kind == "blockquote":
        return ["> " + line for line in _blocks(children)]
    if kind == "rule":
        return ["---"]
    if kind in ("blockCard", "embedCard"):
        return [as_str(attrs.get("url")) or ""]
    if kind in ("expand", "nestedExpand") and as_str(attrs.get("title")):
        return [attrs["title"], *_blocks(children)]
    if kind == "media":
        return [alt] if (alt := as_str(attrs.get("alt"))) else []
    if children and all(c.get("type") in _INLINE_TYPES for c in children):
        return _lines("".join(_inline(c) for c in children))
    return _blocks(children)


def _blocks(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    return [line for n in nodes for line in _block(n)]


def _list(node: Mapping[str, Any]) -> list[str]:
    """A list's items, each marked, their continuation lines and nested lists indented under the marker."""
    kind = node.get("type")
    start = as_int(as_obj(node.get("attrs")).get("order"))
    number = start if start is not None else 1
    out: list[str] = []
    for item in _children(node):
        if kind == "orderedList":
            marker = f"{number}. "
            number += 1
        elif kind == "taskList" and item.get("type") in ("taskItem", "blockTaskItem"):
            marker = "- [x] " if as_obj(item.get("attrs")).get("state") == "DONE" else "- [ ] "
        else:
            marker = "- "
        if item.get("type") in ("bulletList", "orderedList", "taskList"):
            # a nested list directly inside a list (taskList allows it): indent without a marker of its own
            out.extend("  " + line for line in _list(item))
            continue
        lines = _block(item) or [""]
        out.append(marker + lines[0])
        out.extend("  " + line for line in lines[1:])
    return out


def _cell_text(cell: Mapping[str, Any]) -> str:
    """A table cell's content on one line, so cells stay tab-separated and rows stay one line each."""
    return " ".join(line.strip() for line in _blocks(_children(cell)) if line.strip())
