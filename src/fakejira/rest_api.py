"""Jira Cloud REST endpoints (platform v3 + Agile boards and sprints): paths, parameters, bodies and errors as
the published OpenAPI spec and Jira Cloud's observed behaviour say. The reference lists (statuses, issue types,
priorities, resolutions, project versions and components, sprints) live in :mod:`fakejira.rest_reference`.

Handlers are functions of (app, request) returning JSON-able values; the server serialises them.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import threading
from datetime import UTC, datetime
from typing import Any

from fakejira import adf, jql, reference, rest_reference
from fakejira import catalog as c
from fakejira.jql_structure import parse_queries
from fakejira.lifecycle import jira_time, parse_jira_time
from fakejira.render import ISSUE_CHANGELOG_LIMIT, FieldSelection, transitions_of
from fakejira.render_cache import Shape
from fakejira.search import PageRequest, decode_token, encode_token
from fakejira.store import IssueRecord
from fakejira.web import (
    NOT_FOUND_ISSUE,
    ApiError,
    RawJson,
    Request,
    Router,
    error_body,
    page_bean,
    paged,
    raw_object,
)

ROUTES = Router()
REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
    "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
WORKLOG_PAGE = 1000
UNSERVED_ISSUE = "Retriable error or payload constraint: the issue could not be returned. Try again later."
"""The `issueErrors` text for an issue that exists but was not served (the `bulkfetch_unserved*` faults)."""
_TRIGGERS = threading.Lock()  # the one-shot triggers below are counted down by concurrent requests


def visible_record(app: Any, req: Request, id_or_key: str) -> IssueRecord:
    """The live issue behind an id or key (old keys too), if the caller may see it; else Jira's 404."""
    rec = app.site.record(id_or_key)
    if rec is None or rec.deleted or not req.account.can_see(rec.issue["fields"]["project"]["key"]):
        raise ApiError.not_found(NOT_FOUND_ISSUE)
    return rec


# ----- account and site ------------------------------------------------------------------------------------
def _myself(app: Any, req: Request) -> dict[str, Any]:
    user = dict(app.site.user(req.account))
    user.update(
        locale="en_US",
        groups={"size": 2, "items": []},
        applicationRoles={"size": 1, "items": []},
        expand="groups,applicationRoles",
    )
    return user


def _server_info(app: Any, req: Request) -> dict[str, Any]:
    return {
        "baseUrl": c.BASE,
        "displayUrl": c.BASE,
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100_287,
        "buildDate": "2026-06-01T00:00:00.000+0000",
        "serverTime": jira_time(app.site.now_ms()),
        "scmInfo": "fakejira",
        "serverTitle": "Jira (fakejira)",
        "serverTimeZone": app.site.time_zone,
    }


ROUTES.add("GET", "/rest/api/3/myself")(_myself)
ROUTES.add("GET", "/rest/api/3/serverInfo", auth=False)(_server_info)
ROUTES.add("GET", "/rest/api/3/field")(lambda app, req: app.site.fields)


@ROUTES.add("GET", "/rest/api/3/project/search")
def _project_search(app: Any, req: Request) -> dict[str, Any]:
    start, size = req.int_arg("startAt", 0), min(req.int_arg("maxResults", 50), 100)
    keys = {k.upper() for k in req.args("keys")}
    ids = set(req.args("id"))
    text = (req.arg("query") or "").lower()
    expand = set(req.args("expand"))
    projects = [
        p
        for p in app.site.projects
        if req.account.can_see(p["key"])
        and (not keys or p["key"] in keys)
        and (not ids or p["id"] in ids)
        and (text in p["key"].lower() or text in p["name"].lower())
    ]
    if (req.arg("orderBy") or "key").lstrip("+-") == "name":
        projects.sort(key=lambda p: p["name"], reverse=(req.arg("orderBy") or "").startswith("-"))
    else:
        projects.sort(key=lambda p: p["key"], reverse=(req.arg("orderBy") or "").startswith("-"))
    chunk, _ = paged(projects, start, size)
    values = [
        {k: v for k, v in p.items() if k not in ("description", "lead", "issueTypes") or k in expand}
        for p in chunk
    ]
    return page_bean(f"{c.BASE}/rest/api/3/project/search", start, size, len(projects), values)


@ROUTES.add("GET", "/rest/api/3/users/search")
def _users_search(app: Any, req: Request) -> list[dict[str, Any]]:
    chunk, _ = paged(app.site.users, req.int_arg("startAt", 0), req.int_arg("maxResults", 50))
    return chunk


# ----- search ----------------------------------------------------------------------------------------------
def _reconcile(values: Any) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values or ())
    except (TypeError, ValueError):
        raise ApiError.bad_request("reconcileIssues must be a list of issue ids.") from None


def _page_size(app: Any, max_results: int) -> int:
    """`maxResults`, lowered to the `search_page_cap` fault if one is set (Jira may serve fewer than asked)."""
    cap = int(app.faults.config.search_page_cap or 0)
    return min(max_results, cap) if cap > 0 else max_results


@ROUTES.add("GET", "/rest/api/3/search/jql")
def _search_get(app: Any, req: Request) -> dict[str, Any]:
    req.jql = req.arg("jql") or ""
    page = PageRequest(
        req.jql,
        req.arg("nextPageToken") or None,
        _page_size(app, req.int_arg("maxResults", 50)),
        FieldSelection.parse(req.args("fields"), "id"),
        frozenset(req.args("expand")),
        tuple(req.args("properties")),
        _reconcile(req.args("reconcileIssues")),
    )
    return app.search.page(req.account, page)


@ROUTES.add("POST", "/rest/api/3/search/jql")
def _search_post(app: Any, req: Request) -> dict[str, Any]:
    body = req.json_object()
    req.jql = str(body.get("jql") or "")
    expand = body.get("expand") or ""
    expand_items = expand if isinstance(expand, list) else str(expand).split(",")
    max_results = body.get("maxResults", 50)
    if not isinstance(max_results, int):
        raise ApiError.bad_request("maxResults must be a number.")
    page = PageRequest(
        req.jql,
        body.get("nextPageToken") or None,
        _page_size(app, max_results),
        FieldSelection.parse(body.get("fields"), "id"),
        frozenset(e.strip() for e in expand_items if e.strip()),
        tuple(body.get("properties") or ()),
        _reconcile(body.get("reconcileIssues")),
    )
    return app.search.page(req.account, page)


@ROUTES.add("POST", "/rest/api/3/search/approximate-count")
def _approximate_count(app: Any, req: Request) -> dict[str, Any]:
    req.jql = str(req.json_object().get("jql") or "")
    return {"count": app.search.count(req.account, req.jql)}


def _removed(app: Any, req: Request) -> None:
    raise ApiError(410, error_body(REMOVED))


for _version in ("3", "2"):
    for _method in ("GET", "POST"):
        ROUTES.add(_method, f"/rest/api/{_version}/search", auth=False)(_removed)


# ----- issues ----------------------------------------------------------------------------------------------
@ROUTES.add("POST", "/rest/api/3/issue/bulkfetch")
def _bulk_fetch(app: Any, req: Request) -> RawJson:
    body = req.json_object()
    wanted = body.get("issueIdsOrKeys")
    if not isinstance(wanted, list) or not wanted or len(wanted) > 100:
        raise ApiError.bad_request("issueIdsOrKeys must list between 1 and 100 issue ids or keys.")
    selection = FieldSelection.parse(body.get("fields"), "*navigable")
    expand = [e for item in body.get("expand") or () for e in str(item).split(",")]
    found: dict[int, IssueRecord] = {}
    errors = []
    unserved = _unserved_ids(app)
    for ident in wanted:
        try:
            rec = visible_record(app, req, str(ident))
        except ApiError:
            errors.append({"id": str(ident), "errorMessage": NOT_FOUND_ISSUE})
            continue
        if unserved is None or {str(rec.iid), rec.issue["key"].casefold(), str(ident).casefold()} & unserved:
            if not any(e["id"] == rec.issue["id"] for e in errors):
                errors.append({"id": rec.issue["id"], "errorMessage": UNSERVED_ISSUE})
            continue
        found.setdefault(rec.iid, rec)
    shape = Shape.of(selection, expand, body.get("properties") or ())
    issues = [app.renders.issue(rec, rec.issue, shape) for _, rec in sorted(found.items())]
    return raw_object("issues", issues, {"issueErrors": errors}, app.base_url)


def _unserved_ids(app: Any) -> set[str] | None:
    """Ids and keys (casefolded) this bulk fetch must list in `issueErrors` although they exist; None: all
    of them (the `bulkfetch_unserved` countdown, one per call)."""
    with _TRIGGERS:
        config = app.faults.config
        if config.bulkfetch_unserved > 0:
            config.bulkfetch_unserved -= 1
            return None
        return {str(i).casefold() for i in config.bulkfetch_unserved_ids}


@ROUTES.add("GET", "/rest/api/3/issue/{issueIdOrKey}")
def _get_issue(app: Any, req: Request) -> RawJson:
    rec = visible_record(app, req, req.params["issueIdOrKey"])
    selection = FieldSelection.parse(req.args("fields"), "*all")
    shape = Shape.of(selection, req.args("expand"), req.args("properties"), ISSUE_CHANGELOG_LIMIT)
    return RawJson(app.renders.issue(rec, rec.issue, shape))


@ROUTES.add("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions")
def _issue_transitions(app: Any, req: Request) -> dict[str, Any]:
    """The workflow's moves from the issue's status (see :func:`fakejira.render.transitions_of`); a
    `transitionId` narrows them to that one (none when the workflow does not offer it here)."""
    rec = visible_record(app, req, req.params["issueIdOrKey"])
    transitions = transitions_of(rec.issue["fields"]["status"]["name"])
    wanted = req.arg("transitionId")
    if wanted:
        transitions = [t for t in transitions if t["id"] == wanted]
    return {"expand": "transitions", "transitions": transitions}


@ROUTES.add("GET", "/rest/api/3/issue/{issueIdOrKey}/changelog")
def _issue_changelog(app: Any, req: Request) -> dict[str, Any]:
    rec = visible_record(app, req, req.params["issueIdOrKey"])
    start, size = req.int_arg("startAt", 0), min(req.int_arg("maxResults", 100), 100)
    histories = app.site.changelog(rec.iid)
    chunk, _ = paged(histories, start, size)
    return page_bean(
        f"{c.BASE}/rest/api/3/issue/{rec.issue['key']}/changelog", start, size, len(histories), chunk
    )


@ROUTES.add("GET", "/rest/api/3/issue/{issueIdOrKey}/comment")
def _issue_comments(app: Any, req: Request) -> dict[str, Any]:
    rec = visible_record(app, req, req.params["issueIdOrKey"])
    comments = app.site.comments(rec.iid)
    if (req.arg("orderBy") or "").lstrip("+") == "-created":
        comments.reverse()
    start, size = req.int_arg("startAt", 0), min(req.int_arg("maxResults", 100), 5000)
    chunk, _ = paged(comments, start, size)
    return {"startAt": start, "maxResults": size, "total": len(comments), "comments": chunk}


@ROUTES.add("GET", "/rest/api/3/issue/{issueIdOrKey}/worklog")
def _issue_worklogs(app: Any, req: Request) -> dict[str, Any]:
    rec = visible_record(app, req, req.params["issueIdOrKey"])
    after, before = req.int_arg("startedAfter", 0), req.int_arg("startedBefore", 2**62)
    logs = [w for w in app.site.worklogs(rec.iid) if after <= parse_jira_time(w["started"]) < before]
    start, size = req.int_arg("startAt", 0), min(req.int_arg("maxResults", 5000), 5000)
    chunk, _ = paged(logs, start, size)
    return {"startAt": start, "maxResults": size, "total": len(logs), "worklogs": chunk}


@ROUTES.add("POST", "/rest/api/3/changelog/bulkfetch")
def _changelog_bulk(app: Any, req: Request) -> dict[str, Any]:
    body = req.json_object()
    wanted = body.get("issueIdsOrKeys")
    field_ids = body.get("fieldIds") or []
    size = body.get("maxResults", 1000)
    if not isinstance(wanted, list) or not 1 <= len(wanted) <= 1000:
        raise ApiError.bad_request("issueIdsOrKeys must list between 1 and 1000 issue ids or keys.")
    if not isinstance(field_ids, list) or len(field_ids) > 10:
        raise ApiError.bad_request("fieldIds must list at most 10 field ids.")
    if not isinstance(size, int) or not 1 <= size <= 10_000:
        raise ApiError.bad_request("maxResults must be between 1 and 10000.")
    request_hash = hashlib.sha256(repr((wanted, field_ids)).encode()).hexdigest()[:16]
    offset = 0
    if body.get("nextPageToken"):
        payload = decode_token(str(body["nextPageToken"]))
        if payload.get("q") != request_hash or not isinstance(payload.get("o"), int):
            raise ApiError.bad_request(
                "The provided next page token is invalid or does not belong to this request."
            )
        offset = payload["o"]
    entries = []
    seen = set()
    for ident in wanted:
        try:
            rec = visible_record(app, req, str(ident))
        except ApiError:
            continue
        if rec.iid in seen:
            continue
        seen.add(rec.iid)
        for history in app.site.changelog(rec.iid):
            if field_ids:
                items = [i for i in history["items"] if i.get("fieldId", i["field"]) in field_ids]
                if not items:
                    continue
                history = {**history, "items": items}
            entries.append((history["created"], rec.iid, history))
    entries.sort(key=lambda e: (parse_jira_time(e[0]), e[1]))
    chunk = entries[offset : offset + size]
    groups: list[dict[str, Any]] = []
    for _, iid, history in chunk:
        if not groups or groups[-1]["issueId"] != str(iid):
            groups.append({"issueId": str(iid), "changeHistories": []})
        groups[-1]["changeHistories"].append(history)
    result: dict[str, Any] = {"issueChangeLogs": groups}
    if offset + len(chunk) < len(entries):
        result["nextPageToken"] = encode_token({"q": request_hash, "o": offset + len(chunk)})
    return result


# ----- worklogs --------------------------------------------------------------------------------------------
def _worklog_changes(app: Any, req: Request, deleted: bool) -> dict[str, Any]:
    since = req.int_arg("since", 0)
    horizon = app.site.now_ms() - int(app.faults.config.worklog_lag_ms)
    logs = sorted(
        (w.updated_ms, w.id)
        for w in app.site.worklog_records()
        if (w.deleted_ms is not None) == deleted and since <= w.updated_ms <= horizon
    )
    chunk = logs[:WORKLOG_PAGE]
    last = len(chunk) == len(logs)
    until = chunk[-1][0] if chunk else since
    path = "deleted" if deleted else "updated"
    page: dict[str, Any] = {
        "values": [{"worklogId": wid, "updatedTime": ms, "properties": []} for ms, wid in chunk],
        "since": since,
        "until": until,
        "self": f"{c.BASE}/rest/api/3/worklog/{path}?since={since}",
        "lastPage": last,
    }
    if not last:
        page["nextPage"] = f"{c.BASE}/rest/api/3/worklog/{path}?since={until}"
    return page


ROUTES.add("GET", "/rest/api/3/worklog/updated")(lambda app, req: _worklog_changes(app, req, deleted=False))
ROUTES.add("GET", "/rest/api/3/worklog/deleted")(lambda app, req: _worklog_changes(app, req, deleted=True))


@ROUTES.add("POST", "/rest/api/3/worklog/list")
def _worklog_list(app: Any, req: Request) -> list[dict[str, Any]]:
    ids = req.json_object().get("ids")
    if not isinstance(ids, list) or len(ids) > 1000:
        raise ApiError.bad_request("ids must list at most 1000 worklog ids.")
    out = []
    for wid in ids:
        try:
            w = app.site.worklog(int(wid))
        except (TypeError, ValueError):
            raise ApiError.bad_request(f"Invalid worklog id: {wid!r}.") from None
        if w is None or w.deleted_ms is not None:
            continue
        try:
            visible_record(app, req, str(w.issue_id))
        except ApiError:
            continue
        out.append(app.site.worklog_json(w))
    return out


# ----- audit, JQL parse ------------------------------------------------------------------------------------
def _instant(value: str | None, name: str) -> int | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError.bad_request(f"The '{name}' parameter is not a valid ISO 8601 date-time.") from None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)


def _audit_text(record: dict[str, Any]) -> str:
    """The fields Jira's audit `filter` words are matched against (any word order, case-insensitive)."""
    item = record["objectItem"]
    values = [
        record["summary"],
        record["category"],
        record["eventSource"],
        record["remoteAddress"],
        item["name"],
        item["id"],
        item.get("parentName", ""),
        item["typeName"],
    ]
    values += [
        v for change in record["changedValues"] for v in (change.get("changedFrom"), change.get("changedTo"))
    ]
    return " ".join(str(v) for v in values if v).lower()


@ROUTES.add("GET", "/rest/api/3/auditing/record")
def _audit(app: Any, req: Request) -> dict[str, Any]:
    if not req.account.admin:
        raise ApiError(
            403,
            error_body(
                "You do not have permission to view the audit log: only Jira administrators "
                "can read audit records."
            ),
        )
    start, limit = req.int_arg("offset", 0), min(req.int_arg("limit", 1000), 1000)
    lower, upper = _instant(req.arg("from"), "from"), _instant(req.arg("to"), "to")
    words = (req.arg("filter") or "").lower().split()
    records = []
    for record in reversed(app.site.audit_records):  # newest first, as Jira lists them
        ms = parse_jira_time(record["created"])
        text = _audit_text(record)
        if (
            (lower is None or ms >= lower)
            and (upper is None or ms <= upper)
            and all(w in text for w in words)
        ):
            records.append(record)
    chunk, _ = paged(records, start, limit)
    return {"offset": start, "limit": limit, "total": len(records), "records": chunk}


@ROUTES.add("POST", "/rest/api/3/jql/parse")
def _jql_parse(app: Any, req: Request) -> dict[str, Any]:
    queries = req.json_object().get("queries")
    if not isinstance(queries, list) or not queries or not all(isinstance(q, str) for q in queries):
        raise ApiError.bad_request("queries must be a non-empty list of JQL strings.")
    validation = req.arg("validation", "strict")
    if validation not in ("strict", "warn", "none"):
        raise ApiError.bad_request(f"Invalid validation mode '{validation}': use strict, warn or none.")
    parsed = parse_queries(queries, validation)
    if validation != "none":
        vocabulary = app.search.vocabulary(req.account)
        parsed = [_check_values(entry, vocabulary, validation) for entry in parsed]
    return {"queries": parsed}


def _check_values(entry: dict[str, Any], vocabulary: jql.Vocabulary, validation: str) -> dict[str, Any]:
    """A well-formed query's values checked as the caller sees the site: under `strict` bad values are
    errors and the structure goes (as Jira: "If validation fails, the query structure is not returned"),
    under `warn` they are warnings beside the structure."""
    if "structure" not in entry:
        return entry
    messages = jql.validate_values(jql.parse(entry["query"]), vocabulary)
    if not messages:
        return entry
    if validation == "strict":
        return {"query": entry["query"], "errors": messages}
    return {**entry, "warnings": messages}


# ----- agile -----------------------------------------------------------------------------------------------
@ROUTES.add("GET", "/rest/agile/1.0/board")
def _boards(app: Any, req: Request) -> dict[str, Any]:
    wanted = (req.arg("projectKeyOrId") or "").upper()
    kind, name = req.arg("type"), (req.arg("name") or "").lower()
    boards = [
        b
        for b in app.site.boards
        if req.account.can_see(b["location"]["projectKey"])
        and (not wanted or wanted in (b["location"]["projectKey"], str(b["location"]["projectId"])))
        and (not kind or b["type"] in kind.split(","))
        and name in b["name"].lower()
    ]
    start, size = req.int_arg("startAt", 0), min(req.int_arg("maxResults", 50), 50)
    chunk, last = paged(boards, start, size)
    return {"maxResults": size, "startAt": start, "total": len(boards), "isLast": last, "values": chunk}


@ROUTES.add("GET", "/rest/agile/1.0/board/{boardId}/sprint")
def _sprints(app: Any, req: Request) -> dict[str, Any]:
    board = next((b for b in app.site.boards if str(b["id"]) == req.params["boardId"]), None)
    if board is None or not req.account.can_see(board["location"]["projectKey"]):
        raise ApiError.not_found(
            "The requested board cannot be viewed because it either does not exist or you "
            "do not have permission to view it."
        )
    states = set(req.args("state"))
    sprints = [
        s for s in app.site.sprints[board["location"]["projectKey"]] if not states or s["state"] in states
    ]
    start, size = req.int_arg("startAt", 0), min(req.int_arg("maxResults", 50), 50)
    chunk, last = paged(sprints, start, size)
    values = [reference.agile_sprint(s) for s in chunk]
    return {"maxResults": size, "startAt": start, "isLast": last, "values": values}


rest_reference.register(ROUTES)


# ----- REST v2 ------------------------------------------------------------------------------------------
def _wiki_text(value: Any) -> Any:
    """API v2 renders rich text as (wiki markup) strings where v3 sends ADF documents."""
    if isinstance(value, RawJson):  # v3's cached bytes: decoded and rewritten (v2 is not on the fast path)
        return _wiki_text(value.value())
    if isinstance(value, dict):
        if value.get("type") == "doc" and "content" in value:
            return adf.to_text(value)
        return {k: _wiki_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wiki_text(v) for v in value]
    return value


def _v2(handler: Any) -> Any:
    return lambda app, req: _wiki_text(handler(app, req))


# The Python `jira` and `atlassian-python-api` clients use v2 paths by default: every v3 operation is also
# served under /rest/api/2/ (except the removed /search, already answered 410 on both).
for _route in list(ROUTES.routes):
    if _route.template.startswith("/rest/api/3/") and _route.template != "/rest/api/3/search":
        ROUTES.add(_route.method, _route.template.replace("/api/3/", "/api/2/", 1), _route.auth)(
            _v2(_route.handler)
        )


# ----- a server that repeats the credential ----------------------------------------------------------------
def _echoed_credential_body(req: Request) -> dict[str, Any]:
    """An error body that quotes the request's Authorization header and the raw token in it, as careless
    proxies and debug error pages do: what a client must never pass on to its logs and errors."""
    header = next((v for k, v in req.headers.items() if k.lower() == "authorization"), "")
    scheme, _, value = header.strip().partition(" ")
    token = value.strip()
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            token = base64.b64decode(token).decode("utf-8").partition(":")[2]
    return error_body(
        f"The request was refused for the credential it carried (Authorization: {header}).",
        f"The API token {token} is not valid for this operation.",
        errors={"authorization": header},
    )


def _echoing(handler: Any) -> Any:
    """`handler`, unless the `echo_credentials` fault has a status queued: then that status, with a body that
    repeats the credential (one queued status per request)."""

    def answer(app: Any, req: Request) -> Any:
        with _TRIGGERS:
            config = app.faults.config
            status = int(config.echo_credentials[0]) if config.echo_credentials else 0
            config.echo_credentials = config.echo_credentials[1:]  # a new list: the caller's stays as given
        if status:
            raise ApiError(status, _echoed_credential_body(req))
        return handler(app, req)

    return answer


ROUTES.routes[:] = [dataclasses.replace(route, handler=_echoing(route.handler)) for route in ROUTES.routes]
