"""JQL dates are read in the searching account's time zone, to the minute, like Jira Cloud does.

This is where connectors lose or duplicate updates, so it is checked over HTTP for an account east
of UTC with a half-hour offset (Asia/Kolkata), one west of UTC with DST (America/Los_Angeles), one
across DST changes (Europe/Berlin), and UTC. The issues' true ``updated`` instants come from the
emulator's ground truth; bounds are built as wall times in the account's zone and must include or
exclude each issue exactly at the minute boundary.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fixtures_conformance import JiraHttp, http_for, live_ground_truth

from fakejira import FakeJira

ZONES = ["Asia/Kolkata", "America/Los_Angeles", "Europe/Berlin", "UTC"]
FORMATS = ["%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M"]
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def jira() -> Iterator[FakeJira]:
    with FakeJira(issues=150, seed=21) as running:
        yield running


@pytest.fixture(scope="module")
def api(jira: FakeJira) -> JiraHttp:
    return http_for(jira)


@pytest.fixture(scope="module")
def account_id(api: JiraHttp) -> str:
    return api.ok_get("/rest/api/3/myself")["accountId"]


@pytest.fixture(scope="module")
def truth(jira: FakeJira) -> list[tuple[str, datetime]]:
    """(key, updated as an aware UTC datetime) of every live issue, oldest first."""
    rows = [(row["key"], parse_jira(row["updated"])) for row in live_ground_truth(jira)]
    return sorted(rows, key=lambda row: row[1])


def parse_jira(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def wall(instant: datetime, zone: str, fmt: str = FORMATS[0]) -> str:
    """The JQL literal for ``instant`` as a wall time in ``zone``, floored to the minute."""
    return instant.astimezone(ZoneInfo(zone)).strftime(fmt)


def use_zone(jira: FakeJira, api: JiraHttp, account_id: str, zone: str) -> None:
    jira.set_time_zone(account_id, zone)
    assert api.ok_get("/rest/api/3/myself")["timeZone"] == zone


def keys(api: JiraHttp, jql: str) -> set[str]:
    return {issue["key"] for issue in api.search_all(jql, "key", 5000)}


def spread(truth: list[tuple[str, datetime]], count: int) -> list[tuple[str, datetime]]:
    step = max(1, len(truth) // count)
    return truth[::step][:count]


@pytest.mark.parametrize("zone", ZONES)
def test_minute_boundaries(jira: FakeJira, api: JiraHttp, account_id: str, truth: list, zone: str) -> None:
    """``updated >= m`` includes an issue updated during minute m; ``>= m+1`` does not; ``<`` mirrors."""
    use_zone(jira, api, account_id, zone)
    for (key, updated), fmt in zip(spread(truth, 6), FORMATS * 3, strict=True):
        minute = updated.replace(second=0, microsecond=0)
        this, following = wall(minute, zone, fmt), wall(minute + MINUTE, zone, fmt)
        assert keys(api, f'key = {key} AND updated >= "{this}"') == {key}, (zone, updated, this)
        assert keys(api, f'key = {key} AND updated >= "{following}"') == set(), (zone, updated, following)
        assert keys(api, f'key = {key} AND updated < "{following}"') == {key}, (zone, updated, following)
        assert keys(api, f'key = {key} AND updated < "{this}"') == set(), (zone, updated, this)
        assert keys(api, f'key = {key} AND updated > "{this}"') == {key}, (zone, updated, this)
        assert keys(api, f'key = {key} AND updated <= "{this}"') == set(), (zone, updated, this)
        assert keys(api, f'key = {key} AND updated <= "{following}"') == {key}, (zone, updated, following)
        assert keys(api, f'key = {key} AND updated > "{following}"') == set(), (zone, updated, following)


@pytest.mark.parametrize("zone", ZONES)
def test_date_only_means_local_midnight(
    jira: FakeJira, api: JiraHttp, account_id: str, truth: list, zone: str
) -> None:
    use_zone(jira, api, account_id, zone)
    for key, updated in spread(truth, 4):
        local_day = updated.astimezone(ZoneInfo(zone)).date()
        assert keys(api, f'key = {key} AND updated >= "{local_day:%Y-%m-%d}"') == {key}
        assert keys(api, f'key = {key} AND updated >= "{local_day + timedelta(days=1):%Y/%m/%d}"') == set()


@pytest.mark.parametrize("zone", ZONES)
def test_windows_partition_the_site(
    jira: FakeJira, api: JiraHttp, account_id: str, truth: list, zone: str
) -> None:
    """Consecutive ``[lower, upper)`` windows, as a sync builds them, see each issue exactly once."""
    use_zone(jira, api, account_id, zone)
    first, last = truth[0][1], truth[-1][1]
    bounds = [first + (last - first) * n / 5 for n in range(1, 5)]
    edges = [wall(bound, zone) for bound in bounds]
    windows = [f'updated < "{edges[0]}"']
    windows += [f'updated >= "{lo}" AND updated < "{hi}"' for lo, hi in itertools.pairwise(edges)]
    windows.append(f'updated >= "{edges[-1]}"')
    seen: list[str] = []
    for window in windows:
        found = keys(api, f"{window} ORDER BY updated ASC")
        lo_hi = window_instants(window, zone)
        expected = {key for key, updated in truth if lo_hi[0] <= updated < lo_hi[1]}
        assert found == expected, (zone, window)
        seen += found
    assert sorted(seen) == sorted(key for key, _ in truth)


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/Los_Angeles"])
def test_busy_minute_falls_on_one_side(
    jira: FakeJira, api: JiraHttp, account_id: str, truth: list, zone: str
) -> None:
    """A bulk edit touches many issues within one minute; a bound at that minute keeps them together."""
    by_minute = Counter(updated.replace(second=0, microsecond=0) for _, updated in truth)
    minute, count = by_minute.most_common(1)[0]
    assert count >= 2, "the generator makes bulk edits"
    busy = {key for key, updated in truth if updated.replace(second=0, microsecond=0) == minute}
    use_zone(jira, api, account_id, zone)
    at, after = wall(minute, zone), wall(minute + MINUTE, zone)
    assert keys(api, f'updated >= "{at}" AND updated < "{after}"') == busy
    assert not busy & keys(api, f'updated < "{at}"')
    assert not busy & keys(api, f'updated >= "{after}"')


def window_instants(window: str, zone: str) -> tuple[datetime, datetime]:
    """The UTC instants a window's wall-time bounds stand for (open ends become min/max)."""
    lower, upper = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    for clause in window.split(" AND "):
        literal = clause.split('"')[1]
        instant = datetime.strptime(literal, FORMATS[0]).replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
        if ">=" in clause:
            lower = instant
        else:
            upper = instant
    return lower, upper


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles"])
def test_offset_follows_dst(jira: FakeJira, api: JiraHttp, account_id: str, truth: list, zone: str) -> None:
    """Summer and winter issues both read right: a fixed offset would be an hour off for one of them."""
    use_zone(jira, api, account_id, zone)
    tz = ZoneInfo(zone)
    summer = [row for row in truth if row[1].astimezone(tz).dst()]
    winter = [row for row in truth if not row[1].astimezone(tz).dst()]
    assert summer and winter, "the site spans several years, so it has both"
    for key, updated in (*spread(summer, 3), *spread(winter, 3)):
        minute = updated.replace(second=0, microsecond=0)
        assert keys(api, f'key = {key} AND updated >= "{wall(minute, zone)}"') == {key}
        assert keys(api, f'key = {key} AND updated >= "{wall(minute + MINUTE, zone)}"') == set()
        hour_late = wall(minute + timedelta(hours=1), zone)
        assert keys(api, f'key = {key} AND updated < "{hour_late}"') == {key}


def test_same_jql_differs_by_zone(jira: FakeJira, api: JiraHttp, account_id: str, truth: list) -> None:
    """One literal, two accounts' zones, two instants: what is "after 10:00" depends on whose 10:00."""
    key, updated = truth[len(truth) // 2]
    literal = wall(updated.replace(second=0, microsecond=0), "UTC")
    use_zone(jira, api, account_id, "UTC")
    assert keys(api, f'key = {key} AND updated >= "{literal}"') == {key}
    use_zone(jira, api, account_id, "Asia/Kolkata")  # the same wall time is 5h30 earlier in UTC
    assert keys(api, f'key = {key} AND updated >= "{literal}"') == {key}
    use_zone(jira, api, account_id, "America/Los_Angeles")  # ... and 7-8 hours later
    assert keys(api, f'key = {key} AND updated >= "{literal}"') == set()


def test_timestamps_are_served_as_stored(api: JiraHttp, account_id: str, jira: FakeJira) -> None:
    """The account's zone changes how JQL is read, not the instants the API reports."""
    use_zone(jira, api, account_id, "Asia/Kolkata")
    served = {
        i["key"]: i["fields"]["updated"] for i in api.search_all("updated >= 2000-01-01", "updated", 100)
    }
    assert served == {row["key"]: row["updated"] for row in live_ground_truth(jira)}


def test_site_time_zone_is_the_default_accounts() -> None:
    with FakeJira(issues=5, seed=22, time_zone="Asia/Kolkata") as site:
        assert http_for(site).ok_get("/rest/api/3/myself")["timeZone"] == "Asia/Kolkata"
