"""The state of one emulated Jira site: issues and their versions, changelogs, comments, worklogs, links,
sprints, audit, accounts (and, in :mod:`fakejira.reference`, versions, components, boards and sprints).

Issues are kept in Jira REST shape (``{"id", "key", "fields": {...}}``) but only with the fields a search
needs ("light" fields); the bulky generated parts (description, custom fields, changelog, comments) are
replayed on demand from the issue's :class:`~fakejira.lifecycle.GenSpec`. A light field wins over its replayed
value, which is how control-API writes to replayed fields (a sprint move) stick. Every write makes a new issue
dict (copy on write) and remembers when it was written, so a search can be served from the view an index that
lags writes by ``search_lag`` seconds would have, while direct reads see the newest version.

Ground truth for tests that compare a sync with the site, row for row (all JSON as the REST API renders it):

- reference lists: :meth:`Site.reference_truth` (projects, users, fields, statuses, status categories, issue
  types, priorities, resolutions, versions, components, boards, sprints), or one each: ``site.projects``,
  ``site.users``, ``site.fields``, ``site.boards``, :meth:`Site.versions_of`, :meth:`Site.components_of`,
  ``site.ref.all_versions()``, ``site.ref.all_components()``, ``site.ref.all_sprints()``;
- issues: :meth:`Site.ground_truth` (every issue ever, with `deleted`), and per issue
  :meth:`Site.issue_truth`: its complete changelog, live comments and deleted comment ids, live worklogs and
  deleted worklog ids, links, sprint ids, parent/epic key; it answers for deleted issues too (their children
  as they were when the issue went, all of which a sync must then mark deleted). The pieces on their own:
  :meth:`Site.changelog`, :meth:`Site.comments`, :meth:`Site.deleted_comment_ids`, :meth:`Site.worklogs`,
  :meth:`Site.deleted_worklog_ids`, :meth:`Site.issue_links`, :meth:`Site.sprint_ids` (live issues only).

Writes beyond issues: :meth:`Site.edit_comment`, :meth:`Site.delete_comment`, :meth:`Site.move_to_sprint`,
:meth:`Site.add_issue_link`, :meth:`Site.delete_issue_link`, :meth:`Site.add_version`,
:meth:`Site.update_version`, :meth:`Site.add_component`.

All public methods take one re-entrant lock, so the HTTP threads and the control API can call them freely.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fakejira import adf, reference
from fakejira import catalog as c
from fakejira.lifecycle import (
    GenSpec,
    SiteData,
    comment_body,
    comment_edited_ms,
    issue_sprints,
    jira_time,
    parse_jira_time,
    rich_fields,
    simulate,
    sprint_histories,
    sprint_item,
    sprint_json,
    worklog_comment,
)
from fakejira.reference import ReferenceData

LinkRef = tuple[int, int, int, bool]
"""(link id, the other issue's id, index into catalog.LINK_TYPES, whether this issue is the outward side)."""


def generated_history_id(n: int, index: int) -> int:
    """Id of the `index`-th generated history of issue `n`: 10000 + n * 100 + index for the first 100 (ids
    before busy issues existed), a range of their own past 1.5e9 for the rest; control-API histories count
    up from 50,000,000, so no two meet."""
    return 10_000 + n * 100 + index if index < 100 else 1_500_000_000 + n * 1_000 + index


def generated_comment_id(n: int, index: int) -> int:
    """Id of the `index`-th generated comment of issue `n`: 10000 + n * 20 + index for the first 20, past
    1e9 for a chatty issue's others; control-API comments count up from 60,000,000."""
    return 10_000 + n * 20 + index if index < 20 else 1_000_000_000 + n * 1_000 + index


@dataclass
class Account:
    """A credential and what it may see. `auth` is "basic" (email + API token) or "bearer" (token only)."""

    account_id: str
    email: str
    api_token: str
    display_name: str
    time_zone: str
    admin: bool = True
    projects: frozenset[str] | None = None
    auth: str = "basic"

    def can_see(self, project_key: str) -> bool:
        return self.projects is None or project_key in self.projects

    def public(self) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "email": self.email,
            "token": self.api_token,
            "displayName": self.display_name,
            "timeZone": self.time_zone,
            "admin": self.admin,
            "projects": sorted(self.projects) if self.projects is not None else None,
            "auth": self.auth,
        }


@dataclass(slots=True)
class Worklog:
    id: int
    issue_id: int
    author: dict[str, Any]
    started_ms: int
    created_ms: int
    updated_ms: int
    seconds: int
    comment: dict[str, Any] | None = None  # None: replay the generated comment
    gen: tuple[int, int] | None = None  # (issue n, index) for generated worklogs
    deleted_ms: int | None = None


@dataclass(slots=True)
class IssueRecord:
    """One issue ever created. `issue` is its newest version (kept after deletion, with `deleted` set)."""

    iid: int
    issue: dict[str, Any]
    gen: GenSpec | None = None
    deleted: bool = False
    histories: list[dict[str, Any]] | None = None  # written through the control API
    comments: list[dict[str, Any]] | None = None
    versions: list[tuple[float, dict[str, Any] | None]] | None = None  # (monotonic write time, issue|None)
    comment_changes: dict[str, dict[str, Any] | None] | None = None  # comment id -> new JSON, None: deleted

    def view(self, at: float | None) -> dict[str, Any] | None:
        """The version a reader at monotonic time `at` sees (None = newest); None when deleted or unborn."""
        if at is None or not self.versions:
            return None if self.deleted else self.issue
        for written, issue in reversed(self.versions):
            if written <= at:
                return issue
        return None


class NotFound(KeyError):
    """No live issue (or account) has this id or key."""


def duration_text(seconds: int) -> str:
    """Jira's short duration form: 1d 2h 30m (8-hour days, as Jira's default time tracking)."""
    days, rest = divmod(seconds, 8 * 3600)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{rest // 60}m" if rest >= 60 else ""]
    return " ".join(p for p in parts if p) or "0m"


class Site:
    """A Jira Cloud site in memory. Build one with :func:`fakejira.generator.generate_site`."""

    def __init__(
        self,
        data: SiteData,
        accounts: Iterable[Account],
        records: list[IssueRecord],
        worklogs: list[Worklog],
        boards: list[dict[str, Any]],
        time_zone: str,
        links: dict[int, list[LinkRef]] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.data = data
        self.time_zone = time_zone
        self.projects: list[dict[str, Any]] = data.projects
        self.users: list[dict[str, Any]] = data.users
        self.fields: list[dict[str, Any]] = c.FIELDS
        self.boards = boards
        self.sprints = data.sprints
        self.ref = ReferenceData(data, boards, data.users, self.now_ms)
        self._links: dict[int, list[LinkRef]] = links or {}
        self._link_ids = itertools.count(80_000_000)
        self._generated_components: dict[int, tuple[str, ...]] = {}  # iid -> component ids (replayed once)
        self.accounts: dict[str, Account] = {a.account_id: a for a in accounts}
        self.users_by_id: dict[str, dict[str, Any]] = {u["accountId"]: u for u in data.users}
        self.project_by_key = {p["key"]: p for p in data.projects}
        self._records: dict[int, IssueRecord] = {r.iid: r for r in records}
        self._keys: dict[str, int] = {r.issue["key"]: r.iid for r in records}
        self._children: dict[int, list[int]] = {}
        for r in records:
            parent = r.issue["fields"].get("parent")
            if parent:
                self._children.setdefault(int(parent["id"]), []).append(r.iid)
        self._numbers: dict[str, int] = {p["key"]: 0 for p in data.projects}
        for r in records:
            project, number = r.issue["key"].rsplit("-", 1)
            self._numbers[project] = max(self._numbers[project], int(number))
        self._worklogs: dict[int, Worklog] = {w.id: w for w in worklogs}
        self._worklogs_by_issue: dict[int, list[int]] = {}
        for w in worklogs:
            self._worklogs_by_issue.setdefault(w.issue_id, []).append(w.id)
        self._audit: list[dict[str, Any]] = []
        self._writes: list[float] = []  # monotonic times of every write, ascending
        self._ids = itertools.count(max(self._records, default=9_999) + 1)
        self._history_ids = itertools.count(50_000_000)
        self._comment_ids = itertools.count(60_000_000)
        self._worklog_ids = itertools.count(max(self._worklogs, default=9_999) + 1)
        self.search_lag = 0.0
        """Seconds a write takes to reach the search index (set by faults)."""
        self.clock_offset_ms = 0.0
        """The site's clock minus the machine's, in ms (set by faults): a Jira whose clock is not ours."""
        self.render_epoch = 0
        """Counts the writes that change how issues render without writing a new version of them (a user's
        time zone, a version renamed...): a cached rendering made in another epoch is stale."""

    def now_ms(self) -> int:
        """The site's clock (epoch ms): every stamp the site writes, its Date header and JQL's `now` use it."""
        return int(time.time() * 1000 + self.clock_offset_ms)

    # ----- accounts -------------------------------------------------------------------------------------
    def authenticate_basic(self, email: str, token: str) -> Account | None:
        with self.lock:
            return next(
                (
                    a
                    for a in self.accounts.values()
                    if a.auth == "basic" and a.email.lower() == email.lower() and a.api_token == token
                ),
                None,
            )

    def authenticate_bearer(self, token: str) -> Account | None:
        with self.lock:
            return next(
                (a for a in self.accounts.values() if a.auth == "bearer" and a.api_token == token), None
            )

    def add_account(self, account: Account, user: dict[str, Any] | None = None) -> Account:
        """Register a credential; `user` (Jira user JSON) defaults to a new active user for it."""
        with self.lock:
            if account.account_id not in self.users_by_id:
                user = user or {
                    "self": f"{c.BASE}/rest/api/3/user?accountId={account.account_id}",
                    "accountId": account.account_id,
                    "emailAddress": account.email,
                    "avatarUrls": c.avatar_urls(),
                    "displayName": account.display_name,
                    "active": True,
                    "timeZone": account.time_zone,
                    "accountType": "atlassian",
                }
                self.users.append(user)
                self.users_by_id[account.account_id] = user
            self.accounts[account.account_id] = account
            return account

    def set_time_zone(self, account_id: str, tz: str) -> None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {tz!r}") from None
        with self.lock:
            if account_id not in self.accounts:
                raise NotFound(account_id)
            self.accounts[account_id].time_zone = tz
            if account_id in self.users_by_id:
                self.users_by_id[account_id]["timeZone"] = tz  # in place: every issue showing the user
                self.render_epoch += 1

    def user(self, account: Account) -> dict[str, Any]:
        return self.users_by_id[account.account_id]

    # ----- reads ----------------------------------------------------------------------------------------
    def record(self, id_or_key: str | int) -> IssueRecord | None:
        """The record behind an id or (current or old) key, deleted or not."""
        with self.lock:
            text = str(id_or_key).strip()
            iid = int(text) if text.isdigit() else self._keys.get(text.upper())
            return self._records.get(iid) if iid is not None else None

    def live_record(self, id_or_key: str | int) -> IssueRecord:
        rec = self.record(id_or_key)
        if rec is None or rec.deleted:
            raise NotFound(str(id_or_key))
        return rec

    def get_issue(self, id_or_key: str | int) -> dict[str, Any] | None:
        """Newest light version of a live issue (search fields only; render.full_issue for all)."""
        rec = self.record(id_or_key)
        return None if rec is None or rec.deleted else rec.issue

    def index_time(self) -> float:
        """The monotonic instant the search index has caught up to."""
        return time.monotonic() - self.search_lag

    def view_version(self, at: float) -> int:
        """How many writes a reader at `at` sees: equal numbers mean identical search views."""
        with self.lock:
            return bisect.bisect_right(self._writes, at)

    def visible_issues(self, account: Account | None, at: float | None = None) -> list[dict[str, Any]]:
        """Light issues `account` may see, as an index at monotonic time `at` holds them (None: newest)."""
        with self.lock:
            out = []
            for rec in self._records.values():
                issue = rec.view(at)
                if issue is not None and (
                    account is None or account.can_see(issue["fields"]["project"]["key"])
                ):
                    out.append(issue)
            return out

    def records_in_order(self) -> list[IssueRecord]:
        """Every issue ever created (deleted ones too), by id."""
        with self.lock:
            return sorted(self._records.values(), key=lambda r: r.iid)

    def records_of(self, issues: Iterable[dict[str, Any]]) -> list[IssueRecord]:
        with self.lock:
            return [self._records[int(i["id"])] for i in issues]

    def render_dependencies(self, rec: IssueRecord, issue: dict[str, Any]) -> tuple[Any, ...]:
        """What a rendering of `issue` (a version of `rec`) reads besides `issue`: while this tuple is
        unchanged, so is the rendering, which is how the render cache knows its bytes are current.

        Every write to an issue publishes a new dict as its newest version (comments, worklogs, histories,
        sprint moves and links too), so the newest version and the deleted flag stand for the issue's own
        state; the issues it shows (parent, sub-tasks, links, epic) are in by theirs, its sub-tasks and links
        by their lists; the rest (users' time zones, versions) by :attr:`render_epoch`."""
        with self.lock:
            light = issue["fields"]
            links = self._links.get(rec.iid)
            deps: list[Any] = [issue, rec.issue, rec.deleted, self.render_epoch, links]
            for ref in (light.get("parent"), light.get(c.CF_EPIC_LINK)):
                if ref:
                    other = self._records.get(int(ref["id"]))
                    deps += (other.issue, other.deleted) if other is not None else (None, None)
            for child in self._children.get(rec.iid, ()):
                other = self._records[child]
                deps += (child, other.issue, other.deleted)
            for _, other_iid, _, _ in links or ():
                other = self._records.get(other_iid)
                deps += (other.issue, other.deleted) if other is not None else (None, None)
            return tuple(deps)

    def children(self, iid: int) -> list[IssueRecord]:
        with self.lock:
            return [self._records[i] for i in self._children.get(iid, ()) if not self._records[i].deleted]

    def changelog(self, id_or_key: str | int) -> list[dict[str, Any]]:
        """Every history of the issue, oldest first, Jira JSON (untruncated)."""
        return self.histories_of(self.live_record(id_or_key))

    def _creation_project_key(self, rec: IssueRecord) -> str:
        """The project a generated issue was created in: what its replayed fields were drawn from."""
        return self.projects[rec.gen.project]["key"]  # type: ignore[union-attr]

    def histories_of(self, rec: IssueRecord) -> list[dict[str, Any]]:
        out = []
        if rec.gen is not None:
            life = simulate(self.data, rec.gen)
            entries = life.histories
            sprints = issue_sprints(self.data, rec.gen, self._creation_project_key(rec))
            if sprints:  # the generated Sprint value came by these changes; own edits first at equal times
                created, last = rec.gen.created_ms, life.updated_ms
                joined = sprint_histories(self.data, sprints, created, last, life.reporter)
                entries = sorted([*entries, *joined], key=lambda entry: entry[0])
            n = rec.gen.n
            for index, (ms, author, items) in enumerate(entries):
                out.append(self._history(generated_history_id(n, index), self.users[author], ms, items))
        return out + list(rec.histories or ())

    @staticmethod
    def _history(hid: int, author: dict[str, Any], ms: int, items: Iterable[tuple]) -> dict[str, Any]:
        rendered = []
        for fid, old, old_s, new, new_s in items:
            custom = fid.startswith("customfield_")
            item: dict[str, Any] = {
                # Jira names a custom field's changes by the field's name ("Sprint"), with its id beside it.
                "field": c.FIELDS_BY_ID[fid]["name"] if custom and fid in c.FIELDS_BY_ID else fid,
                "fieldtype": "custom" if custom else "jira",
            }
            if fid in c.FIELDS_BY_ID:
                item["fieldId"] = fid
            # Jira sends null here; the published schema types these as non-nullable strings, so absent.
            for name, value in (("from", old), ("fromString", old_s), ("to", new), ("toString", new_s)):
                if value is not None:
                    item[name] = value
            rendered.append(item)
        return {"id": str(hid), "author": author, "created": jira_time(ms), "items": rendered}

    def comments(self, id_or_key: str | int) -> list[dict[str, Any]]:
        """The issue's comments as Jira lists them, oldest first: edits applied, deleted ones gone."""
        return self.comments_of(self.live_record(id_or_key))

    def comments_of(self, rec: IssueRecord) -> list[dict[str, Any]]:
        out = []
        changes = rec.comment_changes or {}
        if rec.gen is not None:
            life = simulate(self.data, rec.gen)
            n, seed = rec.gen.n, self.data.seed
            for index, (ms, author) in enumerate(life.comments):
                cid = generated_comment_id(n, index)
                if str(cid) in changes:  # edited through the control API (kept in place), or deleted
                    changed = changes[str(cid)]
                    if changed is not None:
                        out.append(changed)
                    continue
                user = self.users[author]
                edited = comment_edited_ms(seed, n, index, ms, life.updated_ms)
                body = comment_body(self.data, n, index)
                out.append(self._comment(rec.iid, cid, user, ms, body, edited, user))
        return out + list(rec.comments or ())

    def deleted_comment_ids(self, id_or_key: str | int) -> list[str]:
        """Ids of the issue's comments deleted through the control API (Jira lists them nowhere)."""
        rec = self.record(id_or_key)
        if rec is None:
            raise NotFound(str(id_or_key))
        return [cid for cid, comment in (rec.comment_changes or {}).items() if comment is None]

    @staticmethod
    def _comment(
        iid: int,
        cid: int,
        author: dict[str, Any],
        ms: int,
        body: dict[str, Any],
        updated_ms: int | None = None,
        update_author: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "self": f"{c.BASE}/rest/api/3/issue/{iid}/comment/{cid}",
            "id": str(cid),
            "author": author,
            "body": body,
            "updateAuthor": update_author or author,
            "created": jira_time(ms),
            "updated": jira_time(ms if updated_ms is None else updated_ms),
            "jsdPublic": True,
        }

    def worklogs(self, id_or_key: str | int) -> list[dict[str, Any]]:
        """The issue's live worklogs, as /worklog/list renders them."""
        return self.live_worklogs_of(self.live_record(id_or_key))

    def worklog_records_of(self, rec: IssueRecord) -> list[Worklog]:
        with self.lock:
            return [self._worklogs[w] for w in self._worklogs_by_issue.get(rec.iid, ())]

    def live_worklogs_of(self, rec: IssueRecord) -> list[dict[str, Any]]:
        """The record's worklogs that are not deleted, as JSON."""
        return [self.worklog_json(w) for w in self.worklog_records_of(rec) if w.deleted_ms is None]

    def deleted_worklog_ids(self, id_or_key: str | int) -> list[str]:
        """Ids of the issue's deleted worklogs (what /worklog/deleted lists for it)."""
        rec = self.record(id_or_key)
        if rec is None:
            raise NotFound(str(id_or_key))
        return [str(w.id) for w in self.worklog_records_of(rec) if w.deleted_ms is not None]

    def worklog_json(self, w: Worklog) -> dict[str, Any]:
        comment = w.comment if w.comment is not None else worklog_comment(self.data, *w.gen)  # type: ignore[misc]
        return {
            "self": f"{c.BASE}/rest/api/3/issue/{w.issue_id}/worklog/{w.id}",
            "author": w.author,
            "updateAuthor": w.author,
            "comment": comment,
            "created": jira_time(w.created_ms),
            "updated": jira_time(w.updated_ms),
            "started": jira_time(w.started_ms),
            "timeSpent": duration_text(w.seconds),
            "timeSpentSeconds": w.seconds,
            "id": str(w.id),
            "issueId": str(w.issue_id),
        }

    def time_spent(self, iid: int) -> int | None:
        with self.lock:
            logs = [self._worklogs[w] for w in self._worklogs_by_issue.get(iid, ())]
        total = sum(w.seconds for w in logs if w.deleted_ms is None)
        return total or None

    def worklog_records(self) -> list[Worklog]:
        """Every worklog ever (deleted ones carry deleted_ms), for /worklog/updated and /worklog/deleted."""
        with self.lock:
            return list(self._worklogs.values())

    def worklog(self, wid: int) -> Worklog | None:
        with self.lock:
            return self._worklogs.get(wid)

    # ----- links, sprints, epics -------------------------------------------------------------------------
    def issue_ref(self, rec: IssueRecord) -> dict[str, Any]:
        """How Jira shows another issue inside this one (parent, subtasks, links)."""
        f = rec.issue["fields"]
        return {
            "id": rec.issue["id"],
            "key": rec.issue["key"],
            "self": f"{c.BASE}/rest/api/3/issue/{rec.iid}",
            "fields": {
                "summary": f["summary"],
                "status": f["status"],
                "priority": f["priority"],
                "issuetype": f["issuetype"],
            },
        }

    def links_of(self, rec: IssueRecord) -> list[dict[str, Any]]:
        """The issue's `issuelinks`: each link to a live issue, from this issue's side."""
        out = []
        with self.lock:
            refs = list(self._links.get(rec.iid, ()))
        for link_id, other_iid, kind, outward in refs:
            other = self._records.get(other_iid)
            if other is None or other.deleted:
                continue
            out.append(
                {
                    "id": str(link_id),
                    "self": f"{c.BASE}/rest/api/3/issueLink/{link_id}",
                    "type": c.LINK_TYPES[kind],
                    "outwardIssue" if outward else "inwardIssue": self.issue_ref(other),
                }
            )
        return out

    def issue_links(self, id_or_key: str | int) -> list[dict[str, Any]]:
        """The live issue's links as its `issuelinks` field renders them."""
        return self.links_of(self.live_record(id_or_key))

    def _sprints_of(
        self, rec: IssueRecord, light: dict[str, Any] | None = None
    ) -> list[dict[str, Any]] | None:
        """The Sprint field's value: a control-API move (kept in the light fields) or the generated one."""
        light = rec.issue["fields"] if light is None else light
        if c.CF_SPRINT in light:
            return light[c.CF_SPRINT]
        if rec.gen is None:
            return None
        return issue_sprints(self.data, rec.gen, self._creation_project_key(rec))

    def sprint_field(self, rec: IssueRecord, light: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The Sprint field of one version (`light`) of the issue, each sprint's state as it is now."""
        if c.CF_SPRINT not in light:
            return self._sprints_of(rec, light) or None  # replayed from the sprints as they are
        return [
            sprint_json(self.data.sprints_by_id.get(s["id"], s)) for s in light[c.CF_SPRINT] or ()
        ] or None

    def sprint_ids(self, id_or_key: str | int) -> list[int]:
        """Ids of the sprints the live issue's Sprint field lists (closed ones it was carried over from too)."""
        return [s["id"] for s in self._sprints_of(self.live_record(id_or_key)) or ()]

    def sprint_members(self, sprint_id: int, account: Account | None = None) -> list[IssueRecord]:
        """Live issues (that `account` may see) whose Sprint field lists the sprint, by rank (= id here).
        Only issues created in the sprint's project or moved by the control API can list it, so the rest
        are passed over without a replay."""
        sprint = self.ref.sprint(sprint_id)
        if sprint is None:
            return []
        project = next(b for b in self.boards if b["id"] == sprint["boardId"])["location"]["projectKey"]
        records = self.records_in_order()
        out = []
        for rec in records:
            light = rec.issue["fields"]
            if rec.deleted or (account is not None and not account.can_see(light["project"]["key"])):
                continue
            if c.CF_SPRINT not in light and (rec.gen is None or self._creation_project_key(rec) != project):
                continue
            if any(s["id"] == sprint["id"] for s in self._sprints_of(rec) or ()):
                out.append(rec)
        return out

    def epic_link(self, light: dict[str, Any]) -> str | None:
        """The Epic Link field: the key its epic has now (keys change when epics move), None without one."""
        ref = light.get(c.CF_EPIC_LINK)
        if not ref:
            return None
        epic = self._records.get(int(ref["id"]))
        return None if epic is None or epic.deleted else epic.issue["key"]

    def _component_ids(self, rec: IssueRecord) -> tuple[str, ...]:
        """Component ids of the issue: set through the control API, or replayed once and remembered."""
        light = rec.issue["fields"]
        if "components" in light:
            return tuple(x["id"] for x in light["components"] or ())
        if rec.gen is None:
            return ()
        found = self._generated_components.get(rec.iid)
        if found is None:
            rich = rich_fields(self.data, rec.gen, self._creation_project_key(rec), False)
            found = self._generated_components[rec.iid] = tuple(x["id"] for x in rich["components"])
        return found

    def component_issue_counts(self, project_key: str) -> dict[str, int]:
        """Live issues per component id in a project (the paged component list's `issueCount`). The first
        call replays each issue's generated components, as fast as rendering the issues; later ones count."""
        with self.lock:
            records = [
                r
                for r in self._records.values()
                if not r.deleted and r.issue["fields"]["project"]["key"] == project_key
            ]
        counts: dict[str, int] = {}
        for rec in records:
            for cid in self._component_ids(rec):
                counts[cid] = counts.get(cid, 0) + 1
        return counts

    def versions_of(self, project_key: str) -> list[dict[str, Any]]:
        """The project's versions as `/project/{key}/versions` lists them (generated, then added)."""
        with self.lock:
            project = self.project_by_key[project_key]
            return [self.ref.version_json(project, v) for v in self.ref.versions[project_key]]

    def components_of(self, project_key: str) -> list[dict[str, Any]]:
        """The project's components as `/project/{key}/components` lists them (generated, then added)."""
        with self.lock:
            project = self.project_by_key[project_key]
            return [self.ref.component_json(project, x) for x in self.ref.components[project_key]]

    # ----- ground truth ---------------------------------------------------------------------------------
    def reference_truth(self) -> dict[str, list[dict[str, Any]]]:
        """Every reference entity, as the REST lists render them (projects as `project/search` with
        `expand=description,lead,issueTypes`, sprints as the Agile board sprint lists)."""
        with self.lock:
            return {
                "projects": sorted(self.projects, key=lambda p: p["key"]),  # as project/search lists them
                "users": list(self.users),
                "fields": list(self.fields),
                "statuses": reference.status_list(),
                "status_categories": list(c.STATUS_CATEGORIES),
                "issue_types": reference.issue_type_list(),
                "priorities": reference.priority_list(),
                "resolutions": reference.resolution_list(),
                "versions": self.ref.all_versions(),
                "components": self.ref.all_components(),
                "boards": list(self.boards),
                "sprints": self.ref.all_sprints(),
            }

    def issue_truth(self, id_or_key: str | int) -> dict[str, Any]:
        """Everything a sync keeps about one issue (see the module docstring); deleted issues included."""
        rec = self.record(id_or_key)
        if rec is None:
            raise NotFound(str(id_or_key))
        light = rec.issue["fields"]
        parent = self._records.get(int(light["parent"]["id"])) if light.get("parent") else None
        epic = self.epic_link(light)
        return {
            "id": rec.issue["id"],
            "key": rec.issue["key"],
            "deleted": rec.deleted,
            "updated": light["updated"],
            "parent_key": parent.issue["key"] if parent else epic,  # what PARENT_KEY should be
            "epic_link": epic,
            "changelog": self.histories_of(rec),
            "comments": self.comments_of(rec),
            "deleted_comment_ids": self.deleted_comment_ids(rec.iid),
            "worklogs": self.live_worklogs_of(rec),
            "deleted_worklog_ids": self.deleted_worklog_ids(rec.iid),
            "links": self.links_of(rec),
            "sprint_ids": [s["id"] for s in self._sprints_of(rec) or ()],
        }

    @property
    def audit_records(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._audit)

    def ground_truth(self) -> list[dict[str, Any]]:
        """Every issue ever: {"id", "key", "project", "updated", "deleted"}, by id."""
        with self.lock:
            return [
                {
                    "id": r.issue["id"],
                    "key": r.issue["key"],
                    "project": r.issue["fields"]["project"]["key"],
                    "updated": r.issue["fields"]["updated"],
                    "deleted": r.deleted,
                }
                for r in self.records_in_order()
            ]

    # ----- writes ---------------------------------------------------------------------------------------
    def _author(self, account_id: str | None) -> dict[str, Any]:
        if account_id is None:
            return self.users[0]
        if account_id not in self.users_by_id:
            raise NotFound(account_id)
        return self.users_by_id[account_id]

    def _bump(self, previous: str) -> str:
        """A new `updated` from the site's clock, strictly after the previous one."""
        return jira_time(max(self.now_ms(), parse_jira_time(previous) + 1))

    def _publish(self, rec: IssueRecord, issue: dict[str, Any] | None) -> None:
        """Make `issue` the newest version (None = deleted), remembering when, for lagging searches."""
        now = time.monotonic()
        if rec.versions is None:
            rec.versions = [] if rec.gen is None else [(float("-inf"), rec.issue)]
        rec.versions.append((now, issue))
        if len(rec.versions) > 16:  # forget versions no lagging reader can still see (10 minutes of slack)
            horizon = now - self.search_lag - 600
            older = [i for i, (written, _) in enumerate(rec.versions) if written < horizon]
            if len(older) > 1:
                del rec.versions[: older[-1]]
        if issue is None:
            rec.deleted = True
        else:
            rec.issue, rec.deleted = issue, False
        self._writes.append(now)

    def _value(self, fid: str, value: Any) -> Any:
        """Accept convenient control-API values (names, ids, account ids, plain text) as Jira JSON."""

        def pick(table: dict[str, dict[str, Any]], v: Any) -> dict[str, Any]:
            name = v.get("name") or v.get("id") if isinstance(v, dict) else str(v)
            found = table.get(name) or next((t for t in table.values() if t["id"] == str(name)), None)
            if found is None:
                raise ValueError(f"unknown {fid}: {v!r}")
            return found

        if value is None:
            return None
        if fid == "status":
            return pick(c.STATUSES, value)
        if fid == "priority":
            return pick(c.PRIORITIES, value)
        if fid == "issuetype":
            return pick(c.ISSUE_TYPES, value)
        if fid == "resolution":
            return pick(c.RESOLUTIONS, value)
        if fid in ("assignee", "reporter", "creator"):
            return self._author(value.get("accountId") if isinstance(value, dict) else str(value))
        if fid in ("description", "environment") and isinstance(value, str):
            return adf.plain_doc(value)
        if fid == "labels":
            return sorted(set(value))
        if fid in ("parent", c.CF_EPIC_LINK):
            parent = self.live_record(
                value.get("key") or value.get("id") if isinstance(value, dict) else value
            )
            return {"id": parent.issue["id"], "key": parent.issue["key"]}
        if fid == c.CF_SPRINT:
            return self._sprint_list(value)
        return value

    def _sprint_list(self, value: Any) -> list[dict[str, Any]] | None:
        """Sprint ids or objects (a list, or one) as the Sprint field holds them; None for none."""
        wanted = value if isinstance(value, list) else [value]
        sprints = []
        for item in wanted:
            sprint = self.ref.sprint(item.get("id") if isinstance(item, dict) else item)
            if sprint is None:
                raise NotFound(f"sprint {item!r}")
            sprints.append(sprint_json(sprint))
        return sprints or None

    @staticmethod
    def _change_item(fid: str, old: Any, new: Any) -> tuple:
        if fid == c.CF_SPRINT:
            return sprint_item(old, new)

        def ident(v: Any) -> str | None:
            if isinstance(v, dict):
                return v.get("accountId") or v.get("id")
            return None

        def show(v: Any) -> str | None:
            if v is None:
                return None
            if isinstance(v, dict):
                return v.get("displayName") or v.get("name") or v.get("key") or v.get("value")
            if isinstance(v, list):
                return " ".join(str(show(x)) for x in v)
            return str(v)

        return (fid, ident(old), show(old), ident(new), show(new))

    def create_issue(self, project_key: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """A new issue in `project_key`; `fields` accepts Jira JSON or names/ids/account ids/plain text."""
        with self.lock:
            project = self.project_by_key.get(project_key.upper())
            if project is None:
                raise NotFound(project_key)
            now = jira_time(self.now_ms())
            merged: dict[str, Any] = {
                "summary": "Created through the fakejira control API",
                "issuetype": c.ISSUE_TYPES["Task"],
                "status": c.STATUSES["To Do"],
                "priority": c.PRIORITIES["Medium"],
                "assignee": None,
                "reporter": self.users[0],
                "creator": self.users[0],
                "labels": [],
                "resolution": None,
                "resolutiondate": None,
            }
            for fid, value in (fields or {}).items():
                merged[fid] = self._value(fid, value)
            if merged["status"]["name"] in c.DONE_STATUSES and merged["resolution"] is None:
                merged["resolution"], merged["resolutiondate"] = c.RESOLUTIONS["Done"], now
            merged.update(
                project=self._project_ref(project), created=now, updated=now, statuscategorychangedate=now
            )
            self._numbers[project["key"]] += 1
            iid = next(self._ids)
            issue = {
                "id": str(iid),
                "key": f"{project['key']}-{self._numbers[project['key']]}",
                "fields": merged,
            }
            rec = IssueRecord(iid, issue)
            self._records[iid] = rec
            self._keys[issue["key"]] = iid
            if merged.get("parent"):
                self._children.setdefault(int(merged["parent"]["id"]), []).append(iid)
            self._publish(rec, issue)
            return issue

    def _project_ref(self, project: dict[str, Any]) -> dict[str, Any]:
        return {
            k: project[k] for k in ("self", "id", "key", "name", "projectTypeKey", "simplified", "avatarUrls")
        }

    def _append_history(
        self, rec: IssueRecord, author: dict[str, Any], stamp: str, items: list[tuple]
    ) -> None:
        history = self._history(next(self._history_ids), author, parse_jira_time(stamp), items)
        rec.histories = [*(rec.histories or ()), history]

    def update_issue(self, id_or_key: str | int, fields: dict[str, Any], author: str | None = None) -> dict:
        """Change fields: bumps `updated` and appends one changelog history listing what changed."""
        with self.lock:
            rec = self.live_record(id_or_key)
            old = rec.issue["fields"]
            if c.CF_SPRINT in fields and c.CF_SPRINT not in old:  # replayed so far: compare with that
                old = {**old, c.CF_SPRINT: self._sprints_of(rec)}
            new = dict(old)
            for fid, value in fields.items():
                new[fid] = self._value(fid, value)
            stamp = self._bump(old["updated"])
            if "status" in fields:
                done_before = old["status"]["name"] in c.DONE_STATUSES
                done_after = new["status"]["name"] in c.DONE_STATUSES
                if done_after and not done_before and "resolution" not in fields:
                    new["resolution"] = c.RESOLUTIONS["Done"]
                if not done_after and "resolution" not in fields:
                    new["resolution"] = None
                if old["status"]["statusCategory"] is not new["status"]["statusCategory"]:
                    new["statuscategorychangedate"] = stamp
            if new.get("resolution") is None:
                new["resolutiondate"] = None
            elif old.get("resolution") is None:
                new["resolutiondate"] = stamp
            items = [
                self._change_item(fid, old.get(fid), new[fid])
                for fid in new
                if fid not in ("resolutiondate", "statuscategorychangedate", "updated")
                and new[fid] != old.get(fid)
            ]
            if "parent" in fields:
                self._reparent(rec.iid, old.get("parent"), new.get("parent"))
            new["updated"] = stamp
            if items:
                self._append_history(rec, self._author(author), stamp, items)
            issue = {**rec.issue, "fields": new}
            self._publish(rec, issue)
            return issue

    def _reparent(self, iid: int, old: dict | None, new: dict | None) -> None:
        if old:
            siblings = self._children.get(int(old["id"]), [])
            if iid in siblings:
                siblings.remove(iid)
        if new:
            self._children.setdefault(int(new["id"]), []).append(iid)

    def _touch(self, rec: IssueRecord, stamp: str | None = None) -> str:
        """Bump `updated` without a changelog entry (what a comment does)."""
        stamp = stamp or self._bump(rec.issue["fields"]["updated"])
        self._publish(rec, {**rec.issue, "fields": {**rec.issue["fields"], "updated": stamp}})
        return stamp

    def delete_issue(self, id_or_key: str | int, author: str | None = None) -> None:
        """Delete the issue and its sub-tasks, each with an audit record "Issue deleted"."""
        with self.lock:
            rec = self.live_record(id_or_key)
            for child in self.children(rec.iid):
                if child.issue["fields"]["issuetype"]["subtask"]:
                    self.delete_issue(child.iid, author)
            self._publish(rec, None)
            user = self._author(author)
            project = rec.issue["fields"]["project"]
            self._audit.append(
                {
                    "id": 10_000 + len(self._audit),
                    "summary": "Issue deleted",
                    "remoteAddress": "127.0.0.1",
                    "authorKey": user["accountId"],
                    "created": jira_time(self.now_ms()),
                    "category": "issues",
                    "eventSource": "",
                    "description": "",
                    "objectItem": {
                        "id": rec.issue["id"],
                        "name": rec.issue["key"],
                        "typeName": "ISSUE",
                        "parentId": project["id"],
                        "parentName": project["name"],
                    },
                    "associatedItems": [
                        {"id": project["id"], "name": project["name"], "typeName": "PROJECT"}
                    ],
                    "changedValues": [],
                }
            )

    def move_issue(self, id_or_key: str | int, project_key: str, author: str | None = None) -> dict:
        """Move to another project: new key (old one still resolves), same id; sub-tasks move along."""
        with self.lock:
            rec = self.live_record(id_or_key)
            target = self.project_by_key.get(project_key.upper())
            if target is None:
                raise NotFound(project_key)
            old = rec.issue
            if old["fields"]["project"]["key"] == target["key"]:
                return old
            self._numbers[target["key"]] += 1
            key = f"{target['key']}-{self._numbers[target['key']]}"
            stamp = self._bump(old["fields"]["updated"])
            fields = {
                **old["fields"],
                "project": self._project_ref(target),
                "updated": stamp,
                "components": [],
                "fixVersions": [],
            }
            src = old["fields"]["project"]
            self._append_history(
                rec,
                self._author(author),
                stamp,
                [
                    ("project", src["id"], src["name"], target["id"], target["name"]),
                    ("Key", None, old["key"], None, key),
                ],
            )
            issue = {**old, "key": key, "fields": fields}
            self._keys[key] = rec.iid
            self._publish(rec, issue)
            for child in self.children(rec.iid):
                if child.issue["fields"]["issuetype"]["subtask"]:
                    self.move_issue(child.iid, target["key"], author)
            return issue

    def add_comment(self, id_or_key: str | int, body_text: str, author: str | None = None) -> dict[str, Any]:
        """A comment in ADF; bumps the issue's `updated` as Jira does (no changelog entry)."""
        with self.lock:
            rec = self.live_record(id_or_key)
            stamp = self._bump(rec.issue["fields"]["updated"])
            comment = self._comment(
                rec.iid,
                next(self._comment_ids),
                self._author(author),
                parse_jira_time(stamp),
                adf.plain_doc(body_text),
            )
            rec.comments = [*(rec.comments or ()), comment]
            self._touch(rec, stamp)
            return comment

    def add_worklog(
        self,
        id_or_key: str | int,
        seconds: int,
        comment: str = "",
        author: str | None = None,
        started: str | None = None,
    ) -> dict[str, Any]:
        """Log work: bumps the issue's `updated` and records timespent/WorklogId changelog items."""
        with self.lock:
            rec = self.live_record(id_or_key)
            stamp = self._bump(rec.issue["fields"]["updated"])
            ms = parse_jira_time(stamp)
            before = self.time_spent(rec.iid) or 0
            w = Worklog(
                next(self._worklog_ids),
                rec.iid,
                self._author(author),
                parse_jira_time(started) if started else ms,
                ms,
                ms,
                int(seconds),
                adf.plain_doc(comment),
            )
            self._worklogs[w.id] = w
            self._worklogs_by_issue.setdefault(rec.iid, []).append(w.id)
            after = before + w.seconds
            self._append_history(
                rec,
                w.author,
                stamp,
                [
                    (
                        "timespent",
                        str(before) if before else None,
                        str(before) if before else None,
                        str(after),
                        str(after),
                    ),
                    ("WorklogId", None, None, str(w.id), str(w.id)),
                ],
            )
            self._touch(rec, stamp)
            return self.worklog_json(w)

    def delete_worklog(self, worklog_id: int) -> None:
        """Delete a worklog (listed by /worklog/deleted afterwards); bumps the issue's `updated`."""
        with self.lock:
            w = self._worklogs.get(int(worklog_id))
            if w is None or w.deleted_ms is not None:
                raise NotFound(str(worklog_id))
            rec = self.live_record(w.issue_id)
            stamp = self._touch(rec)
            w.deleted_ms = w.updated_ms = parse_jira_time(stamp)

    # ----- comments, sprints, links, versions, components -----------------------------------------------
    def _find_comment(self, rec: IssueRecord, comment_id: str) -> dict[str, Any]:
        found = next((x for x in self.comments_of(rec) if x["id"] == str(comment_id)), None)
        if found is None:
            raise NotFound(f"comment {comment_id} of {rec.issue['key']}")
        return found

    def edit_comment(
        self, id_or_key: str | int, comment_id: str | int, body_text: str, author: str | None = None
    ) -> dict[str, Any]:
        """Replace a comment's body (ADF from plain text): its `updated` and `updateAuthor` change, and the
        issue's `updated` moves, as Jira does for an edit (no changelog entry)."""
        with self.lock:
            rec = self.live_record(id_or_key)
            old = self._find_comment(rec, str(comment_id))
            stamp = self._bump(rec.issue["fields"]["updated"])
            edited = {
                **old,
                "body": adf.plain_doc(body_text),
                "updateAuthor": self._author(author) if author else old["author"],
                "updated": stamp,
            }
            self._replace_comment(rec, str(comment_id), edited)
            self._touch(rec, stamp)
            return edited

    def delete_comment(self, id_or_key: str | int, comment_id: str | int, author: str | None = None) -> None:
        """Delete a comment: gone from every listing (its id stays in :meth:`deleted_comment_ids`); the
        issue's `updated` moves, as Jira does."""
        with self.lock:
            rec = self.live_record(id_or_key)
            self._find_comment(rec, str(comment_id))
            if author is not None:
                self._author(author)  # an unknown account is refused, as for the other writes
            self._replace_comment(rec, str(comment_id), None)
            self._touch(rec)

    @staticmethod
    def _replace_comment(rec: IssueRecord, comment_id: str, comment: dict[str, Any] | None) -> None:
        """Copy on write, like issues: readers holding the old lists keep them whole."""
        added = list(rec.comments or ())
        at = next((i for i, x in enumerate(added) if x["id"] == comment_id), None)
        if at is not None:
            if comment is None:
                del added[at]
            else:
                added[at] = comment
            rec.comments = added
        if at is None or comment is None:  # a generated comment's new version, or any deletion
            rec.comment_changes = {**(rec.comment_changes or {}), comment_id: comment}

    def move_to_sprint(
        self, id_or_key: str | int, sprint_id: int | None, author: str | None = None
    ) -> dict[str, Any]:
        """Move the issue into an active or future sprint (None: back to the backlog), as a board does: the
        open sprint it was in leaves its Sprint field, the closed ones stay; one "Sprint" changelog item.
        ValueError for a closed sprint (Jira refuses those); NotFound for an unknown one."""
        with self.lock:
            rec = self.live_record(id_or_key)
            kept = [s for s in self._sprints_of(rec) or () if s["state"] == "closed"]
            if sprint_id is not None:
                sprint = self.ref.sprint(sprint_id)
                if sprint is None:
                    raise NotFound(f"sprint {sprint_id}")
                if sprint["state"] == "closed":
                    raise ValueError(f"Sprint {sprint['name']} is closed: issues cannot be added to it.")
                kept.append(sprint_json(sprint))
            return self.update_issue(rec.iid, {c.CF_SPRINT: [s["id"] for s in kept]}, author=author)

    def add_issue_link(
        self, outward: str | int, inward: str | int, link_type: str = "Blocks", author: str | None = None
    ) -> dict[str, Any]:
        """Link two issues: `outward` <type.outward> `inward` ("ENG-1 blocks ENG-2"). Both issues list it
        (from their side), both get a "Link" changelog item and a new `updated`, as in Jira."""
        with self.lock:
            source, target = self.live_record(outward), self.live_record(inward)
            kind = next((i for i, t in enumerate(c.LINK_TYPES) if t["name"] == link_type), None)
            if kind is None:
                raise ValueError(f"unknown link type {link_type!r}: {[t['name'] for t in c.LINK_TYPES]}")
            link_id = next(self._link_ids)
            self._links[source.iid] = [*self._links.get(source.iid, ()), (link_id, target.iid, kind, True)]
            self._links[target.iid] = [*self._links.get(target.iid, ()), (link_id, source.iid, kind, False)]
            self._link_history(source, target, kind, author, added=True)
            return next(x for x in self.links_of(source) if x["id"] == str(link_id))

    def delete_issue_link(self, link_id: int | str, author: str | None = None) -> None:
        """Remove a link from both issues, with a "Link" changelog item and a new `updated` on each."""
        with self.lock:
            found = [
                (iid, ref) for iid, refs in self._links.items() for ref in refs if ref[0] == int(link_id)
            ]
            if not found:
                raise NotFound(f"issue link {link_id}")
            for iid, ref in found:
                self._links[iid] = [r for r in self._links[iid] if r is not ref]
            (source_iid, (_, target_iid, kind, _)) = next((f for f in found if f[1][3]), found[0])
            source, target = self._records[source_iid], self._records[target_iid]
            self._link_history(source, target, kind, author, added=False)

    def _link_history(
        self, source: IssueRecord, target: IssueRecord, kind: int, author: str | None, added: bool
    ) -> None:
        user = self._author(author)
        link_type = c.LINK_TYPES[kind]
        for rec, other, verb in ((source, target, "outward"), (target, source, "inward")):
            if rec.deleted:
                continue
            key, text = other.issue["key"], f"This issue {link_type[verb]} {other.issue['key']}"
            item = ("Link", None, None, key, text) if added else ("Link", key, text, None, None)
            stamp = self._bump(rec.issue["fields"]["updated"])
            self._append_history(rec, user, stamp, [item])
            self._touch(rec, stamp)

    def add_version(self, project_key: str, name: str, **details: Any) -> dict[str, Any]:
        """A new version in the project (details: description, release_date and start_date as YYYY-MM-DD,
        released, archived); returns it as the version lists render it."""
        with self.lock:
            project = self.project_by_key.get(project_key.upper())
            if project is None:
                raise NotFound(project_key)
            self.render_epoch += 1
            return self.ref.add_version(project["key"], name, **details)

    def update_version(self, version_id: str | int, **changes: Any) -> dict[str, Any]:
        """Change a version (name, description, released, archived, releaseDate) in place."""
        with self.lock:
            self.render_epoch += 1  # in place: issues with it as a fix version show the change
            try:
                return self.ref.update_version(str(version_id), changes)
            except KeyError:
                raise NotFound(f"version {version_id}") from None

    def add_component(
        self, project_key: str, name: str, description: str = "", lead: str | None = None
    ) -> dict[str, Any]:
        """A new component in the project (`lead`: an account id); returns it as the component lists do."""
        with self.lock:
            project = self.project_by_key.get(project_key.upper())
            if project is None:
                raise NotFound(project_key)
            user = self._author(lead) if lead else None
            self.render_epoch += 1
            return self.ref.add_component(project["key"], name, description, user)
