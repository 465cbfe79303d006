"""The state of one emulated Jira site: issues and their versions, changelogs, comments, worklogs, audit,
accounts.

Issues are kept in Jira REST shape (``{"id", "key", "fields": {...}}``) but only with the fields a search
needs ("light" fields); the bulky generated parts (description, custom fields, changelog, comments) are
replayed on demand from the issue's :class:`~fakejira.lifecycle.GenSpec`. Every write makes a new issue dict
(copy on write) and remembers when it was written, so a search can be served from the view an index that lags
writes by ``search_lag`` seconds would have, while direct reads see the newest version.

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

from fakejira import adf
from fakejira import catalog as c
from fakejira.lifecycle import (
    GenSpec,
    SiteData,
    comment_body,
    jira_time,
    parse_jira_time,
    simulate,
    worklog_comment,
)

MAX_GENERATED_HISTORIES = 100
"""Generated history ids are 10000 + n * 100 + index, so an issue replays fewer than this many."""


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
    ) -> None:
        self.lock = threading.RLock()
        self.data = data
        self.time_zone = time_zone
        self.projects: list[dict[str, Any]] = data.projects
        self.users: list[dict[str, Any]] = data.users
        self.fields: list[dict[str, Any]] = c.FIELDS
        self.boards = boards
        self.sprints = data.sprints
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
                self.users_by_id[account_id]["timeZone"] = tz

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

    def records_of(self, issues: Iterable[dict[str, Any]]) -> list[IssueRecord]:
        with self.lock:
            return [self._records[int(i["id"])] for i in issues]

    def children(self, iid: int) -> list[IssueRecord]:
        with self.lock:
            return [self._records[i] for i in self._children.get(iid, ()) if not self._records[i].deleted]

    def changelog(self, id_or_key: str | int) -> list[dict[str, Any]]:
        """Every history of the issue, oldest first, Jira JSON (untruncated)."""
        rec = self.live_record(id_or_key)
        out = []
        if rec.gen is not None:
            life = simulate(self.data, rec.gen)
            for index, (ms, author, items) in enumerate(life.histories[:MAX_GENERATED_HISTORIES]):
                out.append(
                    self._history(
                        10_000 + rec.gen.n * MAX_GENERATED_HISTORIES + index, self.users[author], ms, items
                    )
                )
        return out + list(rec.histories or ())

    @staticmethod
    def _history(hid: int, author: dict[str, Any], ms: int, items: Iterable[tuple]) -> dict[str, Any]:
        rendered = []
        for fid, old, old_s, new, new_s in items:
            item: dict[str, Any] = {
                "field": fid,
                "fieldtype": "custom" if fid.startswith("customfield_") else "jira",
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
        rec = self.live_record(id_or_key)
        out = []
        if rec.gen is not None:
            life = simulate(self.data, rec.gen)
            for index, (ms, author) in enumerate(life.comments):
                cid = 10_000 + rec.gen.n * 20 + index
                out.append(
                    self._comment(
                        rec.iid, cid, self.users[author], ms, comment_body(self.data, rec.gen.n, index)
                    )
                )
        return out + list(rec.comments or ())

    @staticmethod
    def _comment(iid: int, cid: int, author: dict[str, Any], ms: int, body: dict[str, Any]) -> dict[str, Any]:
        stamp = jira_time(ms)
        return {
            "self": f"{c.BASE}/rest/api/3/issue/{iid}/comment/{cid}",
            "id": str(cid),
            "author": author,
            "body": body,
            "updateAuthor": author,
            "created": stamp,
            "updated": stamp,
            "jsdPublic": True,
        }

    def worklogs(self, id_or_key: str | int) -> list[dict[str, Any]]:
        rec = self.live_record(id_or_key)
        with self.lock:
            logs = [self._worklogs[w] for w in self._worklogs_by_issue.get(rec.iid, ())]
        return [self.worklog_json(w) for w in logs if w.deleted_ms is None]

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
                for r in sorted(self._records.values(), key=lambda r: r.iid)
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
        if fid == "parent":
            parent = self.live_record(
                value.get("key") or value.get("id") if isinstance(value, dict) else value
            )
            return {"id": parent.issue["id"], "key": parent.issue["key"]}
        return value

    @staticmethod
    def _change_item(fid: str, old: Any, new: Any) -> tuple:
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
