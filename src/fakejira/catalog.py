"""Static Jira Cloud metadata: status categories, statuses, priorities, resolutions, issue types, fields.

These are the objects a real Jira Cloud site renders inside issues (``fields.status``, ``fields.priority``...)
and lists from ``GET /rest/api/3/field``, ``/status``, ``/statuscategory``, ``/issuetype``, ``/priority`` and
``/resolution``: one catalog for both, so every id an issue or a changelog item carries resolves in the
lists. They are built once and shared by every issue, which keeps a 100,000-issue site small in memory.
Every ``self`` URL starts with :data:`BASE`, a placeholder the HTTP layer replaces by the server's real base
URL when it serialises a response (the port is only known after binding).
"""

from __future__ import annotations

from typing import Any

BASE = "https://fakejira.invalid"
"""Placeholder base URL inside stored JSON; replaced by the server's URL on the way out."""

AVATAR = "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/default-avatar.png"


def avatar_urls(url: str = AVATAR) -> dict[str, str]:
    """Jira's four avatar sizes, as every user and project carries them."""
    return {f"{s}x{s}": f"{url}?size={s}" for s in (48, 24, 16, 32)}


def _by_name(*items: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def _category(cid: int, key: str, color: str, name: str) -> dict[str, Any]:
    return {
        "self": f"{BASE}/rest/api/3/statuscategory/{cid}",
        "id": cid,
        "key": key,
        "colorName": color,
        "name": name,
    }


# Jira's fixed status categories (ids, keys and colour names as Jira Cloud renders them).
CATEGORY_UNDEFINED = _category(1, "undefined", "medium-gray", "No Category")
CATEGORY_TODO = _category(2, "new", "blue-gray", "To Do")
CATEGORY_IN_PROGRESS = _category(4, "indeterminate", "yellow", "In Progress")
CATEGORY_DONE = _category(3, "done", "green", "Done")
STATUS_CATEGORIES = [CATEGORY_UNDEFINED, CATEGORY_TODO, CATEGORY_IN_PROGRESS, CATEGORY_DONE]
"""What ``GET /rest/api/3/statuscategory`` lists, in Jira's order (no status uses "No Category")."""
CATEGORY_ENUM = {"new": "TODO", "indeterminate": "IN_PROGRESS", "done": "DONE"}
"""A category key as the newer status API (``/statuses/search``) names it."""


def _status(sid: str, name: str, category: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "self": f"{BASE}/rest/api/3/status/{sid}",
        "description": description,
        "iconUrl": f"{BASE}/images/icons/statuses/generic.png",
        "name": name,
        "id": sid,
        "statusCategory": category,
    }


STATUSES: dict[str, dict[str, Any]] = _by_name(
    _status("10000", "To Do", CATEGORY_TODO),
    _status("10001", "Backlog", CATEGORY_TODO),
    _status(
        "3",
        "In Progress",
        CATEGORY_IN_PROGRESS,
        "This issue is being actively worked on at the moment by the assignee.",
    ),
    _status("10002", "In Review", CATEGORY_IN_PROGRESS),
    _status("10003", "Blocked", CATEGORY_IN_PROGRESS),
    _status("10004", "Done", CATEGORY_DONE),
    _status("10005", "Won't Do", CATEGORY_DONE),
)
DONE_STATUSES = frozenset(n for n, s in STATUSES.items() if s["statusCategory"] is CATEGORY_DONE)


def _priority(pid: str, name: str, icon: str) -> dict[str, Any]:
    return {
        "self": f"{BASE}/rest/api/3/priority/{pid}",
        "iconUrl": f"{BASE}/images/icons/priorities/{icon}.svg",
        "name": name,
        "id": pid,
    }


PRIORITIES: dict[str, dict[str, Any]] = _by_name(
    _priority("1", "Highest", "highest"),
    _priority("2", "High", "high"),
    _priority("3", "Medium", "medium"),
    _priority("4", "Low", "low"),
    _priority("5", "Lowest", "lowest"),
)
DEFAULT_PRIORITY = "Medium"
# What the priority lists add to the short form issues embed: Jira Cloud's default descriptions and colours.
_PRIORITY_DETAILS = {
    "Highest": ("This problem will block progress.", "#d04437"),
    "High": ("Serious problem that could block progress.", "#f15C75"),
    "Medium": ("Has the potential to affect progress.", "#f79232"),
    "Low": ("Minor problem or easily worked around.", "#707070"),
    "Lowest": ("Trivial problem with little or no impact on progress.", "#999999"),
}


def priority_details(name: str) -> dict[str, Any]:
    """A priority as ``GET /priority`` and ``/priority/search`` list it (the embedded form plus details)."""
    description, color = _PRIORITY_DETAILS[name]
    return {**PRIORITIES[name], "description": description, "statusColor": color}


def _resolution(rid: str, name: str, description: str) -> dict[str, Any]:
    return {
        "self": f"{BASE}/rest/api/3/resolution/{rid}",
        "id": rid,
        "description": description,
        "name": name,
    }


RESOLUTIONS: dict[str, dict[str, Any]] = _by_name(
    _resolution("10000", "Done", "Work has been completed on this issue."),
    _resolution("10001", "Won't Do", "This issue won't be actioned."),
    _resolution("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
    _resolution("10003", "Cannot Reproduce", "All attempts at reproducing this issue failed."),
)
DEFAULT_RESOLUTION = "Done"


def _issue_type(tid: str, name: str, level: int, avatar: int, description: str) -> dict[str, Any]:
    return {
        "self": f"{BASE}/rest/api/3/issuetype/{tid}",
        "id": tid,
        "description": description,
        "iconUrl": f"{BASE}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{avatar}?size=medium",
        "name": name,
        "subtask": level < 0,
        "avatarId": avatar,
        "hierarchyLevel": level,
    }


ISSUE_TYPES: dict[str, dict[str, Any]] = _by_name(
    _issue_type("10000", "Epic", 1, 10307, "A big user story that needs to be broken down."),
    _issue_type("10001", "Story", 0, 10315, "Functionality or a feature expressed as a user goal."),
    _issue_type("10002", "Task", 0, 10318, "A small, distinct piece of work."),
    _issue_type("10003", "Bug", 0, 10303, "A problem or error."),
    _issue_type("10004", "Sub-task", -1, 10316, "A small piece of work that's part of a larger task."),
)

# Link types. An issue linked with `outwardIssue` X "blocks" X (type.outward); X shows the same link with
# `inwardIssue` pointing back, read with type.inward ("is blocked by").
LINK_TYPES: list[dict[str, Any]] = [
    {
        "id": "10000",
        "name": "Blocks",
        "inward": "is blocked by",
        "outward": "blocks",
        "self": f"{BASE}/rest/api/3/issueLinkType/10000",
    },
    {
        "id": "10001",
        "name": "Cloners",
        "inward": "is cloned by",
        "outward": "clones",
        "self": f"{BASE}/rest/api/3/issueLinkType/10001",
    },
    {
        "id": "10002",
        "name": "Duplicate",
        "inward": "is duplicated by",
        "outward": "duplicates",
        "self": f"{BASE}/rest/api/3/issueLinkType/10002",
    },
    {
        "id": "10003",
        "name": "Relates",
        "inward": "relates to",
        "outward": "relates to",
        "self": f"{BASE}/rest/api/3/issueLinkType/10003",
    },
]

_CFT = "com.atlassian.jira.plugin.system.customfieldtypes:"
_GH = "com.pyxis.greenhopper.jira:"

# System fields: (id, name, schema type, schema items, flags: Navigable Searchable Orderable, clause names)
# fmt: off
_SYSTEM: list[tuple[str, str, str | None, str | None, str, list[str]]] = [
    ("statuscategorychangedate", "Status Category Changed", "datetime", None, "NS",
     ["statusCategoryChangedDate"]),
    ("issuetype", "Issue Type", "issuetype", None, "NSO", ["issuetype", "type"]),
    ("parent", "Parent", "issuelink", None, "NSO", ["parent"]),
    ("timespent", "Time Spent", "number", None, "N", ["timespent"]),
    ("project", "Project", "project", None, "NS", ["project"]),
    ("fixVersions", "Fix versions", "array", "version", "NSO", ["fixVersion"]),
    ("aggregatetimespent", "Σ Time Spent", "number", None, "N", []),
    ("resolution", "Resolution", "resolution", None, "NSO", ["resolution"]),
    ("resolutiondate", "Resolved", "datetime", None, "NS", ["resolutiondate", "resolved"]),
    ("workratio", "Work Ratio", "number", None, "NS", ["workratio"]),
    ("watches", "Watchers", "watches", None, "N", ["watchers"]),
    ("lastViewed", "Last Viewed", "datetime", None, "N", ["lastViewed"]),
    ("created", "Created", "datetime", None, "NS", ["created", "createdDate"]),
    ("priority", "Priority", "priority", None, "NSO", ["priority"]),
    ("labels", "Labels", "array", "string", "NSO", ["labels"]),
    ("timeestimate", "Remaining Estimate", "number", None, "N", ["remainingEstimate", "timeestimate"]),
    ("aggregatetimeoriginalestimate", "Σ Original Estimate", "number", None, "N", []),
    ("versions", "Affects versions", "array", "version", "NSO", ["affectedVersion"]),
    ("issuelinks", "Linked Issues", "array", "issuelinks", "NO", []),
    ("assignee", "Assignee", "user", None, "NSO", ["assignee"]),
    ("updated", "Updated", "datetime", None, "NS", ["updated", "updatedDate"]),
    ("status", "Status", "status", None, "NS", ["status"]),
    ("components", "Components", "array", "component", "NSO", ["component"]),
    ("timeoriginalestimate", "Original estimate", "number", None, "N",
     ["originalEstimate", "timeoriginalestimate"]),
    ("description", "Description", "string", None, "NSO", ["description"]),
    ("timetracking", "Time tracking", "timetracking", None, "O", []),
    ("security", "Security Level", "securitylevel", None, "NSO", ["level"]),
    ("attachment", "Attachment", "array", "attachment", "SO", ["attachments"]),
    ("aggregatetimeestimate", "Σ Remaining Estimate", "number", None, "N", []),
    ("summary", "Summary", "string", None, "NSO", ["summary"]),
    ("creator", "Creator", "user", None, "NS", ["creator"]),
    ("subtasks", "Sub-tasks", "array", "issuelinks", "N", ["subtasks"]),
    ("reporter", "Reporter", "user", None, "NSO", ["reporter"]),
    ("aggregateprogress", "Σ Progress", "progress", None, "N", []),
    ("environment", "Environment", "string", None, "NSO", ["environment"]),
    ("duedate", "Due date", "date", None, "NSO", ["due", "duedate"]),
    ("progress", "Progress", "progress", None, "N", ["progress"]),
    ("votes", "Votes", "votes", None, "N", ["votes"]),
    ("comment", "Comment", "comments-page", None, "SO", ["comment"]),
    ("worklog", "Log Work", "array", "worklog", "SO", []),
    ("issuekey", "Key", None, None, "NS", ["id", "issue", "issuekey", "key"]),
    ("thumbnail", "Images", None, None, "N", []),
]
# fmt: on

# Custom fields: (numeric id, name, schema type, items, custom type key, searcher-less clause name)
CUSTOM_FIELDS: list[tuple[int, str, str, str | None, str]] = [
    # The pre-2023 way company-managed projects named an issue's epic: the epic's key, where `parent` is absent.
    (10014, "Epic Link", "any", None, _GH + "gh-epic-link"),
    (10016, "Story point estimate", "number", None, _GH + "jsw-story-points"),
    (10019, "Rank", "any", None, _GH + "gh-lexo-rank"),
    (10020, "Sprint", "array", "json", _GH + "gh-sprint"),
    (10028, "Story Points", "number", None, _CFT + "float"),
    (10030, "Team Area", "option", None, _CFT + "select"),
    (10031, "Affected Platforms", "array", "option", _CFT + "multiselect"),
    (10032, "Reviewer", "user", None, _CFT + "userpicker"),
    (10033, "Target date", "date", None, _CFT + "datepicker"),
    (10034, "Acceptance Criteria", "string", None, _CFT + "textarea"),
    (10035, "Region", "option-with-child", None, _CFT + "cascadingselect"),
    (10036, "Customer Impact Score", "number", None, _CFT + "float"),
    (10037, "Release Notes URL", "string", None, _CFT + "url"),
    (10038, "Deployed At", "datetime", None, _CFT + "datetime"),
    (10039, "Contributors", "array", "user", _CFT + "multiuserpicker"),
    (10040, "Environment Tags", "array", "string", _CFT + "labels"),
    (10041, "Budget Code", "string", None, _CFT + "textfield"),
]

CF_EPIC_LINK = "customfield_10014"
CF_STORY_POINT_ESTIMATE = "customfield_10016"
CF_RANK = "customfield_10019"
CF_SPRINT = "customfield_10020"
CF_STORY_POINTS = "customfield_10028"
CF_TEAM = "customfield_10030"
CF_PLATFORMS = "customfield_10031"
CF_REVIEWER = "customfield_10032"
CF_TARGET_DATE = "customfield_10033"
CF_ACCEPTANCE = "customfield_10034"
CF_REGION = "customfield_10035"
CF_IMPACT = "customfield_10036"
CF_RELEASE_URL = "customfield_10037"
CF_DEPLOYED_AT = "customfield_10038"
CF_CONTRIBUTORS = "customfield_10039"
CF_ENV_TAGS = "customfield_10040"
CF_BUDGET = "customfield_10041"


def _system_field(
    fid: str, name: str, typ: str | None, items: str | None, flags: str, clauses: list[str]
) -> dict[str, Any]:
    field: dict[str, Any] = {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": False,
        "orderable": "O" in flags,
        "navigable": "N" in flags,
        "searchable": "S" in flags,
        "clauseNames": clauses,
    }
    if typ is not None:
        field["schema"] = {"type": typ, **({"items": items} if items else {}), "system": fid}
    return field


def _custom_field(num: int, name: str, typ: str, items: str | None, custom: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": typ}
    if items:
        schema["items"] = items
    schema["custom"] = custom
    schema["customId"] = num
    return {
        "id": f"customfield_{num}",
        "key": f"customfield_{num}",
        "name": name,
        "untranslatedName": name,
        "custom": True,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [f"cf[{num}]", name],
        "schema": schema,
    }


def field_list() -> list[dict[str, Any]]:
    """What ``GET /rest/api/3/field`` returns: system fields then custom fields, Jira's shapes."""
    fields = [_system_field(*spec) for spec in _SYSTEM]
    fields += [_custom_field(*spec) for spec in CUSTOM_FIELDS]
    for f in fields:  # FieldDetails has no `untranslatedName`; Jira sends it but the schema forbids extras
        f.pop("untranslatedName", None)
    return fields


FIELDS: list[dict[str, Any]] = field_list()
FIELDS_BY_ID: dict[str, dict[str, Any]] = {f["id"]: f for f in FIELDS}
NAVIGABLE: frozenset[str] = frozenset(f["id"] for f in FIELDS if f["navigable"])
"""Fields `*navigable` selects (issuekey/thumbnail are pseudo fields and never rendered)."""
