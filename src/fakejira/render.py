"""Issue -> Jira JSON: field selection (`*all`, `*navigable`, `-field`), expands, changelog and comment
truncation.

A stored issue holds only its light fields; this module adds the replayed rich ones (description, custom
fields, comments...) and the computed ones (subtasks, links, sprints, Epic Link, time tracking) only when the
request selects them, so a search asking for `id,key,updated` costs almost nothing even on a 100,000-issue
site.

Embedded lists are cut as Jira Cloud cuts them: `changelog` (expand) holds the latest 40 histories on search
and bulk fetch, 100 on GET issue; the `comment` field holds the latest :data:`COMMENT_EMBED_LIMIT` comments
with `startAt`/`maxResults`/`total` saying so, and `GET /issue/{id}/comment` pages the rest.

Expands honoured, as peers ask for them: `renderedFields`, `names` and `schema` (per issue here; once per
page on search), `changelog`, `transitions` (the workflow's moves from the issue's status). Others
(`operations`, `editmeta`, `versionedRepresentations`) are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fakejira import adf
from fakejira import catalog as c
from fakejira.lifecycle import WORKFLOW, rich_fields
from fakejira.store import IssueRecord, Site

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
ALL_FIELDS: tuple[str, ...] = tuple(f["id"] for f in c.FIELDS if f["id"] not in ("issuekey", "thumbnail"))
NAVIGABLE_FIELDS = frozenset(f for f in ALL_FIELDS if f in c.NAVIGABLE)
COMPUTED_CUSTOM = frozenset({c.CF_SPRINT, c.CF_EPIC_LINK})
"""Custom fields rendered from site state (sprint moves, the epic's current key), not from the replay."""
RICH = frozenset(
    {"description", "environment", "duedate", "components", "fixVersions", "versions"}
    | {f"customfield_{num}" for num, *_ in c.CUSTOM_FIELDS if f"customfield_{num}" not in COMPUTED_CUSTOM}
)
SEARCH_CHANGELOG_LIMIT = 40
"""Histories Jira embeds per issue for `expand=changelog` on search and bulk fetch (the latest ones)."""
ISSUE_CHANGELOG_LIMIT = 100
"""...and on GET /issue/{idOrKey}."""
COMMENT_EMBED_LIMIT = 100
"""Comments an issue's `comment` field holds (the latest ones; `total` counts all). Atlassian documents no
figure; 100 is what Jira Cloud is reported to return (GET /issue with 120 comments gave 100, the oldest left
out: atlassian/atlassian-mcp-server#230), the default and observed cap of GET /issue/{id}/comment
(pycontribs/jira#1938), and Atlassian asks clients to read the cut from `maxResults`/`total` rather than
assume one (KB "Changing maxResults parameter for Jira Cloud REST API")."""


@dataclass(frozen=True)
class FieldSelection:
    """The `fields` parameter: ids, `*all`, `*navigable`, and `-id` exclusions, as Jira reads it."""

    everything: bool = False
    navigable: bool = False
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, values: Iterable[str] | str | None, default: str) -> FieldSelection:
        """Comma lists and repeated parameters alike; no value -> `default` (e.g. "id" or "*all")."""
        if isinstance(values, str):
            values = [values]
        tokens = [t.strip() for v in (values or ()) for t in str(v).split(",") if t.strip()]
        if not tokens:
            tokens = default.split(",")
        everything = navigable = False
        include, exclude = set(), set()
        for token in tokens:
            if token.startswith("-"):
                exclude.add(token[1:])
            elif token == "*all":
                everything = True
            elif token == "*navigable":
                navigable = True
            else:
                include.add(token)
        if exclude and not include and not everything:
            navigable = True  # "-description" alone means all navigable fields but description
        return cls(everything, navigable, frozenset(include), frozenset(exclude))

    @property
    def ids_only(self) -> bool:
        """Only `id`/`key` asked: the cheap case Jira pages 5,000 at a time."""
        return not (self.everything or self.navigable) and self.include <= {"id", "key"}

    def wanted(self) -> list[str]:
        """Real field ids to render, in Jira's field order (unknown ids are ignored, as Jira does)."""
        return [
            f
            for f in ALL_FIELDS
            if f not in self.exclude
            and (self.everything or f in self.include or (self.navigable and f in NAVIGABLE_FIELDS))
        ]


def _rich(site: Site, rec: IssueRecord, issue: dict[str, Any]) -> dict[str, Any]:
    if rec.gen is None:
        base: dict[str, Any] = {fid: None for fid in RICH}
        base.update(components=[], fixVersions=[], versions=[])
        return base
    project = site.projects[rec.gen.project]["key"]
    return rich_fields(site.data, rec.gen, project, issue["fields"]["resolution"] is not None)


def _computed(site: Site, rec: IssueRecord, fid: str, light: dict[str, Any]) -> Any:
    """Fields derived from other state at render time."""
    if fid == "parent":
        parent = site.record(light["parent"]["id"])
        return site.issue_ref(parent) if parent is not None else light["parent"]
    if fid == "subtasks":
        return [
            site.issue_ref(ch) for ch in site.children(rec.iid) if ch.issue["fields"]["issuetype"]["subtask"]
        ]
    if fid == "issuelinks":
        return site.links_of(rec)
    if fid == c.CF_SPRINT:
        return site.sprint_field(rec, light)
    if fid == c.CF_EPIC_LINK:
        return site.epic_link(light)
    if fid == "comment":
        comments = site.comments_of(rec)
        shown = comments[-COMMENT_EMBED_LIMIT:]
        return {
            "comments": shown,
            "self": f"{c.BASE}/rest/api/3/issue/{rec.iid}/comment",
            "maxResults": len(shown),
            "total": len(comments),
            "startAt": len(comments) - len(shown),
        }
    if fid == "worklog":
        logs = site.live_worklogs_of(rec)
        return {"startAt": 0, "maxResults": 20, "total": len(logs), "worklogs": logs[:20]}
    spent = site.time_spent(rec.iid)
    if fid in ("timespent", "aggregatetimespent"):
        return spent
    if fid in ("progress", "aggregateprogress"):
        return {"progress": spent or 0, "total": spent or 0, **({"percent": 100} if spent else {})}
    if fid == "timetracking":
        return {"timeSpent": f"{spent // 3600}h", "timeSpentSeconds": spent} if spent else {}
    if fid == "votes":
        return {"self": f"{c.BASE}/rest/api/3/issue/{rec.issue['key']}/votes", "votes": 0, "hasVoted": False}
    if fid == "watches":
        return {
            "self": f"{c.BASE}/rest/api/3/issue/{rec.issue['key']}/watchers",
            "watchCount": 1,
            "isWatching": False,
        }
    if fid == "attachment":
        return []
    if fid == "workratio":
        return -1
    return None  # security, lastViewed, estimates


def issue_fields(site: Site, rec: IssueRecord, issue: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """The `fields` object of one issue version, limited to `wanted` ids."""
    light = issue["fields"]
    rich = _rich(site, rec, issue) if any(f in RICH for f in wanted) else {}
    out: dict[str, Any] = {}
    for fid in wanted:
        if fid == "parent" and "parent" not in light:
            continue  # Jira omits parent for issues without one
        if fid in light and fid not in ("parent", *COMPUTED_CUSTOM):
            out[fid] = light[fid]
        elif fid in rich:
            out[fid] = rich[fid]
        else:
            out[fid] = _computed(site, rec, fid, light)
    return out


def changelog_page(histories: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """The embedded changelog of an expanded issue: only the latest `limit` histories, oldest first."""
    shown = histories[-limit:]
    return {
        "startAt": len(histories) - len(shown),
        "maxResults": len(shown),
        "total": len(histories),
        "histories": shown,
    }


def rendered_value(value: Any) -> Any:
    """`renderedFields`: ADF as simple HTML, other values as Jira shows them (None when not text)."""
    if isinstance(value, dict) and value.get("type") == "doc":
        return "".join(f"<p>{adf.escape(line)}</p>" for line in adf.to_text(value).split("\n") if line)
    return None


TRANSITION_IDS = {name: str(11 + 10 * i) for i, name in enumerate(c.STATUSES)}
"""One transition per target status, its id fixed by the status ("11" To Do, "31" In Progress...), as a Jira
workflow numbers its transitions: the same id leads to the same status from wherever it is offered."""


def transitions_of(status_name: str) -> list[dict[str, Any]]:
    """`expand=transitions` (and GET /issue/{id}/transitions): the moves the workflow offers from a status,
    the statuses the generator's own lifecycle moves to from there, each once, named after its target, as a
    simplified Jira workflow names them."""
    targets = dict.fromkeys(WORKFLOW.get(status_name, ()))
    return [
        {
            "id": TRANSITION_IDS[name],
            "name": name,
            "to": c.STATUSES[name],
            "hasScreen": False,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        for name in targets
    ]


def issue_bean(
    site: Site,
    rec: IssueRecord,
    issue: dict[str, Any],
    selection: FieldSelection,
    expand: Iterable[str] = (),
    properties: Iterable[str] = (),
    changelog_limit: int = SEARCH_CHANGELOG_LIMIT,
    with_names: bool = True,
) -> dict[str, Any]:
    """One IssueBean. With only `id` selected and nothing expanded Jira returns just {"id"}."""
    expand = set(expand)
    if selection.include <= {"id"} and not (selection.everything or selection.navigable) and not expand:
        return {"id": issue["id"]}
    wanted = selection.wanted()
    fields = issue_fields(site, rec, issue, wanted)
    bean: dict[str, Any] = {
        "expand": ISSUE_EXPAND,
        "id": issue["id"],
        "self": f"{c.BASE}/rest/api/3/issue/{issue['id']}",
        "key": issue["key"],
    }
    if "renderedFields" in expand:
        bean["renderedFields"] = {fid: rendered_value(v) for fid, v in fields.items()}
    if with_names and "names" in expand:
        bean["names"] = names_of(fields)
    if with_names and "schema" in expand:
        bean["schema"] = schema_of(fields)
    if list(properties):
        bean["properties"] = {}
    if "transitions" in expand:
        bean["transitions"] = transitions_of(issue["fields"]["status"]["name"])
    bean["fields"] = fields
    if "changelog" in expand:
        bean["changelog"] = changelog_page(site.histories_of(rec), changelog_limit)
    return bean


def names_of(fields: Iterable[str]) -> dict[str, str]:
    return {fid: c.FIELDS_BY_ID[fid]["name"] for fid in fields if fid in c.FIELDS_BY_ID}


def schema_of(fields: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {
        fid: c.FIELDS_BY_ID[fid]["schema"]
        for fid in fields
        if fid in c.FIELDS_BY_ID and "schema" in c.FIELDS_BY_ID[fid]
    }


def full_issue(site: Site, id_or_key: str | int) -> dict[str, Any] | None:
    """Every field of a live issue (what GET /issue/{idOrKey} returns by default), for Python callers."""
    rec = site.record(id_or_key)
    if rec is None or rec.deleted:
        return None
    return issue_bean(site, rec, rec.issue, FieldSelection(everything=True))
