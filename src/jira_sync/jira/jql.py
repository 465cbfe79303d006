"""JQL building for sync windows: pure functions of their inputs (no clock, no I/O).

Jira reads a JQL date literal such as ``"2024/01/01 09:58"`` as wall time in the time zone of the account
that runs the search, to the minute. The sync keeps its watermark as an aware UTC instant, so every bound
is converted to the account's zone here, in one place, and the exact strings are asserted by the tests.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

__all__ = ["JQL_DATE_FORMAT", "jql_wall_time", "source_jql", "strip_order_by", "window_jql"]

JQL_DATE_FORMAT = "%Y/%m/%d %H:%M"
"""Jira's ``yyyy/MM/dd HH:mm``: minute precision is all JQL accepts for absolute dates."""

WINDOW_ORDERS = ("updated ASC", "updated DESC", None)
"""How a window may be listed: oldest first (the walk), newest first (the probe), or unordered (a condition
for `iter_ids_by_id`, which adds its own keyset by id)."""

_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]+$")
# A quoted JQL string: "..." or '...' with backslash escapes.
_QUOTED = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""", re.DOTALL)
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_UTC = dt.UTC
_MINUTE = dt.timedelta(minutes=1)
# Far more than any real zone transition (the largest DST shift is 2 h): a guard, never reached in practice.
_MAX_STEP_BACK_MINUTES = 24 * 60


def strip_order_by(jql: str) -> str:
    """Return ``jql`` without its ORDER BY clause (matched case-insensitively, outside quoted strings).

    The sync needs its own ``ORDER BY updated ASC`` and wraps the user's query in parentheses, where an
    ORDER BY would be a syntax error.
    """
    match = _ORDER_BY.search(_masked(jql))
    return (jql[: match.start()] if match else jql).strip()


def source_jql(jql: str | None, projects: Sequence[str] = ()) -> str:
    """The JQL selecting a source's issues: the user's JQL (minus ORDER BY), or ``project in ("A", "B")``.

    Project keys are upper-cased, de-duplicated and validated (``^[A-Z][A-Z0-9_]+$``) so nothing but a key
    can be spliced into the query. Giving both a JQL and projects is ambiguous and rejected, as is giving
    neither: Jira refuses unbounded searches on the enhanced search endpoint anyway.

    The user's JQL is spliced into the window's parentheses, so it must stay inside them: a quote left open
    or a parenthesis closed that was never opened (``project = A) OR (project = B``) is refused here, before
    any request, instead of widening every window to the whole site. An ORDER BY is accepted and dropped:
    the sync orders by ``updated`` itself.
    """
    user_jql = (jql or "").strip()
    keys = list(dict.fromkeys(key.strip().upper() for key in projects))
    if user_jql and keys:
        raise ValueError("give the source either a JQL or a list of project keys, not both")
    if user_jql:
        _require_closed_quotes(user_jql)
        condition = strip_order_by(user_jql)
        _require_balanced_parentheses(condition)
        if not condition:
            raise ValueError(
                f"the source's JQL {user_jql!r} has no condition, only an ORDER BY; "
                'give a condition such as project = "ABC"'
            )
        return condition
    if not keys:
        raise ValueError('the source needs a JQL (e.g. project = "ABC") or at least one project key')
    bad = [key for key in keys if not _PROJECT_KEY.match(key)]
    if bad:
        raise ValueError(
            f"invalid Jira project key(s) {bad}: a key is an upper-case letter followed by upper-case "
            "letters, digits or underscores (e.g. ABC, DATA_2)"
        )
    return "project in (" + ", ".join(f'"{key}"' for key in keys) + ")"


def window_jql(
    source: str,
    lower: dt.datetime | None,
    upper: dt.datetime,
    tz: dt.tzinfo,
    *,
    order_by: str | None = "updated ASC",
) -> str:
    """The JQL of one sync window.

    ``(<source>) AND updated >= "<lower>" AND updated < "<upper>" ORDER BY updated ASC``

    ``order_by`` is one of :data:`WINDOW_ORDERS` (None: no ORDER BY).

    ``lower`` (inclusive; ``None`` on an initial load) and ``upper`` (exclusive) are aware datetimes,
    rendered as wall time in ``tz`` (the Jira account's ``timeZone`` from ``/myself``) by
    :func:`jql_wall_time`, to the minute. The lower bound may only move earlier (that re-reads issues; the
    MERGE is idempotent), never later, or an update could be skipped. The upper bound may only move later:
    the walk's watermark comes from what the listing saw (see ``incremental.py``), so a longer window only
    lists more, while one that Jira reads as ending early (an ambiguous wall time in a repeated DST hour)
    would keep its last updates out of sight until that hour is over.
    """
    condition = strip_order_by(source.strip())
    if not condition:
        raise ValueError("the source JQL is empty; build it with source_jql()")
    _require_balanced_parentheses(condition)  # source_jql checked it; a window never escapes its parentheses
    _require_aware(upper, "upper")
    terms = [f"({condition})"]
    if lower is not None:
        _require_aware(lower, "lower")
        if lower > upper:
            raise ValueError(
                f"the window's lower bound {lower.isoformat()} is after its upper bound {upper.isoformat()}"
            )
        terms.append(f'updated >= "{jql_wall_time(lower, tz)}"')
    terms.append(f'updated < "{jql_wall_time(upper, tz, at_or_after=True)}"')
    if order_by not in WINDOW_ORDERS:
        raise ValueError(f"a window is ordered by one of {WINDOW_ORDERS}, not {order_by!r}")
    return " AND ".join(terms) + (f" ORDER BY {order_by}" if order_by else "")


def jql_wall_time(instant: dt.datetime, tz: dt.tzinfo, *, at_or_after: bool = False) -> str:
    """Render ``instant`` as a JQL date (``yyyy/MM/dd HH:mm``) in ``tz`` that reads back <= ``instant``.

    Flooring to the minute already reads back at or before the instant, except around a fall-back
    transition: in Europe/Berlin on 2024-10-27 the wall times 02:00-02:59 happen twice (first at +02:00,
    then at +01:00), and a date literal carries no offset. Java's time APIs resolve such an overlap to the
    earlier offset, while the older ``java.util.Calendar`` family picks standard time (the second
    occurrence). If Jira read "02:30" as the second occurrence while we meant the first (00:30 UTC), it
    would search from 01:30 UTC and silently skip an hour of updates. So the wall time is stepped back, a
    minute at a time, until *every* reading of it (``fold=0`` and ``fold=1``) is at or before the instant:
    00:30 UTC renders as "01:59" (unambiguous, 23:59 UTC). A time inside a spring-forward gap (which
    ``astimezone`` never produces, but stepping back could) is checked the same way: its two readings
    cover Java's "shift forward by the gap" rule.

    ``at_or_after=True`` renders the other way, for a window's upper bound: the first wall time every
    reading of which is at or after the instant (02:01 CET on that day renders as "03:00"). A window that
    Jira reads as ending a little later only lists more; one that ends early, in the repeated hour, would
    hide its last hour of updates until the hour is over.
    """
    _require_aware(instant, "instant")
    local = instant.astimezone(tz)
    wall = local.replace(second=0, microsecond=0, tzinfo=None, fold=0)
    if at_or_after:
        if (local.second, local.microsecond) != (0, 0):
            wall += _MINUTE
        for _ in range(_MAX_STEP_BACK_MINUTES):
            if min(_read_wall_time(wall, tz, fold) for fold in (0, 1)) >= instant:
                return wall.strftime(JQL_DATE_FORMAT)
            wall += _MINUTE
    for _ in range(_MAX_STEP_BACK_MINUTES):
        if max(_read_wall_time(wall, tz, fold) for fold in (0, 1)) <= instant:
            return wall.strftime(JQL_DATE_FORMAT)
        wall -= _MINUTE
    raise ValueError(f"cannot render {instant.isoformat()} as a JQL date in {tz}")  # pragma: no cover - guard


def _read_wall_time(wall: dt.datetime, tz: dt.tzinfo, fold: int) -> dt.datetime:
    """The UTC instant a reader resolving ambiguity with ``fold`` takes the naive ``wall`` in ``tz`` for."""
    return wall.replace(tzinfo=tz, fold=fold).astimezone(_UTC)


def _masked(jql: str) -> str:
    """``jql`` with every quoted string blanked out (same length), so only JQL syntax is left to inspect."""
    return _QUOTED.sub(lambda m: "x" * len(m.group(0)), jql)


def _require_closed_quotes(jql: str) -> None:
    if any(quote in _masked(jql) for quote in "\"'"):
        raise ValueError(
            f"the source's JQL {jql!r} has a quote that is never closed; close it (or escape it as \\\")"
        )


def _require_balanced_parentheses(condition: str) -> None:
    """Refuse a condition whose parentheses (outside quoted strings) do not pair up: wrapped as
    ``(<condition>) AND updated >= ...``, ``A) OR (B`` would apply the window to B alone."""
    depth = 0
    for char in _masked(condition):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise ValueError(
                f"the source's JQL {condition!r} closes a parenthesis it never opened, which would escape "
                "the sync window's parentheses; balance its parentheses"
            )
    if depth:
        raise ValueError(
            f"the source's JQL {condition!r} leaves {depth} parenthes{'is' if depth == 1 else 'es'} open; "
            "balance its parentheses"
        )


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (e.g. in UTC), got the naive {value.isoformat()}")
