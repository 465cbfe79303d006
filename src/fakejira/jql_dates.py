"""Reading JQL date operands the way Jira Cloud does (pure: `now` and the time zone are passed in).

Why a module of its own: the time-zone reading of JQL dates is what connectors get wrong most often, so it
is kept small enough to read in one go and tested on its own terms (east/west of UTC, DST gaps, overlaps).

Jira's rules, as implemented here:
- ``"yyyy/MM/dd HH:mm"``, ``"yyyy-MM-dd HH:mm"``, ``"yyyy/MM/dd"``, ``"yyyy-MM-dd"`` are *wall time in the
  searching account's time zone*, to the minute (a date alone means midnight). A wall time that does not
  exist (DST gap) is shifted forward by the length of the gap; an ambiguous one (DST overlap) takes the
  earlier offset. That is Java's ``ZonedDateTime.of`` and also Python's ``fold=0``.
- a bare integer is epoch milliseconds (absolute, no time zone involved).
- a period such as ``-15m``, ``1d``, ``-2w``, ``4w 2d`` is relative to `now`; units are w, d, h, m and a
  day is 24 h (Jira's duration arithmetic is on the instant, not on the calendar).
- functions ``now()``, ``startOfDay([inc])``, ``endOfDay([inc])``; the day is the account's local day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_UNIT_MS = {"w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000, "m": 60_000}

_WALL = re.compile(r"(\d{4})([/-])(\d{1,2})\2(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_PERIOD = re.compile(r"([-+])?\s*((?:\d+\s*[wdhm]\s*)+)")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
_EPOCH_MS = re.compile(r"-?\d+")

DATE_FUNCTIONS: dict[str, tuple[int, int]] = {"now": (0, 0), "startofday": (0, 1), "endofday": (0, 1)}
"""JQL date functions this module evaluates, by lower-case name, with (min, max) argument counts."""


def invalid_date_message(value: str, field: str) -> str:
    """Jira's exact wording for a date operand it cannot read."""
    return (
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def to_millis(moment: dt.datetime) -> int:
    """Epoch milliseconds of an aware datetime, exactly (no float rounding)."""
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1)


@lru_cache(maxsize=65_536)
def issue_millis(timestamp: str | None) -> int | None:
    """Epoch milliseconds of a Jira timestamp such as ``2024-03-05T14:07:33.123+0000`` (None stays None).

    Cached because every issue's ``updated`` is read once per clause per search.
    """
    if not timestamp:
        return None
    return to_millis(dt.datetime.fromisoformat(timestamp))


def wall_millis(wall: dt.datetime, tz: ZoneInfo) -> int:
    """Epoch milliseconds of a naive wall time read in `tz` with Java's gap/overlap rules (fold=0)."""
    return to_millis(wall.replace(tzinfo=tz, fold=0))


@dataclass(frozen=True)
class DateOperand:
    """A date operand read at parse time; `millis` gives the instant once the account's context is known.

    kind: "wall" (naive `wall` in the account's zone), "epoch" (`amount` = epoch ms), "period" (`amount` =
    ms from now), "now", "startofday", "endofday" (`amount` = increment, counted in `unit`).
    """

    kind: str
    amount: int = 0
    wall: dt.datetime | None = None
    unit: str = "d"

    def millis(self, tz: ZoneInfo, now: dt.datetime) -> int:
        if self.kind == "wall":
            assert self.wall is not None
            return wall_millis(self.wall, tz)
        if self.kind == "epoch":
            return self.amount
        if self.kind in ("period", "now"):
            return to_millis(now) + self.amount
        return self._day_function(tz, now)

    def _day_function(self, tz: ZoneInfo, now: dt.datetime) -> int:
        """startOfDay/endOfDay: the account's local day, moved by whole days/weeks on the calendar (so a
        DST day is still midnight to midnight) or by hours/minutes on the instant."""
        day = now.astimezone(tz).date()
        if self.unit in ("d", "w"):
            day += dt.timedelta(days=self.amount * (7 if self.unit == "w" else 1))
        shift = 0 if self.unit in ("d", "w") else self.amount * _UNIT_MS[self.unit]
        if self.kind == "startofday":
            return wall_millis(dt.datetime.combine(day, dt.time()), tz) + shift
        next_midnight = wall_millis(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), tz)
        return next_midnight - 1 + shift


def read_date_literal(text: str, quoted: bool) -> DateOperand | None:
    """Read a literal date operand, or None when Jira would call it invalid. No clock, no zone needed yet."""
    text = text.strip()
    if not quoted and _EPOCH_MS.fullmatch(text):
        return DateOperand("epoch", amount=int(text))
    if match := _WALL.fullmatch(text):
        year, _, month, day, hour, minute = match.groups()
        try:
            wall = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
        except ValueError:
            return None
        return DateOperand("wall", wall=wall)
    if match := _PERIOD.fullmatch(text):
        amount = sum(int(n) * _UNIT_MS[u] for n, u in _PERIOD_PART.findall(match.group(2)))
        return DateOperand("period", amount=-amount if match.group(1) == "-" else amount)
    return None


def read_date_function(name: str, args: tuple[str, ...]) -> DateOperand | None:
    """Read ``now()``, ``startOfDay(inc)``, ``endOfDay(inc)``; None when the increment is not ``[+-]N[wdhm]``.

    A bare number increment counts days, as in Jira (``startOfDay(-1)`` is the start of yesterday).
    """
    lowered = name.lower()
    if lowered == "now":
        return DateOperand("now")
    if not args:
        return DateOperand(lowered)
    match = re.fullmatch(r"([-+]?\d+)([wdhm]?)", args[0].strip())
    if not match:
        return None
    return DateOperand(lowered, amount=int(match.group(1)), unit=match.group(2) or "d")
