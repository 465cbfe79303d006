"""The exact JQL a source and a window produce (pure; tap-jira style: assert the whole string)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jira_sync.jira.jql import jql_wall_time, source_jql, strip_order_by, window_jql

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def window(lower: str | None, upper: str, source: str = "project = ABC") -> str:
    """The expected window JQL for rendered bounds."""
    lower_term = f'updated >= "{lower}" AND ' if lower else ""
    return f'({source}) AND {lower_term}updated < "{upper}" ORDER BY updated ASC'


# --- source_jql ----------------------------------------------------------------------------------------


def test_projects_become_a_quoted_in_clause() -> None:
    assert source_jql(None, ["ALPHA", "BETA_2"]) == 'project in ("ALPHA", "BETA_2")'


def test_project_keys_are_normalised_and_deduplicated() -> None:
    assert source_jql("", [" alpha ", "ALPHA", "beta"]) == 'project in ("ALPHA", "BETA")'


@pytest.mark.parametrize("key", ["A", "1ABC", "AB-C", 'AB") OR ("X', "AB C", ""])
def test_invalid_project_keys_are_rejected(key: str) -> None:
    with pytest.raises(ValueError, match="project key"):
        source_jql(None, [key])


def test_user_jql_is_returned_without_its_order_by() -> None:
    assert source_jql("  project = ABC ORDER BY created DESC ", ()) == "project = ABC"


def test_order_by_is_stripped_case_insensitively() -> None:
    assert strip_order_by("labels = x order  BY rank") == "labels = x"


def test_order_by_inside_quotes_is_kept() -> None:
    jql = "summary ~ \"order by this\" AND labels = 'x order by y' ORDER BY updated"
    assert strip_order_by(jql) == "summary ~ \"order by this\" AND labels = 'x order by y'"


def test_words_containing_order_are_not_an_order_by() -> None:
    jql = "labels = reorder_by AND project = BORDER"
    assert strip_order_by(jql) == jql


def test_jql_without_a_condition_is_rejected() -> None:
    with pytest.raises(ValueError, match="no condition"):
        source_jql("ORDER BY created", ())


def test_neither_jql_nor_projects_is_rejected() -> None:
    with pytest.raises(ValueError, match="needs a JQL"):
        source_jql("   ", [])


def test_both_jql_and_projects_is_rejected() -> None:
    with pytest.raises(ValueError, match="not both"):
        source_jql("project = A", ["B"])


# --- window_jql ----------------------------------------------------------------------------------------


def test_incremental_window_in_utc() -> None:
    lower, upper = utc(2024, 1, 1, 9, 58, 59, 999000), utc(2024, 1, 2, 10, 0, 30)
    assert window_jql('project in ("ALPHA")', lower, upper, UTC) == (
        '(project in ("ALPHA")) AND updated >= "2024/01/01 09:58" AND updated < "2024/01/02 10:01" '
        "ORDER BY updated ASC"
    )


def test_initial_load_has_no_lower_term() -> None:
    assert window_jql("project = ABC", None, utc(2024, 1, 2, 10, 0), UTC) == window(None, "2024/01/02 10:00")


def test_east_of_utc_crosses_midnight_forward() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    jql = window_jql("project = ABC", utc(2024, 1, 1, 20, 15), utc(2024, 1, 1, 23, 59, 59), tokyo)
    assert jql == window("2024/01/02 05:15", "2024/01/02 09:00")  # the upper bound rounds up


def test_half_hour_offset_east() -> None:
    jql = window_jql("project = ABC", utc(2024, 7, 1, 0, 0), utc(2024, 7, 1, 1, 0), ZoneInfo("Asia/Kolkata"))
    assert jql == window("2024/07/01 05:30", "2024/07/01 06:30")


def test_west_of_utc_crosses_midnight_backward_and_follows_summer_time() -> None:
    los_angeles = ZoneInfo("America/Los_Angeles")
    winter = window_jql("project = ABC", utc(2024, 1, 1, 3, 0), utc(2024, 1, 1, 9, 0), los_angeles)
    summer = window_jql("project = ABC", utc(2024, 7, 1, 3, 0), utc(2024, 7, 1, 9, 0), los_angeles)
    assert winter == window("2023/12/31 19:00", "2024/01/01 01:00")
    assert summer == window("2024/06/30 20:00", "2024/07/01 02:00")


def test_non_utc_aware_bounds_are_converted_by_instant() -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    lower = dt.datetime(2024, 1, 1, 4, 58, tzinfo=new_york)  # 09:58 UTC
    jql = window_jql("project = ABC", lower, utc(2024, 1, 2, 10, 0), UTC)
    assert jql == window("2024/01/01 09:58", "2024/01/02 10:00")


def test_window_strips_an_order_by_left_in_the_source() -> None:
    jql = window_jql("project = ABC order by key", None, utc(2024, 1, 2, 10, 0), UTC)
    assert jql == window(None, "2024/01/02 10:00")


def test_naive_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        window_jql("project = ABC", None, dt.datetime(2024, 1, 2, 10, 0), UTC)
    with pytest.raises(ValueError, match="aware"):
        window_jql("project = ABC", dt.datetime(2024, 1, 1), utc(2024, 1, 2), UTC)


def test_lower_after_upper_is_rejected() -> None:
    with pytest.raises(ValueError, match="after its upper"):
        window_jql("project = ABC", utc(2024, 1, 3), utc(2024, 1, 2), UTC)


def test_empty_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="empty"):
        window_jql("  ORDER BY updated", None, utc(2024, 1, 2), UTC)


# --- daylight saving time ------------------------------------------------------------------------------
# Europe/Berlin, 2024-10-27: 03:00 CEST (+02:00) falls back to 02:00 CET (+01:00); the wall times 02:00-02:59
# happen twice (00:00-00:59 UTC, then 01:00-01:59 UTC). 2024-03-31: 02:00 CET jumps to 03:00 CEST (a gap).


def _readings(rendered: str) -> list[dt.datetime]:
    """Every instant a reader may take the rendered wall time for (either side of an overlap)."""
    wall = dt.datetime.strptime(rendered, "%Y/%m/%d %H:%M")
    return [wall.replace(tzinfo=BERLIN, fold=fold).astimezone(UTC) for fold in (0, 1)]


def test_fall_back_first_occurrence_steps_back_before_the_repeated_hour() -> None:
    # 00:30 UTC is 02:30 CEST; "02:30" read as CET would be 01:30 UTC, an hour late: render 01:59 instead.
    jql = window_jql("project = ABC", utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 0, 45), BERLIN)
    assert jql == window("2024/10/27 01:59", "2024/10/27 02:45")  # 02:45 reads as 00:45 or 01:45 UTC


def test_fall_back_second_occurrence_keeps_its_wall_time() -> None:
    # 01:30 UTC is 02:30 CET; "02:30" reads as 01:30 UTC (CET) or 00:30 UTC (CEST): never later, so it stays.
    jql = window_jql("project = ABC", utc(2024, 10, 27, 1, 30), utc(2024, 10, 27, 2, 0), BERLIN)
    assert jql == window("2024/10/27 02:30", "2024/10/27 03:00")


@pytest.mark.parametrize("at_or_after", [False, True], ids=["lower bound", "upper bound"])
def test_every_minute_around_fall_back_reads_back_on_the_safe_side_of_the_instant(at_or_after: bool) -> None:
    """A lower bound reads back at or before its instant, an upper bound at or after: never narrower."""
    start = utc(2024, 10, 26, 23, 0)
    for minute in range(4 * 60):
        instant = start + dt.timedelta(minutes=minute, seconds=30)
        readings = _readings(jql_wall_time(instant, BERLIN, at_or_after=at_or_after))
        near, far = (min(readings), max(readings)) if at_or_after else (max(readings), min(readings))
        assert near >= instant if at_or_after else near <= instant, instant
        assert abs(far - instant) < dt.timedelta(hours=2), instant  # never absurdly wide


def test_spring_gap_is_never_rendered() -> None:
    # 00:59 UTC is 01:59 CET and 01:00 UTC is already 03:00 CEST: no UTC instant maps into 02:00-02:59.
    assert jql_wall_time(utc(2024, 3, 31, 0, 59, 59), BERLIN) == "2024/03/31 01:59"
    assert jql_wall_time(utc(2024, 3, 31, 1, 0), BERLIN) == "2024/03/31 03:00"
    start = utc(2024, 3, 30, 23, 0)
    for minute in range(4 * 60):
        instant = start + dt.timedelta(minutes=minute)
        rendered = jql_wall_time(instant, BERLIN)
        assert not rendered.startswith("2024/03/31 02:"), rendered
        assert _readings(rendered) == [instant, instant]


def test_an_upper_bound_in_the_repeated_hour_moves_past_it() -> None:
    # 01:01 UTC is 02:01 CET, but Jira may read "02:01" as CEST (00:01 UTC): the window would end an hour early.
    jql = window_jql("project = ABC", utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 1), BERLIN)
    assert jql == window("2024/10/27 01:59", "2024/10/27 03:00")
