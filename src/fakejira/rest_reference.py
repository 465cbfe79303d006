"""Jira Cloud's reference-list endpoints: statuses, status categories, issue types, priorities, resolutions,
a project's versions and components, and the Agile sprint endpoints. Parameters, paging, filters, ordering
and errors follow the published OpenAPI spec (platform v3) and Atlassian's Agile reference.

Registered on the REST router by :func:`register`, which :mod:`fakejira.rest_api` calls before it mirrors its
routes under /rest/api/2/, so these are served under both versions like every other operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fakejira import catalog as c
from fakejira import jql, reference
from fakejira.render import FieldSelection, issue_bean
from fakejira.web import ApiError, Request, Router, page_bean, paged

VERSION_ORDERS = ("description", "name", "releaseDate", "sequence", "startDate")
COMPONENT_ORDERS = ("description", "issueCount", "lead", "name")
STATUS_CATEGORIES = ("TODO", "IN_PROGRESS", "DONE")
AGILE_PAGE = 50
NO_SPRINT = (
    "The requested sprint cannot be viewed because it either does not exist or you do not have permission "
    "to view it."
)


# ----- helpers ---------------------------------------------------------------------------------------------
def _project(app: Any, req: Request, id_or_key: str) -> dict[str, Any]:
    """The project behind a (case-sensitive) key or id the caller may browse; else Jira's 404."""
    project = app.site.ref.project(id_or_key)
    if project is None or not req.account.can_see(project["key"]):
        kind = "id" if id_or_key.isdigit() else "key"
        raise ApiError.not_found(f"No project could be found with {kind} '{id_or_key}'.")
    return project


def _order(req: Request, allowed: tuple[str, ...], default: str) -> tuple[str, bool]:
    """(field, descending) of an `orderBy` of `allowed` fields, each optionally prefixed by + or -."""
    value = req.arg("orderBy") or default
    field = value.lstrip("+-")
    if field not in allowed or len(value) - len(field) > 1:
        raise ApiError.bad_request(f"The value '{value}' is not valid for the orderBy parameter.")
    return field, value.startswith("-")


def _matches(query: str | None, *texts: Any) -> bool:
    """The `query` filter of the project lists: a literal, case-insensitive, in any of `texts`."""
    return not query or any(query.lower() in str(t or "").lower() for t in texts)


def _start_and_size(req: Request, default: int) -> tuple[int, int]:
    start, size = req.int_arg("startAt", 0), req.int_arg("maxResults", default)
    if start < 0 or size < 0:
        raise ApiError.bad_request("startAt and maxResults must not be negative.")
    return start, size


def _page(url: str, req: Request, values: list[Any], default: int = 50) -> dict[str, Any]:
    start, size = _start_and_size(req, default)
    chunk, _ = paged(values, start, size)
    return page_bean(url, start, size, len(values), chunk)


def _sorted(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], descending: bool) -> list:
    """Sorted by `key`; items without a value (None) last in either direction, as Jira lists them."""
    present = sorted((i for i in items if key(i) is not None), key=key, reverse=descending)
    return present + [i for i in items if key(i) is None]


# ----- catalog lists ---------------------------------------------------------------------------------------
def _statuses_search(app: Any, req: Request) -> dict[str, Any]:
    """Statuses by name and category. Only administrators see global statuses (the operation needs
    Administer Jira or Administer projects); a `projectId` asks for that project's own statuses, and
    company-managed projects have none (all of the site's statuses are global)."""
    category = req.arg("statusCategory")
    if category and category not in STATUS_CATEGORIES:
        raise ApiError.bad_request(f"Invalid status category '{category}': use TODO, IN_PROGRESS or DONE.")
    text = (req.arg("searchString") or "").lower()
    statuses = [
        reference.jira_status(s)
        for s in reference.status_list()
        if req.account.admin and not req.arg("projectId") and text in s["name"].lower()
    ]
    statuses = [s for s in statuses if not category or s["statusCategory"] == category]
    return _page(f"{c.BASE}/rest/api/3/statuses/search", req, statuses, default=200)


def _issue_types_of_project(app: Any, req: Request) -> list[dict[str, Any]]:
    project_id = req.arg("projectId")
    if not project_id or not project_id.isdigit():
        raise ApiError.bad_request("The projectId parameter is required and must be a number.")
    _project(app, req, project_id)
    level = req.arg("level")
    types = reference.issue_type_list()
    return [t for t in types if level in (None, "") or str(t["hierarchyLevel"]) == level]


def _priority_search(app: Any, req: Request) -> dict[str, Any]:
    """Priorities by id and name; every project here uses every priority, so `projectId` narrows nothing
    (unknown project ids are ignored, as the spec says)."""
    ids, name = set(req.args("id")), (req.arg("priorityName") or "").lower()
    only_default = req.bool_arg("onlyDefault")
    values = [
        p
        for p in reference.priority_search_list()
        if (not ids or p["id"] in ids) and name in p["name"].lower() and (p["isDefault"] or not only_default)
    ]
    return _page(f"{c.BASE}/rest/api/3/priority/search", req, values)


def _resolution_search(app: Any, req: Request) -> dict[str, Any]:
    ids, only_default = set(req.args("id")), req.bool_arg("onlyDefault")
    values = [
        r
        for r in reference.resolution_search_list()
        if (not ids or r["id"] in ids) and (r["isDefault"] or not only_default)
    ]
    return _page(f"{c.BASE}/rest/api/3/resolution/search", req, values)


# ----- project versions and components ---------------------------------------------------------------------
def _versions(app: Any, req: Request) -> list[dict[str, Any]]:
    project = _project(app, req, req.params["projectIdOrKey"])
    return app.site.versions_of(project["key"])


def _version_status(version: dict[str, Any]) -> str:
    """One status per version for the `status` filter: archived first, then released or unreleased."""
    return "archived" if version.get("archived") else "released" if version.get("released") else "unreleased"


def _versions_paged(app: Any, req: Request) -> dict[str, Any]:
    project = _project(app, req, req.params["projectIdOrKey"])
    field, descending = _order(req, VERSION_ORDERS, "sequence")
    statuses = set(req.args("status"))
    unknown = statuses - set(reference.VERSION_STATUSES)
    if unknown:
        raise ApiError.bad_request(
            f"Invalid version status {sorted(unknown)}: use released, unreleased, archived."
        )
    query = req.arg("query")
    versions = [
        v
        for v in app.site.versions_of(project["key"])
        if (not statuses or _version_status(v) in statuses)
        and _matches(query, v["name"], v.get("description"))
    ]
    if field != "sequence":
        versions = _sorted(versions, lambda v: v.get(field), descending)
    elif descending:
        versions.reverse()
    return _page(f"{c.BASE}/rest/api/3/project/{req.params['projectIdOrKey']}/version", req, versions)


def _component_source(req: Request) -> bool:
    """Whether Jira components are asked for (`componentSource` jira or auto: no project uses Compass)."""
    source = req.arg("componentSource") or "jira"
    if source not in ("jira", "compass", "auto"):
        raise ApiError.bad_request(f"Invalid componentSource '{source}': use jira, compass or auto.")
    return source != "compass"


def _components(app: Any, req: Request) -> list[dict[str, Any]]:
    project = _project(app, req, req.params["projectIdOrKey"])
    return app.site.components_of(project["key"]) if _component_source(req) else []


def _components_paged(app: Any, req: Request) -> dict[str, Any]:
    project = _project(app, req, req.params["projectIdOrKey"])
    field, descending = _order(req, COMPONENT_ORDERS, "name")
    query = req.arg("query")
    components: list[dict[str, Any]] = []
    if _component_source(req):
        counts = app.site.component_issue_counts(project["key"])
        components = [
            {**x, "issueCount": counts.get(x["id"], 0)}
            for x in app.site.components_of(project["key"])
            if _matches(query, x["name"], x.get("description"))
        ]

    def value(x: dict[str, Any]) -> Any:
        return (x.get("lead") or {}).get("displayName") if field == "lead" else x.get(field)

    components = _sorted(components, value, descending)
    return _page(f"{c.BASE}/rest/api/3/project/{req.params['projectIdOrKey']}/component", req, components)


# ----- Agile sprints ---------------------------------------------------------------------------------------
def _visible_sprint(app: Any, req: Request) -> dict[str, Any]:
    """The sprint of the path, if its board's project is one the caller may browse; else Jira's 404."""
    sprint = app.site.ref.sprint(req.params["sprintId"])
    board = next((b for b in app.site.boards if sprint and b["id"] == sprint["boardId"]), None)
    if sprint is None or board is None or not req.account.can_see(board["location"]["projectKey"]):
        raise ApiError.not_found(NO_SPRINT)
    return sprint


def _sprint(app: Any, req: Request) -> dict[str, Any]:
    return reference.agile_sprint(_visible_sprint(app, req))


def _sprint_issues(app: Any, req: Request) -> dict[str, Any]:
    """Issues whose Sprint field lists the sprint (those carried over from it too), in rank order, narrowed
    by `jql` if given; the Agile issue page (startAt, maxResults <= 50, total, issues)."""
    sprint = _visible_sprint(app, req)
    records = app.site.sprint_members(sprint["id"], req.account)
    text = req.arg("jql")
    if text:
        try:
            query = jql.parse(text)
        except jql.JqlError as e:
            raise ApiError.bad_request(*e.messages) from None
        vocabulary = app.search.vocabulary(req.account)
        messages = jql.validate_values(query, vocabulary)
        if messages:
            raise ApiError.bad_request(*messages)
        query = jql.resolve_keys(query, vocabulary)
        keep = {i["id"] for i in query.filter([r.issue for r in records], app.search.context(req.account))}
        records = [r for r in records if r.issue["id"] in keep]
    start, size = _start_and_size(req, AGILE_PAGE)
    size = min(size, AGILE_PAGE)
    chunk, _ = paged(records, start, size)
    selection = FieldSelection.parse(req.args("fields"), "*navigable")
    issues = [issue_bean(app.site, r, r.issue, selection, req.args("expand")) for r in chunk]
    return {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": size,
        "total": len(records),
        "issues": issues,
    }


def register(routes: Router) -> None:
    """Add this module's endpoints to the REST router."""
    constant: dict[str, Callable[[], Any]] = {
        "/rest/api/3/status": reference.status_list,
        "/rest/api/3/statuscategory": lambda: list(c.STATUS_CATEGORIES),
        "/rest/api/3/issuetype": reference.issue_type_list,
        "/rest/api/3/priority": reference.priority_list,
        "/rest/api/3/resolution": reference.resolution_list,
    }
    for path, listing in constant.items():
        routes.add("GET", path)(lambda app, req, listing=listing: listing())
    routes.add("GET", "/rest/api/3/statuses/search")(_statuses_search)
    routes.add("GET", "/rest/api/3/issuetype/project")(_issue_types_of_project)
    routes.add("GET", "/rest/api/3/priority/search")(_priority_search)
    routes.add("GET", "/rest/api/3/resolution/search")(_resolution_search)
    routes.add("GET", "/rest/api/3/project/{projectIdOrKey}/versions")(_versions)
    routes.add("GET", "/rest/api/3/project/{projectIdOrKey}/version")(_versions_paged)
    routes.add("GET", "/rest/api/3/project/{projectIdOrKey}/components")(_components)
    routes.add("GET", "/rest/api/3/project/{projectIdOrKey}/component")(_components_paged)
    routes.add("GET", "/rest/agile/1.0/sprint/{sprintId}")(_sprint)
    routes.add("GET", "/rest/agile/1.0/sprint/{sprintId}/issue")(_sprint_issues)
