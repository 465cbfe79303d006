"""History views built from the untruncated changelog, and the wide issue view built from the site's fields.

Why views and not tables: everything here follows from rows the sync already keeps (JIRA_ISSUES,
JIRA_ISSUE_CHANGELOG, JIRA_STATUSES, JIRA_FIELDS, JIRA_ISSUE_SPRINTS), so a view is always as fresh as they
are, costs a run nothing, and has no state to repair. The SQL runs as written on Snowflake and on the
embedded warehouse (fakesnow: DuckDB behind Snowflake SQL); tests/jira_sync/test_history_views.py replays the
emulator's changelog in Python and compares, and parses every SELECT as Snowflake SQL.

How a field's history is replayed (the same rule for every view here). Jira writes a changelog item when a
field changes, never for the value an issue was created with. So, per issue and field, with the field's
items ordered by (CREATED_AT, HISTORY_ID, ITEM_INDEX):

- the first interval runs from the issue's CREATED to the first item, with that item's FROM value;
- each item starts an interval with its TO value, ending at the next item (NULL: it is still the value);
- a field no item names has one interval, from CREATED, with the issue's current value.

Consecutive intervals share their boundary (VALID_TO of one is VALID_FROM of the next), so they tile the
issue's life from CREATED to now with neither gap nor overlap. Items in the same instant give zero-length
intervals: they are kept, as the changelog says the value was held (an issue moved on the second it was
created was still created in its first status). Rows of deleted issues, and changelog rows marked deleted,
are left out.

JIRA_ISSUE_STATUS_PERIODS (one row per stay of an issue in a status; what cycle-time and lead-time charts
read): SOURCE, ISSUE_ID, ISSUE_KEY, PROJECT_KEY, PERIOD_INDEX (1 for the status the issue was created in,
then 2, 3... in order), STATUS_ID, STATUS (the status's name now, from JIRA_STATUSES, so a renamed status
groups as one; the changelog's name where JIRA_STATUSES lacks the id), STATUS_CATEGORY ('To Do',
'In Progress' or 'Done': JIRA_STATUSES.CATEGORY_NAME by id, else JIRA_ISSUES.STATUS_CATEGORY for the
current period), ENTERED_AT, LEFT_AT (NULL while the issue is still there), DURATION_SECONDS (to now for the
current period). DURATION_SECONDS is DATEDIFF(second) of the UTC instants, which counts second boundaries
crossed, so an issue's periods add up to exactly DATEDIFF(second, CREATED, now): its age.

JIRA_ISSUE_FIELD_HISTORY (slowly changing dimension, type 2): one row per issue, field and interval.
Columns: SOURCE, ISSUE_ID, ISSUE_KEY, FIELD, VALUE_ID, VALUE, VALUE_NUMBER, VALID_FROM, VALID_TO (NULL for
the value held now), IS_CURRENT (VALID_TO IS NULL), HISTORY_ID and CHANGED_BY_ACCOUNT_ID (the changelog
history that set the value and its author; NULL for a value the issue was created with). FIELD is one of:

- `status`: VALUE_ID the status id, VALUE its name as the changelog showed it;
- `assignee`: VALUE_ID the account id, VALUE the display name (NULL and NULL: unassigned);
- `priority`: VALUE_ID the priority id, VALUE its name;
- `sprint`: the whole Sprint field per interval, as Jira's "Sprint" items carry it: VALUE_ID the sprint ids
  joined by ", " ("12, 13"), VALUE their names joined likewise (NULL: in no sprint). A field no item names
  takes its current value from JIRA_ISSUE_SPRINTS (live rows, by sprint id). One sprint's membership is
  `split_to_table(VALUE_ID, ', ')` away;
- `story_points`: VALUE the number as the changelog wrote it, VALUE_NUMBER the same as a FLOAT, VALUE_ID
  NULL. The items of every story-point field count (the "Story Points" and "Story point estimate" custom
  fields, by name in the item or in JIRA_FIELDS): a site uses one of them per project. A field no item names
  takes JIRA_ISSUES.STORY_POINTS;
- `fix_versions`: one row per membership of a version, not per list: Jira writes one item per version added
  (TO = its id) or removed (FROM = its id), so VALUE_ID is the version id and VALUE its name, VALID_FROM
  when it was added (CREATED for a version the issue was created with: one whose first item removes it, or
  one on the issue now that no item names), VALID_TO when it was removed. Rows of one issue overlap when it
  has several versions at once. An item that repeats the state before it (an add of a version already
  there) changes nothing; an item with no version id is ignored.

The single-valued fields (all but fix_versions) have a row for every stretch, NULL values included (an
unassigned issue, one in no sprint, one not estimated), so their rows tile the issue's life like status
periods do.

JIRA_ISSUES_WIDE: every JIRA_ISSUES column, then one column per custom field, named by
JIRA_FIELDS.COLUMN_NAME and read from RAW:fields:"customfield_NNNNN". It depends on the fields of each site,
so it is generated (`wide_view_select`) and replaced whenever the `fields` reference list is written (its
fingerprint changed: a field added, removed, renamed or retyped), and whenever the warehouse's JIRA_ISSUES
or JIRA_FIELDS table is (re)defined, which includes a fresh warehouse: it exists, without custom columns,
before the first run reads any field. See `wide_view_select` for how values are typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jira_sync.entities.changelog import TABLE as CHANGELOG
from jira_sync.entities.fields import TABLE as FIELDS
from jira_sync.entities.issue_sprints import SPRINT_FIELD_TYPE
from jira_sync.entities.issue_sprints import TABLE as ISSUE_SPRINTS
from jira_sync.entities.statuses import TABLE as STATUSES
from jira_sync.jira.search import STORY_POINTS_NAMES
from jira_sync.model import IDENTIFIER, ISSUES, View

STATUS_PERIODS_VIEW = "JIRA_ISSUE_STATUS_PERIODS"
FIELD_HISTORY_VIEW = "JIRA_ISSUE_FIELD_HISTORY"
WIDE_VIEW = "JIRA_ISSUES_WIDE"
WIDE_VIEW_TABLES = frozenset({ISSUES.name, FIELDS.name})
"""The tables the wide view is generated from: when the warehouse (re)defines one, it regenerates the view."""
WIDE_VIEW_ENTITY = "fields"
"""The reference entity whose rows drive the wide view: writing them regenerates it."""

HISTORY_FIELDS = ("status", "assignee", "priority", "sprint", "story_points", "fix_versions")
"""The FIELD values of JIRA_ISSUE_FIELD_HISTORY."""

_LIVE = 'not coalesce({alias}"IS_DELETED", false)'
_ORDER = '"CREATED_AT", "HISTORY_ID", "ITEM_INDEX"'
_BY_FIELD = f'partition by "SOURCE", "ISSUE_ID", "FIELD" order by {_ORDER}'


def _live(alias: str = "") -> str:
    """Rows not soft-deleted (IS_DELETED is never NULL for rows the sync writes; coalesce guards others)."""
    return _LIVE.format(alias=f"{alias}." if alias else "")


def _literals(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("\\", "\\\\").replace("'", "''") + "'" for v in values)


def _issues_cte(columns: str) -> str:
    return f'issues as (select "SOURCE", "ID", "KEY", "CREATED", {columns} from {{{ISSUES.name}}} where {_live()})'


# --- the changes of each tracked field ---------------------------------------------------------------

# What an item changes, by its field id (the name where an item has no id), then by JIRA_FIELDS (custom
# fields by type or current name), then by the field's name in the item (custom fields, whose id differs
# from site to site; Jira names fix version items "Fix Version").
_FIELD_KIND = (
    "coalesce("
    "case coalesce(c.\"FIELD_ID\", c.\"FIELD\") when 'status' then 'status' when 'assignee' then 'assignee' "
    "when 'priority' then 'priority' when 'fixVersions' then 'fix_versions' end, "
    'f."KIND", '
    "case when c.\"FIELD\" = 'Sprint' then 'sprint' when c.\"FIELD\" = 'Fix Version' then 'fix_versions' "
    f"when lower(trim(c.\"FIELD\")) in ({_literals(STORY_POINTS_NAMES)}) then 'story_points' end)"
)
_CUSTOM_KINDS = (
    'select "SOURCE", "ID", case when "SCHEMA_CUSTOM" like \'%:' + SPRINT_FIELD_TYPE + "' then 'sprint' "
    f'when lower(trim("NAME")) in ({_literals(STORY_POINTS_NAMES)}) then \'story_points\' end "KIND" '
    f'from {{{FIELDS.name}}} where coalesce("IS_CUSTOM", false)'
)
_ITEM_COLUMNS = (
    'c."CREATED_AT", c."HISTORY_ID", c."ITEM_INDEX", c."AUTHOR_ACCOUNT_ID", '
    'c."FROM_VALUE", c."FROM_STRING", c."TO_VALUE", c."TO_STRING"'
)
_ALL_CHANGES = (
    "kinds as ("
    f'select c."SOURCE", c."ISSUE_ID", {_FIELD_KIND} "FIELD", {_ITEM_COLUMNS} '
    f"from {{{CHANGELOG.name}}} c "
    f'left join ({_CUSTOM_KINDS}) f on f."SOURCE" = c."SOURCE" and f."ID" = c."FIELD_ID" '
    f"where {_live('c')}), "
    f'changes as (select "SOURCE", "ISSUE_ID", "FIELD", {_ITEM_COLUMNS.replace("c.", "")} from kinds '
    'where "FIELD" is not null)'
)
_STATUS_CHANGES = (
    f'changes as (select c."SOURCE", c."ISSUE_ID", \'status\' "FIELD", {_ITEM_COLUMNS} '
    f'from {{{CHANGELOG.name}}} c where {_live("c")} and coalesce(c."FIELD_ID", c."FIELD") = \'status\')'
)

# --- single-valued fields: the replay rule of the module docstring --------------------------------------

_INTERVAL_COLUMNS = (
    '"SOURCE", "ISSUE_ID", "FIELD", "N", "VALID_FROM", "VALID_TO", "VALUE_ID", "VALUE", "HISTORY_ID", '
    '"AUTHOR_ACCOUNT_ID"'
)
# Needs `issues` (SOURCE, ID, CREATED), `changes` (the items, with FIELD) and `current_values` (SOURCE,
# ISSUE_ID, FIELD, VALUE_ID, VALUE: each field's value now). N is 0 for the value the issue was created with.
_SINGLE_VALUED = (
    "seq as ("
    'select "SOURCE", "ISSUE_ID", "FIELD", "CREATED_AT", "HISTORY_ID", "AUTHOR_ACCOUNT_ID", "FROM_VALUE", '
    '"FROM_STRING", "TO_VALUE", "TO_STRING", '
    f'row_number() over ({_BY_FIELD}) "N", lead("CREATED_AT") over ({_BY_FIELD}) "NEXT_AT" '
    "from changes where \"FIELD\" <> 'fix_versions'), "
    "single_valued as ("
    # before the first change: since creation, in the value the first change replaced
    'select s."SOURCE", s."ISSUE_ID", s."FIELD", 0 "N", i."CREATED" "VALID_FROM", s."CREATED_AT" "VALID_TO", '
    's."FROM_VALUE" "VALUE_ID", s."FROM_STRING" "VALUE", null "HISTORY_ID", null "AUTHOR_ACCOUNT_ID" '
    'from seq s join issues i on i."SOURCE" = s."SOURCE" and i."ID" = s."ISSUE_ID" where s."N" = 1 '
    "union all "
    # each change: its value, until the next change
    'select "SOURCE", "ISSUE_ID", "FIELD", "N", "CREATED_AT", "NEXT_AT", "TO_VALUE", "TO_STRING", '
    '"HISTORY_ID", "AUTHOR_ACCOUNT_ID" from seq '
    "union all "
    # a field never changed: the current value, since creation
    'select v."SOURCE", v."ISSUE_ID", v."FIELD", 0, i."CREATED", null, v."VALUE_ID", v."VALUE", null, null '
    'from current_values v join issues i on i."SOURCE" = v."SOURCE" and i."ID" = v."ISSUE_ID" '
    'left join (select distinct "SOURCE", "ISSUE_ID", "FIELD" from seq) x '
    'on x."SOURCE" = v."SOURCE" and x."ISSUE_ID" = v."ISSUE_ID" and x."FIELD" = v."FIELD" '
    'where x."FIELD" is null)'
)


def _with(*ctes: str) -> str:
    return "with " + ", ".join(ctes) + " "


# --- JIRA_ISSUE_STATUS_PERIODS -----------------------------------------------------------------------

# Both ends as UTC wall-clock (SYSDATE() is UTC too): neither the session's time zone nor a DST change skews it.
_ENTERED_UTC = "convert_timezone('UTC', p.\"VALID_FROM\")::timestamp_ntz"
_LEFT_UTC = "convert_timezone('UTC', p.\"VALID_TO\")::timestamp_ntz"
_STATUS_ID = 'try_cast(p."VALUE_ID" as number(38,0))'
_STATUS_PERIODS_SELECT = _with(
    _issues_cte('"PROJECT_KEY", "STATUS_ID", "STATUS", "STATUS_CATEGORY"'),
    _STATUS_CHANGES,
    'current_values as (select "SOURCE", "ID" "ISSUE_ID", \'status\' "FIELD", '
    '"STATUS_ID"::varchar "VALUE_ID", "STATUS" "VALUE" from issues)',
    _SINGLE_VALUED,
) + (
    'select i."SOURCE", i."ID" "ISSUE_ID", i."KEY" "ISSUE_KEY", i."PROJECT_KEY", p."N" + 1 "PERIOD_INDEX", '
    f'{_STATUS_ID} "STATUS_ID", coalesce(st."NAME", p."VALUE") "STATUS", '
    'coalesce(st."CATEGORY_NAME", case when p."VALID_TO" is null then i."STATUS_CATEGORY" end) '
    '"STATUS_CATEGORY", p."VALID_FROM" "ENTERED_AT", p."VALID_TO" "LEFT_AT", '
    f'datediff(second, {_ENTERED_UTC}, coalesce({_LEFT_UTC}, sysdate())) "DURATION_SECONDS" '
    'from single_valued p join issues i on i."SOURCE" = p."SOURCE" and i."ID" = p."ISSUE_ID" '
    f'left join {{{STATUSES.name}}} st on st."SOURCE" = p."SOURCE" and st."ID" = {_STATUS_ID}'
)

# --- JIRA_ISSUE_FIELD_HISTORY ------------------------------------------------------------------------

_SPRINTS_NOW = (
    'select "SOURCE", "ISSUE_ID", listagg("SPRINT_ID"::varchar, \', \') within group (order by "SPRINT_ID") '
    '"IDS", listagg("SPRINT_NAME", \', \') within group (order by "SPRINT_ID") "NAMES" '
    f'from {{{ISSUE_SPRINTS.name}}} where {_live()} group by "SOURCE", "ISSUE_ID"'
)
_CURRENT_VALUES = (
    "current_values as ("
    'select "SOURCE", "ID" "ISSUE_ID", \'status\' "FIELD", "STATUS_ID"::varchar "VALUE_ID", '
    '"STATUS" "VALUE" from issues '
    'union all select "SOURCE", "ID", \'assignee\', "ASSIGNEE_ACCOUNT_ID", "ASSIGNEE_NAME" from issues '
    'union all select "SOURCE", "ID", \'priority\', "RAW":"fields":"priority":"id"::varchar, '
    '"PRIORITY" from issues '
    'union all select "SOURCE", "ID", \'story_points\', null, "STORY_POINTS"::varchar from issues '
    'union all select i."SOURCE", i."ID", \'sprint\', sp."IDS", sp."NAMES" from issues i '
    f'left join ({_SPRINTS_NOW}) sp on sp."SOURCE" = i."SOURCE" and sp."ISSUE_ID" = i."ID")'
)
_VERSION_ORDER = f'partition by "SOURCE", "ISSUE_ID", "VERSION_ID" order by {_ORDER}, "STEP"'
_EVENT_COLUMNS = (
    '"SOURCE", "ISSUE_ID", "CREATED_AT", "HISTORY_ID", "ITEM_INDEX", "AUTHOR_ACCOUNT_ID", "STEP", '
    '"VERSION_ID", "VERSION", "ADDED"'
)
_FIX_VERSIONS = (
    # one event per version an item removes (FROM, first) or adds (TO)
    "fv_events as ("
    'select "SOURCE", "ISSUE_ID", "CREATED_AT", "HISTORY_ID", "ITEM_INDEX", "AUTHOR_ACCOUNT_ID", 0 "STEP", '
    '"FROM_VALUE" "VERSION_ID", "FROM_STRING" "VERSION", false "ADDED" '
    'from changes where "FIELD" = \'fix_versions\' and "FROM_VALUE" is not null '
    "union all "
    'select "SOURCE", "ISSUE_ID", "CREATED_AT", "HISTORY_ID", "ITEM_INDEX", "AUTHOR_ACCOUNT_ID", 1, '
    '"TO_VALUE", "TO_STRING", true '
    'from changes where "FIELD" = \'fix_versions\' and "TO_VALUE" is not null), '
    # the events that change the membership (an add after an add changes nothing)
    "fv_flips as ("
    f'select {_EVENT_COLUMNS}, lag("ADDED") over ({_VERSION_ORDER}) "BEFORE" from fv_events), '
    "fv_seq as ("
    f'select {_EVENT_COLUMNS}, row_number() over ({_VERSION_ORDER}) "N", '
    f'lead("CREATED_AT") over ({_VERSION_ORDER}) "NEXT_AT" '
    'from fv_flips where "BEFORE" is null or "BEFORE" <> "ADDED"), '
    "fv_now as ("
    'select i."SOURCE", i."ID" "ISSUE_ID", i."CREATED", v.value:"id"::varchar "VERSION_ID", '
    'v.value:"name"::varchar "VERSION" '
    'from issues i, lateral flatten(input => i."RAW":"fields":"fixVersions") v), '
    "fix_versions as ("
    # on the issue since creation, until its first change removed it
    'select s."SOURCE", s."ISSUE_ID", \'fix_versions\' "FIELD", 0 "N", i."CREATED" "VALID_FROM", '
    's."CREATED_AT" "VALID_TO", s."VERSION_ID" "VALUE_ID", s."VERSION" "VALUE", null "HISTORY_ID", '
    'null "AUTHOR_ACCOUNT_ID" '
    'from fv_seq s join issues i on i."SOURCE" = s."SOURCE" and i."ID" = s."ISSUE_ID" '
    'where s."N" = 1 and not s."ADDED" '
    "union all "
    # each addition, until the removal after it
    'select "SOURCE", "ISSUE_ID", \'fix_versions\', "N", "CREATED_AT", "NEXT_AT", "VERSION_ID", '
    '"VERSION", "HISTORY_ID", "AUTHOR_ACCOUNT_ID" from fv_seq where "ADDED" '
    "union all "
    # on the issue now, never changed: since creation
    'select n."SOURCE", n."ISSUE_ID", \'fix_versions\', 0, n."CREATED", null, n."VERSION_ID", '
    'n."VERSION", null, null from fv_now n '
    'left join (select distinct "SOURCE", "ISSUE_ID", "VERSION_ID" from fv_events) x '
    'on x."SOURCE" = n."SOURCE" and x."ISSUE_ID" = n."ISSUE_ID" and x."VERSION_ID" = n."VERSION_ID" '
    'where x."VERSION_ID" is null and n."VERSION_ID" is not null)'
)
_FIELD_HISTORY_SELECT = _with(
    _issues_cte(
        '"STATUS_ID", "STATUS", "ASSIGNEE_ACCOUNT_ID", "ASSIGNEE_NAME", "PRIORITY", "STORY_POINTS", "RAW"'
    ),
    _ALL_CHANGES,
    _CURRENT_VALUES,
    _SINGLE_VALUED,
    _FIX_VERSIONS,
) + (
    'select i."SOURCE", i."ID" "ISSUE_ID", i."KEY" "ISSUE_KEY", h."FIELD", h."VALUE_ID", h."VALUE", '
    'case when h."FIELD" = \'story_points\' then try_cast(h."VALUE" as float) end "VALUE_NUMBER", '
    'h."VALID_FROM", h."VALID_TO", h."VALID_TO" is null "IS_CURRENT", h."HISTORY_ID", '
    'h."AUTHOR_ACCOUNT_ID" "CHANGED_BY_ACCOUNT_ID" '
    f"from (select {_INTERVAL_COLUMNS} from single_valued union all select {_INTERVAL_COLUMNS} "
    "from fix_versions) h "
    'join issues i on i."SOURCE" = h."SOURCE" and i."ID" = h."ISSUE_ID"'
)

HISTORY_VIEWS: tuple[View, ...] = (
    View(STATUS_PERIODS_VIEW, _STATUS_PERIODS_SELECT),
    View(FIELD_HISTORY_VIEW, _FIELD_HISTORY_SELECT),
)
"""The static views (schema.VIEWS includes them); the wide view is generated, see `wide_view_select`."""


# --- JIRA_ISSUES_WIDE ---------------------------------------------------------------------------------

_FIELD_ID = re.compile(r"^[A-Za-z0-9_]+$")
_TEXT_OF = {  # a single Jira object as the text a person reads on the issue
    "option": "value",
    "user": "displayName",
    "version": "name",
    "component": "name",
    "group": "name",
    "priority": "name",
    "status": "name",
    "resolution": "name",
    "issuetype": "name",
    "project": "key",
}


def _kind(row: Mapping[str, Any]) -> str:
    """How a custom field's value becomes a column: `float`, `varchar`, `date`, `timestamp`, `text:<key>`
    (one key of a Jira object) or `variant` (the JSON as Jira sent it)."""
    schema_type = str(row.get("SCHEMA_TYPE") or "")
    if str(row.get("SCHEMA_CUSTOM") or "").endswith(":textarea"):
        return "variant"  # rich text: an ADF document in API v3, not a string
    if schema_type in _TEXT_OF:
        return f"text:{_TEXT_OF[schema_type]}"
    return {"number": "float", "string": "varchar", "date": "date", "datetime": "timestamp"}.get(
        schema_type, "variant"
    )


def _value_sql(field_id: str, kind: str) -> str:
    """How one source's field reads as `kind`. A JSON null comes out as SQL NULL, as a missing key does: a
    cast to text does that on Snowflake (and the embedded warehouse), STRIP_NULL_VALUE does it for VARIANT."""
    value = f'i."RAW":"fields":"{field_id}"'
    text = f"{value}::varchar"
    if kind == "float":
        return f"try_cast({text} as float)"
    if kind == "varchar":
        return text
    if kind == "date":
        return f"try_cast({text} as date)"
    if kind == "timestamp":  # Jira's +0000 offset, written +00:00, the form both warehouses read
        colon = f"left({text}, length({text}) - 2) || ':' || right({text}, 2)"
        fixed = f"case when {text} like '%+____' or {text} like '%-____' then {colon} else {text} end"
        return f"try_cast({fixed} as timestamp_tz)"
    if kind.startswith("text:"):
        return f'{value}:"{kind[5:]}"::varchar'
    return f"strip_null_value({value})"


def wide_view_select(field_rows: Iterable[Mapping[str, Any]]) -> str:
    """The SELECT of JIRA_ISSUES_WIDE for these JIRA_FIELDS rows (every source's): pure, so it can be tested
    without a warehouse, and `{JIRA_ISSUES}` stands for the table as in every view.

    Every JIRA_ISSUES column comes first, as is (deleted issues included, with IS_DELETED, as in the table).
    Then one column per COLUMN_NAME of the custom fields not marked deleted, in name order. Sources differ
    in which customfield_NNNNN a name stands for, so a column reads, for each source, the field that source
    names so (NULL for a source without it). Values, by the field's schema type:

    - number: FLOAT; string: VARCHAR; date: DATE; datetime: TIMESTAMP_TZ (a value that does not parse as
      its type is NULL rather than an error that would break every query on the view);
    - a single Jira object, as the text a person sees on the issue: option -> its value, user -> display
      name, version / component / group / priority / status / resolution / issue type -> name,
      project -> key;
    - everything else stays VARIANT, the JSON Jira sent: arrays (multi-selects, labels, sprints, users...),
      cascading selects, rich text (textarea: an ADF document), fields of type `any`. A name whose fields'
      types differ between sources is VARIANT too, so the column has one type.

    Field ids and column names that are not plain identifiers are skipped: they are spliced into SQL.
    """
    by_column: dict[str, dict[tuple[str, str], list[str]]] = {}
    for row in field_rows:
        column, field_id, source = row.get("COLUMN_NAME"), row.get("ID"), row.get("SOURCE")
        if row.get("IS_DELETED") or row.get("IS_CUSTOM") is False:
            continue
        if not (isinstance(column, str) and isinstance(field_id, str) and isinstance(source, str)):
            continue
        if not IDENTIFIER.match(column) or column != column.upper() or column in ISSUES.names:
            continue
        if not _FIELD_ID.match(field_id):
            continue
        by_column.setdefault(column, {}).setdefault((field_id, _kind(row)), []).append(source)
    selects = [f'i."{name}"' for name in ISSUES.names]
    for column, readers in sorted(by_column.items()):
        uniform = len({kind for _, kind in readers}) == 1
        branches = [
            f'when i."SOURCE" in ({_literals(sorted(sources))}) then '
            + _value_sql(field_id, kind if uniform else "variant")
            for (field_id, kind), sources in sorted(readers.items())
        ]
        selects.append(f'case {" ".join(branches)} end "{column}"')
    return f"select {', '.join(selects)} from {{{ISSUES.name}}} i"
