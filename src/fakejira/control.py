"""The control API under /_fakejira/: change the site while clients run against it (JSON in and out, no auth,
never subject to faults). The Python API (fakejira.api.FakeJira) calls the same Site methods directly.

Issues: POST /issues, GET|PUT|DELETE /issues/{idOrKey}, POST /issues/{idOrKey}/move.
Children: POST /issues/{idOrKey}/comments, PUT|DELETE /issues/{idOrKey}/comments/{commentId} (edit, delete),
POST /issues/{idOrKey}/worklogs, DELETE /worklogs/{worklogId}, POST /issues/{idOrKey}/sprint ({"sprintId"}:
move to an active or future sprint, null: to the backlog), POST /issue-links ({"outward", "inward", "type"}),
DELETE /issue-links/{linkId}.
Projects: POST /projects/{key}/versions, PUT /versions/{id}, POST /projects/{key}/components.
Ground truth: GET /ground-truth (every issue ever), GET /ground-truth/reference (every project, user, field,
status, status category, issue type, priority, resolution, version, component, board and sprint), GET
/ground-truth/issues/{idOrKey} (one issue's changelog, comments and deleted comment ids, worklogs and deleted
worklog ids, links, sprint ids, parent key; deleted issues too). Accounts, faults, the request log, search
hooks and the render cache's figures have their own paths below.
"""

from __future__ import annotations

from typing import Any

from fakejira.render import full_issue
from fakejira.store import Account, NotFound
from fakejira.web import ApiError, Request, Router

CONTROL = Router()


def _body(req: Request) -> dict[str, Any]:
    return req.json_object()


def _need(body: dict[str, Any], name: str) -> Any:
    if name not in body:
        raise ApiError(400, {"error": f"missing '{name}' in the request body"})
    return body[name]


@CONTROL.add("POST", "/_fakejira/issues", auth=False)
def _create(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    return 201, app.site.create_issue(str(_need(body, "project")), body.get("fields") or {})


@CONTROL.add("GET", "/_fakejira/issues/{idOrKey}", auth=False)
def _read(app: Any, req: Request) -> dict:
    issue = full_issue(app.site, req.params["idOrKey"])
    if issue is None:
        raise NotFound(req.params["idOrKey"])
    return issue


@CONTROL.add("PUT", "/_fakejira/issues/{idOrKey}", auth=False)
def _update(app: Any, req: Request) -> dict:
    body = _body(req)
    return app.site.update_issue(req.params["idOrKey"], _need(body, "fields"), author=body.get("author"))


@CONTROL.add("DELETE", "/_fakejira/issues/{idOrKey}", auth=False)
def _delete(app: Any, req: Request) -> dict:
    rec = app.site.live_record(req.params["idOrKey"])
    app.site.delete_issue(rec.iid, author=_body(req).get("author"))
    return {"id": rec.issue["id"], "key": rec.issue["key"], "deleted": True}


@CONTROL.add("POST", "/_fakejira/issues/{idOrKey}/move", auth=False)
def _move(app: Any, req: Request) -> dict:
    body = _body(req)
    return app.site.move_issue(req.params["idOrKey"], str(_need(body, "project")), author=body.get("author"))


@CONTROL.add("POST", "/_fakejira/issues/{idOrKey}/comments", auth=False)
def _comment(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    return 201, app.site.add_comment(
        req.params["idOrKey"], str(body.get("body", "")), author=body.get("author")
    )


@CONTROL.add("PUT", "/_fakejira/issues/{idOrKey}/comments/{commentId}", auth=False)
def _edit_comment(app: Any, req: Request) -> dict:
    body = _body(req)
    return app.site.edit_comment(
        req.params["idOrKey"], req.params["commentId"], str(_need(body, "body")), author=body.get("author")
    )


@CONTROL.add("DELETE", "/_fakejira/issues/{idOrKey}/comments/{commentId}", auth=False)
def _delete_comment(app: Any, req: Request) -> dict:
    app.site.delete_comment(req.params["idOrKey"], req.params["commentId"], author=_body(req).get("author"))
    return {"id": req.params["commentId"], "deleted": True}


@CONTROL.add("POST", "/_fakejira/issues/{idOrKey}/sprint", auth=False)
def _move_to_sprint(app: Any, req: Request) -> dict:
    body = _body(req)
    sprint = _need(body, "sprintId")
    return app.site.move_to_sprint(
        req.params["idOrKey"], None if sprint is None else int(sprint), author=body.get("author")
    )


@CONTROL.add("POST", "/_fakejira/issue-links", auth=False)
def _add_link(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    return 201, app.site.add_issue_link(
        str(_need(body, "outward")),
        str(_need(body, "inward")),
        str(body.get("type", "Blocks")),
        author=body.get("author"),
    )


@CONTROL.add("DELETE", "/_fakejira/issue-links/{linkId}", auth=False)
def _delete_link(app: Any, req: Request) -> dict:
    app.site.delete_issue_link(int(req.params["linkId"]), author=_body(req).get("author"))
    return {"id": req.params["linkId"], "deleted": True}


VERSION_DETAILS = {
    "description": "description",
    "releaseDate": "release_date",
    "startDate": "start_date",
    "released": "released",
    "archived": "archived",
}
"""Body keys of a new version (Jira's names) -> Site.add_version's arguments."""


@CONTROL.add("POST", "/_fakejira/projects/{key}/versions", auth=False)
def _add_version(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    details = {arg: body[key] for key, arg in VERSION_DETAILS.items() if key in body}
    return 201, app.site.add_version(req.params["key"], str(_need(body, "name")), **details)


@CONTROL.add("PUT", "/_fakejira/versions/{versionId}", auth=False)
def _update_version(app: Any, req: Request) -> dict:
    return app.site.update_version(req.params["versionId"], **_body(req))


@CONTROL.add("POST", "/_fakejira/projects/{key}/components", auth=False)
def _add_component(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    return 201, app.site.add_component(
        req.params["key"], str(_need(body, "name")), str(body.get("description", "")), body.get("lead")
    )


@CONTROL.add("POST", "/_fakejira/issues/{idOrKey}/worklogs", auth=False)
def _worklog(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    return 201, app.site.add_worklog(
        req.params["idOrKey"],
        int(_need(body, "seconds")),
        str(body.get("comment", "")),
        author=body.get("author"),
        started=body.get("started"),
    )


@CONTROL.add("DELETE", "/_fakejira/worklogs/{worklogId}", auth=False)
def _delete_worklog(app: Any, req: Request) -> dict:
    app.site.delete_worklog(int(req.params["worklogId"]))
    return {"id": req.params["worklogId"], "deleted": True}


@CONTROL.add("GET", "/_fakejira/accounts", auth=False)
def _accounts(app: Any, req: Request) -> list[dict]:
    return [a.public() for a in app.site.accounts.values()]


@CONTROL.add("POST", "/_fakejira/accounts", auth=False)
def _add_account(app: Any, req: Request) -> tuple[int, dict]:
    body = _body(req)
    projects = body.get("projects")
    account = Account(
        str(_need(body, "accountId")),
        str(body.get("email", "")),
        str(_need(body, "token")),
        str(body.get("displayName", body.get("email") or "Test account")),
        str(body.get("timeZone", app.site.time_zone)),
        bool(body.get("admin", False)),
        frozenset(projects) if projects is not None else None,
        str(body.get("auth", "basic")),
    )
    return 201, app.site.add_account(account).public()


@CONTROL.add("PUT", "/_fakejira/accounts/{accountId}", auth=False)
def _set_account(app: Any, req: Request) -> dict:
    account_id = req.params["accountId"]
    app.site.set_time_zone(account_id, str(_need(_body(req), "timeZone")))
    return app.site.accounts[account_id].public()


@CONTROL.add("GET", "/_fakejira/faults", auth=False)
def _faults(app: Any, req: Request) -> dict:
    return app.faults.snapshot()


@CONTROL.add("PUT", "/_fakejira/faults", auth=False)
def _set_faults(app: Any, req: Request) -> dict:
    app.configure_faults(**_body(req))
    return app.faults.snapshot()


@CONTROL.add("GET", "/_fakejira/ground-truth", auth=False)
def _ground_truth(app: Any, req: Request) -> list[dict]:
    return app.site.ground_truth()


@CONTROL.add("GET", "/_fakejira/ground-truth/reference", auth=False)
def _reference_truth(app: Any, req: Request) -> dict:
    return app.site.reference_truth()


@CONTROL.add("GET", "/_fakejira/ground-truth/issues/{idOrKey}", auth=False)
def _issue_truth(app: Any, req: Request) -> dict:
    return app.site.issue_truth(req.params["idOrKey"])


@CONTROL.add("GET", "/_fakejira/requests", auth=False)
def _requests(app: Any, req: Request) -> dict:
    return app.log.snapshot()


@CONTROL.add("DELETE", "/_fakejira/requests", auth=False)
def _reset_requests(app: Any, req: Request) -> dict:
    app.log.reset()
    return {"reset": True}


@CONTROL.add("GET", "/_fakejira/render-cache", auth=False)
def _render_cache(app: Any, req: Request) -> dict:
    """Entries, bytes, budget, hits and misses of the render cache (of the process that answers)."""
    return app.renders.stats()


@CONTROL.add("POST", "/_fakejira/search-hooks/skip-ids", auth=False)
def _skip_ids(app: Any, req: Request) -> tuple[int, dict]:
    """Make the next listing of `jql` (exact; absent: any search with a second page) skip `count` issues
    after page `afterPage`: as many served issues are deleted (or moved to `moveTo`). Once."""
    body = _body(req)
    jql = body.get("jql")
    churn = app.search.skip_ids(
        None if jql is None else str(jql),
        after_page=int(body.get("afterPage", 1)),
        count=int(body.get("count", 1)),
        move_to=body.get("moveTo"),
    )
    return 201, churn.as_dict()


@CONTROL.add("GET", "/_fakejira/search-hooks", auth=False)
def _search_hooks(app: Any, req: Request) -> list[dict]:
    """The skip-ids hooks in place, with the ids each has `removed` and `skipped` so far."""
    return [churn.as_dict() for churn in app.search.churns()]


@CONTROL.add("DELETE", "/_fakejira/search-hooks", auth=False)
def _clear_search_hooks(app: Any, req: Request) -> dict:
    app.search.clear_hooks()
    return {"cleared": True}
