"""Deterministic generation of a realistic Jira Cloud site from (issues, seed, time zone).

Never reads the clock: the data spans July 2021 to 30 June 2026, so the same arguments always give the same
site, in any process. Issue creation comes in bursts (imports, bulk creates) and some edits are bulk edits
touching 50+ issues in one minute, because same-minute clusters are what break watermark logic in connectors.

What a sync of the whole picture meets, each chosen by rule so tests can find it (n = issue id - 10000):
- sprints on every software board: closed ones every two weeks since July 2021, one active on 30 June 2026,
  future ones after it; issues are in closed sprints they were carried over from and at most one open one;
- versions per project and quarter: released, the older ones also archived, the last two unreleased;
- epics named two ways: by `parent`, or, for a story/task/bug with n % EPIC_LINK_EVERY == 0, only by the
  older Epic Link custom field (company-managed projects before Atlassian's parent migration);
- issue links in both directions (the source shows `outwardIssue`, the target `inwardIssue`, one link id);
- the outliers of :mod:`fakejira.lifecycle` (hundreds of histories, comments past one embedded page),
  edited comments, and worklogs of which about 1 in 20 were deleted.
"""

from __future__ import annotations

import bisect
import itertools
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from fakejira import catalog as c
from fakejira.lifecycle import (
    DAY_MS,
    END_MS,
    BulkEvent,
    GenSpec,
    SiteData,
    jira_time,
    mix64,
    parse_jira_time,
    simulate,
)
from fakejira.store import Account, IssueRecord, Site, Worklog

START_MS = int(datetime(2021, 7, 1, tzinfo=UTC).timestamp() * 1000)
PROJECTS = (  # key, name, type, weight
    ("ENG", "Engineering", "software", 35),
    ("OPS", "Operations", "software", 20),
    ("DATA", "Data Platform", "software", 20),
    ("SUP", "Customer Support", "service_desk", 15),
    ("MKT", "Marketing", "business", 10),
)
FIRST_NAMES = (
    "Mia",
    "José",
    "Zoë",
    "Søren",
    "Aarav",
    "Li",
    "Olga",
    "Kwame",
    "Élodie",
    "Hiro",
    "Fatima",
    "Björn",
    "Chloé",
    "Raúl",
    "Priya",
    "Tomasz",
    "Ngozi",
    "Yuki",
    "Ömer",
    "Ana",
)
LAST_NAMES = (
    "Krystof",
    "Álvarez",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Dubois",
    "Kowalski",
    "Mensah",
    "Ivanova",
    "Singh",
    "García",
    "Lindqvist",
    "Haddad",
    "Tanaka",
    "Rossi",
    "Nguyen",
)
TIME_ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Sao_Paulo",
    "Pacific/Auckland",
)

EPIC_LINK_EVERY = 3
"""Stories, tasks and bugs with an epic and n % EPIC_LINK_EVERY == 0 name it by Epic Link, not `parent`."""
LINK_PERCENT = 15
"""About this share of issues (n > 5) link to one or two older issues."""

DEMO_EMAIL, DEMO_TOKEN = "demo@example.com", "demo-token"
LIMITED_EMAIL, LIMITED_TOKEN = "limited@example.com", "limited-token"
BEARER_EMAIL, BEARER_TOKEN = "bot@example.com", "bearer-token"


def _account_id(rng: random.Random) -> str:
    """Atlassian account ids come in two shapes: 24 hex chars, or "<org number>:<uuid>"."""
    if rng.random() < 0.5:
        return f"{rng.getrandbits(96):024x}"
    u = f"{rng.getrandbits(128):032x}"
    return f"712020:{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"


def _user(
    rng: random.Random, name: str, email: str | None, tz: str, active: bool = True, kind: str = "atlassian"
) -> dict[str, Any]:
    account_id = _account_id(rng)
    user: dict[str, Any] = {
        "self": f"{c.BASE}/rest/api/3/user?accountId={account_id}",
        "accountId": account_id,
    }
    if email is not None:
        user["emailAddress"] = email
    user.update(avatarUrls=c.avatar_urls(), displayName=name, active=active, timeZone=tz, accountType=kind)
    return user


def _users(rng: random.Random, count: int, time_zone: str) -> list[dict[str, Any]]:
    users = [
        _user(rng, "Demo Admin", DEMO_EMAIL, time_zone),
        _user(rng, "Lena Limited", LIMITED_EMAIL, time_zone),
        _user(rng, "Integration Bot", BEARER_EMAIL, time_zone),
        _user(rng, "Automation for Jira", None, "UTC", kind="app"),
    ]
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        visible = i % 4 != 1 and rng.random() < 0.9  # email hidden by profile visibility for ~1 in 3
        local = unicodedata.normalize("NFKD", f"{first}.{last}{i}".lower()).encode("ascii", "ignore").decode()
        email = f"{local.replace(chr(39), '')}@example.com" if visible else None
        active = i % 6 != 4 and rng.random() < 0.95  # deactivated accounts keep their issues and history
        users.append(_user(rng, f"{first} {last}", email, rng.choice(TIME_ZONES), active=active))
    return users


def _projects(users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    projects = []
    for i, (key, name, kind, _) in enumerate(PROJECTS):
        pid = str(10_000 + i)
        projects.append(
            {
                "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
                "self": f"{c.BASE}/rest/api/3/project/{pid}",
                "id": pid,
                "key": key,
                "name": name,
                "avatarUrls": c.avatar_urls(
                    f"{c.BASE}/rest/api/3/universal_avatar/view/type/project/avatar/1040{i}"
                ),
                "projectTypeKey": kind,
                "simplified": False,
                "style": "classic",
                "isPrivate": False,
                "properties": {},
                "description": f"{name} work",
                "lead": users[4 + i % max(1, len(users) - 4)],
                "issueTypes": [t for t in c.ISSUE_TYPES.values()],
            }
        )
    return projects


def _issue_links(seed: int, n: int) -> list[tuple[int, int, int]]:
    """(link id, target n, link type index) of the links generated issue `n` makes to older issues."""
    mixed = mix64(seed, n, 1)
    if n <= 5 or mixed % 100 >= LINK_PERCENT:
        return []
    links: list[tuple[int, int, int]] = []
    for j in range(1 + (mixed >> 8) % 2):
        pick = mix64(seed, n, 2 + j)
        target, kind = pick % n, (pick >> 32) % len(c.LINK_TYPES)
        if all((target, kind) != (t, k) for _, t, k in links):  # Jira refuses the same link twice
            links.append((10_000 + n * 4 + j, target, kind))
    return links


def _components(projects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    cid = 10_000
    for p in projects:
        out[p["key"]] = []
        for name in ("API", "Web UI", "Database", "Billing"):
            out[p["key"]].append(
                {
                    "self": f"{c.BASE}/rest/api/3/component/{cid}",
                    "id": str(cid),
                    "name": name,
                    "description": f"{name} of {p['name']}",
                }
            )
            cid += 1
    return out


def _versions(projects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    vid = 10_000
    for p in projects:
        out[p["key"]] = []
        for year in range(2021, 2027):
            for quarter in range(1, 5):
                when = datetime(year, 3 * quarter, 28, tzinfo=UTC)
                ms = int(when.timestamp() * 1000)
                if ms < START_MS:
                    continue
                out[p["key"]].append(
                    {
                        "self": f"{c.BASE}/rest/api/3/version/{vid}",
                        "id": str(vid),
                        "description": f"{p['key']} {year} Q{quarter} release",
                        "name": f"{year}.{quarter}",
                        "archived": ms < END_MS - 400 * DAY_MS,
                        "released": ms < END_MS,
                        "releaseDate": f"{when:%Y-%m-%d}",
                        "_ms": ms,
                        "_start": f"{datetime(year, 3 * quarter - 2, 1):%Y-%m-%d}",  # lists show it, issues not
                    }
                )
                vid += 1
    return out


def _boards_and_sprints(projects: list[dict[str, Any]]) -> tuple[list[dict], dict[str, list[dict]]]:
    boards, sprints = [], {}
    sid = 1
    for p in projects:
        if p["projectTypeKey"] != "software":
            continue
        bid = len(boards) + 1
        boards.append(
            {
                "id": bid,
                "self": f"{c.BASE}/rest/agile/1.0/board/{bid}",
                "name": f"{p['key']} board",
                "type": "scrum",
                "location": {
                    "projectId": int(p["id"]),
                    "displayName": f"{p['name']} ({p['key']})",
                    "projectName": p["name"],
                    "projectKey": p["key"],
                    "projectTypeKey": "software",
                    "avatarURI": p["avatarUrls"]["48x48"],
                    "name": f"{p['name']} ({p['key']})",
                },
            }
        )
        sprints[p["key"]] = []
        start = datetime(2021, 7, 5, 9, tzinfo=UTC)
        number = 1
        while start.timestamp() * 1000 < END_MS + 28 * DAY_MS:
            end = start + timedelta(days=14)
            end_ms = int(end.timestamp() * 1000)
            state = (
                "closed" if end_ms < END_MS else ("active" if start.timestamp() * 1000 < END_MS else "future")
            )
            sprint: dict[str, Any] = {
                "id": sid,
                "name": f"{p['key']} Sprint {number}",
                "state": state,
                "boardId": bid,
                "goal": "" if number % 3 else "Ship the quarter's goal",
            }
            if state != "future":
                sprint["startDate"] = f"{start:%Y-%m-%dT%H:%M:%S}.000Z"
                sprint["endDate"] = f"{end:%Y-%m-%dT%H:%M:%S}.000Z"
            if state == "closed":
                sprint["completeDate"] = f"{end + timedelta(hours=2):%Y-%m-%dT%H:%M:%S}.000Z"
            sprint["_end_ms"] = end_ms
            sprint["_start_ms"] = int(start.timestamp() * 1000)
            if state == "closed":
                sprint["_complete_ms"] = end_ms + 2 * 3_600_000
            sprints[p["key"]].append(sprint)
            sid += 1
            number += 1
            start = end
    return boards, sprints


def _creation_times(rng: random.Random, count: int) -> list[int]:
    """Creation instants, ascending, skewed to recent years, many in same-minute bursts."""
    times: list[int] = []
    span = END_MS - 7 * DAY_MS - START_MS
    while len(times) < count:
        minute = START_MS + int(span * rng.random() ** 0.7) // 60_000 * 60_000
        roll = rng.random()
        burst = 1 if roll < 0.7 else rng.randint(2, 6) if roll < 0.95 else rng.randint(10, 60)
        times.extend(minute + rng.randrange(60_000) for _ in range(min(burst, count - len(times))))
    times.sort()
    return times


def _bulk_events(rng: random.Random, created: list[int], users: int) -> tuple[list[BulkEvent], dict]:
    """Bulk edits (one author, one minute, 50+ issues when the site has them); returns events + membership."""
    events, members = [], {}
    count = min(200, max(2, len(created) // 400))
    for b in range(count):
        minute = rng.randint(START_MS + 60 * DAY_MS, END_MS - DAY_MS) // 60_000 * 60_000
        eligible = bisect.bisect_left(created, minute)
        field = "labels" if rng.random() < 0.6 else "priority"
        value = f"bulk-{b}" if field == "labels" else rng.choice(("High", "Low"))
        events.append(BulkEvent(minute, 3 if rng.random() < 0.5 else rng.randrange(4, users), field, value))
        for n in rng.sample(range(eligible), min(eligible, rng.randint(50, 150))):
            members.setdefault(n, []).append(b)
    return events, members


def _issue_type(rng: random.Random, epics: list[int], parents: list[int]) -> tuple[str, int | None]:
    roll = rng.random()
    if roll < 0.05 or not epics:
        return ("Epic", None) if roll < 0.05 or rng.random() < 0.3 else ("Task", None)
    if roll < 0.15 and parents:
        return "Sub-task", rng.choice(parents[-200:])
    kind = rng.choices(("Story", "Task", "Bug"), (40, 30, 30))[0]
    return kind, rng.choice(epics[-50:]) if rng.random() < 0.4 else None


def generate_site(issues: int, seed: int, time_zone: str = "UTC") -> Site:
    """A site of `issues` issues; same arguments, same data (ids, keys, timestamps, text)."""
    rng = random.Random(f"fakejira/{seed}")
    users = _users(rng, max(12, min(400, issues // 50)), time_zone)
    projects = _projects(users)
    boards, sprints = _boards_and_sprints(projects)
    created = _creation_times(rng, issues)
    events, members = _bulk_events(rng, created, len(users))
    active = [i for i, u in enumerate(users) if u["active"] and u["accountType"] == "atlassian"]
    data = SiteData(
        seed, users, active, projects, _components(projects), _versions(projects), sprints, events
    )
    refs = [
        {k: p[k] for k in ("self", "id", "key", "name", "projectTypeKey", "simplified", "avatarUrls")}
        for p in projects
    ]
    cumulative = list(itertools.accumulate(w for *_, w in PROJECTS))
    numbers = [0] * len(projects)
    epics: list[list[int]] = [[] for _ in projects]
    parents: list[list[int]] = [[] for _ in projects]
    records: list[IssueRecord] = []
    worklogs: list[Worklog] = []
    links: dict[int, list[tuple[int, int, int, bool]]] = {}
    for n, created_ms in enumerate(created):
        p = bisect.bisect(cumulative, rng.random() * cumulative[-1])
        kind, parent = _issue_type(rng, epics[p], parents[p])
        spec = GenSpec(n, created_ms, kind, p, tuple(members.get(n, ())))
        life = simulate(data, spec)
        if life.status not in c.DONE_STATUSES:  # what its sprints depend on (the replay itself does not)
            spec = GenSpec(n, created_ms, kind, p, spec.bulk, unfinished=True)
        numbers[p] += 1
        iid = 10_000 + n
        fields: dict[str, Any] = {
            "summary": life.summary,
            "project": refs[p],
            "issuetype": c.ISSUE_TYPES[kind],
            "status": c.STATUSES[life.status],
            "priority": c.PRIORITIES[life.priority],
            "assignee": users[life.assignee] if life.assignee is not None else None,
            "reporter": users[life.reporter],
            "creator": users[life.reporter],
            "created": jira_time(created_ms),
            "updated": jira_time(life.updated_ms),
            "resolution": c.RESOLUTIONS[life.resolution] if life.resolution else None,
            "resolutiondate": jira_time(life.resolved_ms) if life.resolved_ms else None,
            "statuscategorychangedate": jira_time(life.status_category_ms),
            "labels": life.labels,
        }
        if parent is not None:
            ref = {"id": str(10_000 + parent), "key": records[parent].issue["key"]}
            if kind != "Sub-task" and n % EPIC_LINK_EVERY == 0:
                fields[c.CF_EPIC_LINK] = ref  # rendered as the epic's key; no `parent` at all
            else:
                fields["parent"] = ref
        key = f"{projects[p]['key']}-{numbers[p]}"
        records.append(IssueRecord(iid, {"id": str(iid), "key": key, "fields": fields}, gen=spec))
        for link_id, target, kind_index in _issue_links(seed, n):
            links.setdefault(iid, []).append((link_id, 10_000 + target, kind_index, True))
            links.setdefault(10_000 + target, []).append((link_id, iid, kind_index, False))
        if kind == "Epic":
            epics[p].append(n)
        elif kind != "Sub-task":
            parents[p].append(n)
        for index, (started, author, seconds) in enumerate(life.worklogs):
            worklogs.append(
                Worklog(
                    10_000 + len(worklogs),
                    iid,
                    users[author],
                    started,
                    started,
                    started,
                    seconds,
                    gen=(n, index),
                )
            )
    for w in rng.sample(worklogs, len(worklogs) // 20):  # some worklogs were deleted before the last edit
        last_edit = records[w.issue_id - 10_000].issue["fields"]["updated"]
        w.deleted_ms = w.updated_ms = max(
            w.created_ms, min(parse_jira_time(last_edit), w.created_ms + rng.randint(1, 30) * DAY_MS)
        )
    accounts = [
        Account(users[0]["accountId"], DEMO_EMAIL, DEMO_TOKEN, "Demo Admin", time_zone),
        Account(
            users[1]["accountId"],
            LIMITED_EMAIL,
            LIMITED_TOKEN,
            "Lena Limited",
            time_zone,
            admin=False,
            projects=frozenset({projects[0]["key"]}),
        ),
        Account(
            users[2]["accountId"], BEARER_EMAIL, BEARER_TOKEN, "Integration Bot", time_zone, auth="bearer"
        ),
    ]
    return Site(data, accounts, records, worklogs, boards, time_zone, links)
