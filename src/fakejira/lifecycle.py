"""The deterministic life of one generated issue: its changelog, comments, worklogs and rich fields.

Everything here is a pure function of the site's seed and the issue's :class:`GenSpec`, so the generator can
run it once to learn an issue's final state (status, assignee, ``updated``...) and throw the bulky parts away;
the store runs it again when a client asks for a changelog, comments or a full issue. That keeps a
100,000-issue site at a few hundred bytes per issue while the histories still replay to the current values.

A few issues are outliers on purpose, chosen by their ordinal ``n`` (id = 10000 + n) so a test can name them
without scanning: ``n % 500 == 7`` ("busy") has 150–300 edits of its own, so well over 100 histories (search
and bulk fetch embed only the latest 40, GET issue 100: the full changelog needs the changelog endpoints);
``n % 500 == 111`` ("chatty") has 101–160 comments more than usual, past the 100 an issue's `comment` field
embeds. Both draw from their own random streams, so every other issue's life is unchanged by them.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fakejira import adf
from fakejira import catalog as c

END_MS = int(datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000
LABELS = (
    "backend",
    "frontend",
    "infra",
    "customer",
    "tech-debt",
    "security",
    "performance",
    "ux",
    "docs",
    "data",
    "mobile",
    "urgent",
    "größenänderung",
    "日本",
)
TEAMS = ("Platform", "Payments", "Growth", "Core", "Mobile", "Data")
PLATFORMS = ("Web", "iOS", "Android", "Windows", "macOS", "Linux")
REGIONS = {
    "EMEA": ("Berlin", "Paris", "Zürich"),
    "AMER": ("New York", "São Paulo", "Toronto"),
    "APAC": ("東京", "Sydney", "Singapore"),
}
WORKFLOW = {
    "To Do": ("In Progress",) * 6 + ("Won't Do",),
    "Backlog": ("To Do", "In Progress"),
    "In Progress": ("In Review", "In Review", "Blocked", "Done", "Done"),
    "In Review": ("Done", "Done", "In Progress"),
    "Blocked": ("In Progress",),
    "Done": ("In Progress",),
    "Won't Do": ("To Do",),
}
OUTLIER_EVERY = 500
BUSY_OFFSET = 7
"""Issues with n % OUTLIER_EVERY == BUSY_OFFSET have 150–300 own edits (hundreds of histories)."""
CHATTY_OFFSET = 111
"""Issues with n % OUTLIER_EVERY == CHATTY_OFFSET have 101–160 extra comments (more than one embedded page)."""
COMMENT_EDIT_EVERY = 7
"""About one generated comment in COMMENT_EDIT_EVERY was edited after it was written (updated > created)."""
KINDS = ("status",) * 10 + ("assignee",) * 4 + ("priority",) * 2 + ("labels",) * 3 + ("summary",) * 1
PRIORITY_NAMES = ("Highest",) * 3 + ("High",) * 10 + ("Medium",) * 60 + ("Low",) * 20 + ("Lowest",) * 7


def pick(rng: random.Random, seq: Any) -> Any:
    """rng.choice without its overhead (the generator calls this millions of times)."""
    return seq[int(rng.random() * len(seq))]


_DAYS: dict[int, str] = {}


def jira_time(ms: int) -> str:
    """Jira's timestamp form, always UTC: 2024-03-05T14:07:33.123+0000 (the date part is cached per day)."""
    day, rest = divmod(ms, DAY_MS)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = f"{datetime.fromtimestamp(day * 86_400, UTC):%Y-%m-%d}"
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}+0000"


def parse_jira_time(value: str) -> int:
    """Epoch milliseconds of a Jira timestamp string."""
    return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


@dataclass(frozen=True)
class GenSpec:
    """What the generator decided about an issue before its life starts (all it needs to replay it)."""

    n: int  # ordinal; id = 10000 + n
    created_ms: int
    issue_type: str
    project: int  # index into SiteData.projects at creation
    bulk: tuple[int, ...] = ()  # indexes into SiteData.bulk_events this issue took part in
    unfinished: bool = False  # not done when its generated life ends (set after a first replay, for sprints)


@dataclass(frozen=True)
class BulkEvent:
    """One bulk edit: many issues changed by one author in one minute."""

    minute_ms: int
    author: int
    field: str  # "labels" or "priority"
    value: str


@dataclass
class SiteData:
    """The seed-derived parts of a site that lifecycles depend on (read-only after generation)."""

    seed: int
    users: list[dict[str, Any]]
    active_users: list[int]
    projects: list[dict[str, Any]]
    components: dict[str, list[dict[str, Any]]]
    versions: dict[str, list[dict[str, Any]]]
    sprints: dict[str, list[dict[str, Any]]]
    bulk_events: list[BulkEvent] = field(default_factory=list)
    sprints_by_id: dict[int, dict[str, Any]] = field(init=False, repr=False)
    sprint_ends: dict[str, list[int]] = field(init=False, repr=False)  # per project, ascending
    first_sprint: dict[tuple[str, str], dict[str, Any]] = field(init=False, repr=False)  # (project, state)

    def __post_init__(self) -> None:
        """Indexes the Sprint field's replay looks sprints up by (it runs for every rendered issue)."""
        self.sprints_by_id = {s["id"]: s for board in self.sprints.values() for s in board}
        self.sprint_ends = {key: [s["_end_ms"] for s in board] for key, board in self.sprints.items()}
        self.first_sprint = {}
        for key, board in self.sprints.items():
            for sprint in board:
                self.first_sprint.setdefault((key, sprint["state"]), sprint)


@dataclass
class Lifecycle:
    """The replayed life of an issue. Histories: (ms, author index, [(field, from, fromStr, to, toStr)])."""

    summary: str
    status: str
    assignee: int | None
    reporter: int
    priority: str
    labels: list[str]
    resolution: str | None
    resolved_ms: int | None
    status_category_ms: int
    updated_ms: int
    histories: list[tuple[int, int, list[tuple[str, str | None, str | None, str | None, str | None]]]]
    comments: list[tuple[int, int]]  # (created ms, author index)
    worklogs: list[tuple[int, int, int]]  # (started ms, author index, seconds)


def _rng(seed: int, n: int, purpose: str) -> random.Random:
    return random.Random(f"{seed}/{n}/{purpose}")


_MASK = (1 << 64) - 1


def mix64(seed: int, n: int, salt: int) -> int:
    """A 64-bit hash of (seed, n, salt) (splitmix64's finaliser): a random-looking choice per issue for a
    microsecond, where seeding a random.Random from a string costs several, and without touching any
    random stream, so the rest of the site stays as it was."""
    x = (seed * 0x9E3779B97F4A7C15 + n * 0xBF58476D1CE4E5B9 + salt * 0x94D049BB133111EB) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def unit(seed: int, n: int, salt: int) -> float:
    """A float in [0, 1) from :func:`mix64`."""
    return (mix64(seed, n, salt) >> 11) / (1 << 53)


def is_busy(n: int) -> bool:
    """Whether generated issue `n` is one with hundreds of histories."""
    return n % OUTLIER_EVERY == BUSY_OFFSET


def is_chatty(n: int) -> bool:
    """Whether generated issue `n` is one with more comments than its `comment` field embeds."""
    return n % OUTLIER_EVERY == CHATTY_OFFSET


def summary_text(rng: random.Random) -> str:
    verb = pick(rng, ("Fix", "Add", "Remove", "Investigate", "Refactor", "Document", "Migrate", "Speed up"))
    tail = adf.sentence(rng, 2 + int(rng.random() * 6)).rstrip(".")
    return f"{verb} {tail[0].lower()}{tail[1:]}"


def _user_item(data: SiteData, fid: str, old: int | None, new: int | None) -> tuple:
    def acc(i: int | None) -> str | None:
        return None if i is None else data.users[i]["accountId"]

    def name(i: int | None) -> str | None:
        return None if i is None else data.users[i]["displayName"]

    return (fid, acc(old), name(old), acc(new), name(new))


def _event_times(rng: random.Random, spec: GenSpec, data: SiteData) -> list[tuple[int, int | None]]:
    """Times of the issue's own edits plus its bulk edits, ascending; second item = bulk index or None."""
    old = spec.created_ms < END_MS - 90 * DAY_MS
    count = rng.randint(41, 60) if rng.random() < 0.03 else min(int(rng.expovariate(0.25)) + 2 * old, 30)
    mean_gap = pick(rng, (30 * 60_000, 6 * 3_600_000, 2 * DAY_MS, 9 * DAY_MS))
    times: list[tuple[int, int | None]] = []
    t = spec.created_ms
    for _ in range(count):
        t += max(1_000, int(rng.expovariate(1 / mean_gap)))
        if t > END_MS:
            break
        times.append((t, None))
    for b in spec.bulk:
        event = data.bulk_events[b]
        times.append((event.minute_ms + rng.randrange(60_000), b))
    if is_busy(spec.n):  # its own stream: the main one (and so every other issue) stays as it was
        busy = _rng(data.seed, spec.n, "busy")
        span = max(END_MS - spec.created_ms - 1_000, 1)
        count = busy.randint(150, 300)
        times += [(spec.created_ms + 1_000 + int(busy.random() * span), None) for _ in range(count)]
    times.sort()
    return times


def simulate(data: SiteData, spec: GenSpec) -> Lifecycle:
    """Replay the issue's life from creation; deterministic in (seed, spec)."""
    rng = _rng(data.seed, spec.n, "life")
    rand = rng.random

    def choose(seq: Any) -> Any:  # pick() without the attribute lookups: this loop runs millions of times
        return seq[int(rand() * len(seq))]

    users = data.active_users
    reporter = choose(users)
    assignee: int | None = choose(users) if rng.random() < 0.7 else None
    status = "Backlog" if rng.random() < 0.25 else "To Do"
    priority = choose(PRIORITY_NAMES)
    labels = sorted({choose(LABELS) for _ in range(choose((0, 0, 1, 1, 2, 3)))})
    summary = summary_text(rng)
    resolution: str | None = None
    resolved_ms: int | None = None
    category_ms = spec.created_ms
    histories: list = []
    for t, bulk in _event_times(rng, spec, data):
        author = choose(users)
        items: list[tuple] = []
        if bulk is not None:
            event = data.bulk_events[bulk]
            author = event.author
            if event.field == "labels" and event.value not in labels:
                new = sorted([*labels, event.value])
                items.append(("labels", None, " ".join(labels), None, " ".join(new)))
                labels = new
            elif event.field == "priority" and event.value != priority:
                old_p, new_p = c.PRIORITIES[priority], c.PRIORITIES[event.value]
                items.append(("priority", old_p["id"], priority, new_p["id"], event.value))
                priority = event.value
        else:
            kind = choose(KINDS)
            if kind == "status" and status in c.DONE_STATUSES and rng.random() < 0.85:
                kind = "assignee"
            if kind == "status":
                new_status = choose(WORKFLOW[status])
                old_s, new_s = c.STATUSES[status], c.STATUSES[new_status]
                items.append(("status", old_s["id"], status, new_s["id"], new_status))
                if old_s["statusCategory"] is not new_s["statusCategory"]:
                    category_ms = t
                if new_status in c.DONE_STATUSES and resolution is None:
                    resolution = "Done" if new_status == "Done" else choose(tuple(c.RESOLUTIONS)[1:])
                    items.append(("resolution", None, None, c.RESOLUTIONS[resolution]["id"], resolution))
                    resolved_ms = t
                elif new_status not in c.DONE_STATUSES and resolution is not None:
                    items.append(("resolution", c.RESOLUTIONS[resolution]["id"], resolution, None, None))
                    resolution, resolved_ms = None, None
                status = new_status
                if assignee is None and status == "In Progress":
                    items.append(_user_item(data, "assignee", None, author))
                    assignee = author
            elif kind == "assignee":
                new_a = choose(users)
                if new_a != assignee:
                    items.append(_user_item(data, "assignee", assignee, new_a))
                    assignee = new_a
            elif kind == "priority":
                new_pr = choose(PRIORITY_NAMES)
                if new_pr != priority:
                    items.append(
                        (
                            "priority",
                            c.PRIORITIES[priority]["id"],
                            priority,
                            c.PRIORITIES[new_pr]["id"],
                            new_pr,
                        )
                    )
                    priority = new_pr
            elif kind == "labels":
                new = sorted(set(labels) ^ {choose(LABELS)})
                items.append(("labels", None, " ".join(labels), None, " ".join(new)))
                labels = new
            else:
                new_summary = summary_text(rng)
                items.append(("summary", None, summary, None, new_summary))
                summary = new_summary
        if items:
            histories.append((t, author, items))
    last = histories[-1][0] if histories else spec.created_ms
    horizon = max(last, spec.created_ms + DAY_MS)
    span = horizon - spec.created_ms
    comments = sorted(
        (spec.created_ms + 1 + int(rng.random() * span), choose(users))
        for _ in range(choose((0, 0, 0, 1, 1, 2, 3, 5)) + (8 if rng.random() < 0.02 else 0))
    )
    if is_chatty(spec.n):  # its own stream, as for busy issues
        chatty = _rng(data.seed, spec.n, "chatty")
        extra = [
            (spec.created_ms + 1 + int(chatty.random() * span), pick(chatty, users))
            for _ in range(chatty.randint(101, 160))
        ]
        comments = sorted(comments + extra)
    comments = [(min(t, END_MS), a) for t, a in comments]
    worklogs = []
    if rng.random() < 0.25:
        worklogs = sorted(
            (
                min(spec.created_ms + 1 + int(rng.random() * span), END_MS),
                choose(users),
                choose((900, 1800, 3600, 5400, 7200, 14400, 28800)),
            )
            for _ in range(rng.randint(1, 4))
        )
    updated = max([spec.created_ms, last, *(t for t, _ in comments), *(t for t, _, _ in worklogs)])
    return Lifecycle(
        summary,
        status,
        assignee,
        reporter,
        priority,
        labels,
        resolution,
        resolved_ms,
        category_ms,
        updated,
        histories,
        comments,
        worklogs,
    )


def _option(value: str, oid: int) -> dict[str, Any]:
    return {"self": f"{c.BASE}/rest/api/3/customFieldOption/{oid}", "value": value, "id": str(oid)}


def comment_body(data: SiteData, n: int, index: int) -> dict[str, Any]:
    rng = _rng(data.seed, n, f"comment{index}")
    return adf.rich_doc(rng, long=rng.random() < 0.01)


def comment_edited_ms(seed: int, n: int, index: int, created_ms: int, last_ms: int) -> int:
    """When generated comment `index` of issue `n` was last edited: its creation for most, for about one in
    COMMENT_EDIT_EVERY 1 to 72 hours later, but never after `last_ms` (the issue's last generated event), so
    the edit stays inside the issue's `updated`, as an edit bumps it. Arithmetic, not a random stream: the
    store asks this for every comment it renders."""
    mixed = mix64(seed, n, 10_000 + index)
    if mixed % COMMENT_EDIT_EVERY:
        return created_ms
    return max(created_ms, min(created_ms + (1 + mixed % 72) * 3_600_000, last_ms))


def worklog_comment(data: SiteData, n: int, index: int) -> dict[str, Any]:
    return adf.plain_doc(adf.sentence(_rng(data.seed, n, f"worklog{index}")))


def sprint_json(sprint: dict[str, Any]) -> dict[str, Any]:
    """A sprint as the Sprint field shows it (id, name, state, boardId, goal, dates): no private keys."""
    return {k: v for k, v in sprint.items() if not k.startswith("_")}


def issue_sprints(data: SiteData, spec: GenSpec, project_key: str) -> list[dict[str, Any]] | None:
    """The generated Sprint field value: consecutive sprints of the project's board from the first one still
    running when the issue was created, closed ones it was carried over from, then at most one open
    (active or future) sprint, as Jira allows; most issues still open at the end are in the active sprint or
    planned for the next. Drawn from :func:`unit`, not the rich fields' stream, so a changelog can replay it
    cheaply without rendering them."""
    sprints = data.sprints.get(project_key)
    if not sprints or unit(data.seed, spec.n, 101) < 0.35:
        return None
    first = min(bisect.bisect_left(data.sprint_ends[project_key], spec.created_ms), len(sprints) - 1)
    chosen = []
    length = (1, 1, 1, 2, 3)[int(unit(data.seed, spec.n, 102) * 5)]
    for sprint in sprints[first : first + length]:
        chosen.append(sprint_json(sprint))
        if sprint["state"] != "closed":
            break
    roll = unit(data.seed, spec.n, 103)
    if spec.unfinished and chosen[-1]["state"] == "closed" and roll < 0.7:
        # work still open at the end: pulled into the running sprint, or planned for the next one
        wanted = "active" if roll < 0.55 else "future"
        chosen.append(sprint_json(data.first_sprint[project_key, wanted]))
    return chosen


def sprint_item(old: list[dict[str, Any]] | None, new: list[dict[str, Any]] | None) -> tuple:
    """The changelog item of a Sprint field change, as Jira writes it: ids and names joined by ", "."""

    def joined(sprints: list[dict[str, Any]] | None, key: str) -> str | None:
        return ", ".join(str(s[key]) for s in sprints) if sprints else None

    return (c.CF_SPRINT, joined(old, "id"), joined(old, "name"), joined(new, "id"), joined(new, "name"))


def sprint_histories(
    data: SiteData, sprints: list[dict[str, Any]] | None, created_ms: int, last_ms: int, author: int
) -> list[tuple[int, int, list[tuple]]]:
    """The "Sprint" histories that put a generated issue in its sprints: the first a little before that
    sprint started (or at creation), each carry-over when the previous sprint completed. Times are held to
    [created_ms, last_ms] (the issue's generated events), so every history stays inside created..updated."""
    out: list[tuple[int, int, list[tuple]]] = []
    shown = sprints or []
    for i, sprint in enumerate(shown):
        if i == 0:
            natural = data.sprints_by_id[sprint["id"]]["_start_ms"] - 2 * DAY_MS
        else:
            previous = data.sprints_by_id[shown[i - 1]["id"]]
            natural = previous.get("_complete_ms", previous["_end_ms"])
        at = min(max(natural, created_ms), last_ms)
        out.append((at, author, [sprint_item(shown[:i], shown[: i + 1])]))
    return out


def rich_fields(data: SiteData, spec: GenSpec, project_key: str, done: bool) -> dict[str, Any]:
    """The fields a search index never needs: description, custom fields, components, versions... (not the
    Sprint field: :func:`issue_sprints` replays that on its own, and the store keeps moves)."""
    rng = _rng(data.seed, spec.n, "rich")
    users = data.users
    fields: dict[str, Any] = {}
    roll = rng.random()
    fields["description"] = None if roll < 0.15 else adf.rich_doc(rng, long=roll > 0.99)
    fields["environment"] = (
        adf.plain_doc(f"{rng.choice(PLATFORMS)} {rng.randint(1, 17)}") if rng.random() < 0.1 else None
    )
    fields["duedate"] = (
        jira_time(spec.created_ms + rng.randint(3, 90) * DAY_MS)[:10] if rng.random() < 0.2 else None
    )
    comps = data.components.get(project_key, [])
    fields["components"] = rng.sample(comps, rng.randint(0, min(2, len(comps))))
    versions = [v for v in data.versions.get(project_key, []) if v["_ms"] >= spec.created_ms]
    # Every draw is made whatever `done` is, so resolving an issue never reshuffles its other fields.
    chosen_versions = versions[:1] if rng.random() < 0.6 and done else []
    fields["fixVersions"] = [
        {k: v for k, v in ver.items() if not k.startswith("_")} for ver in chosen_versions
    ]
    fields["versions"] = []
    points = rng.choice((1, 2, 3, 5, 8, 13)) if spec.issue_type in ("Story", "Bug") else None
    fields[c.CF_STORY_POINT_ESTIMATE] = float(points) if points is not None and rng.random() < 0.6 else None
    fields[c.CF_STORY_POINTS] = float(points) if points is not None and rng.random() < 0.5 else None
    fields[c.CF_RANK] = f"0|i{spec.n:05x}:"
    team = rng.randrange(len(TEAMS))
    fields[c.CF_TEAM] = _option(TEAMS[team], 10100 + team) if rng.random() < 0.7 else None
    plats = sorted(rng.sample(range(len(PLATFORMS)), rng.randint(0, 3)))
    fields[c.CF_PLATFORMS] = [_option(PLATFORMS[p], 10200 + p) for p in plats] or None
    fields[c.CF_REVIEWER] = users[rng.randrange(len(users))] if rng.random() < 0.4 else None
    fields[c.CF_TARGET_DATE] = (
        jira_time(spec.created_ms + rng.randint(7, 120) * DAY_MS)[:10] if rng.random() < 0.3 else None
    )
    fields[c.CF_ACCEPTANCE] = adf.rich_doc(rng) if rng.random() < 0.3 else None
    if rng.random() < 0.5:
        region = rng.randrange(len(REGIONS))
        name = tuple(REGIONS)[region]
        city = rng.randrange(3)
        option = _option(name, 10300 + region)
        option["child"] = _option(REGIONS[name][city], 10310 + region * 3 + city)
        fields[c.CF_REGION] = option
    else:
        fields[c.CF_REGION] = None
    fields[c.CF_IMPACT] = round(rng.uniform(0, 100), 2) if rng.random() < 0.3 else None
    fields[c.CF_RELEASE_URL] = f"https://example.com/releases/{spec.n}" if rng.random() < 0.1 else None
    deployed = jira_time(spec.created_ms + rng.randint(1, 60) * DAY_MS)
    fields[c.CF_DEPLOYED_AT] = deployed if rng.random() < 0.3 and done else None
    contributors = rng.sample(data.active_users, min(len(data.active_users), rng.randint(0, 3)))
    fields[c.CF_CONTRIBUTORS] = [users[i] for i in contributors] or None
    fields[c.CF_ENV_TAGS] = sorted(rng.sample(("prod", "staging", "dev", "eu-1", "us-2"), rng.randint(0, 2)))
    fields[c.CF_BUDGET] = f"BC-{rng.randint(100, 999)}" if rng.random() < 0.2 else None
    return fields
