"""A page is served from a scan of the site in the query's order (stopping once enough match, starting where a
lower bound on the sort date falls): it must give exactly what evaluating the whole site gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from fakejira import FakeJira

SITE = FakeJira(issues=300, seed=33)
START = datetime(2021, 6, 1, tzinfo=UTC)  # the site's updates run from 2021-11 to 2026-06
ORDERS = ["updated ASC", "updated DESC", "created ASC", "id ASC", "key DESC", "updated ASC, id DESC"]


def _literal(moment: datetime) -> str:
    return moment.strftime('"%Y/%m/%d %H:%M"')


@settings(max_examples=60, deadline=None)
@given(
    lower_days=st.integers(min_value=0, max_value=1900),
    span_days=st.integers(min_value=1, max_value=1400),
    order=st.sampled_from(ORDERS),
    strict=st.booleans(),
    projects=st.sampled_from(['project in ("ENG", "OPS")', 'project = "DATA"', 'status != "Done"']),
    need=st.integers(min_value=1, max_value=400),
)
def test_a_scanned_page_equals_the_whole_evaluation(
    lower_days: int, span_days: int, order: str, strict: bool, projects: str, need: int
) -> None:
    lower = START + timedelta(days=lower_days)
    jql = (
        f"({projects}) AND updated {'>' if strict else '>='} {_literal(lower)} "
        f"AND updated < {_literal(lower + timedelta(days=span_days))} ORDER BY {order}"
    )
    service = SITE.app.search
    account = next(iter(SITE.site.accounts.values()))
    assert service.first_matches(account, jql, need) == service.matching(account, jql)[:need]


def test_a_window_walk_page_scans_from_its_lower_bound() -> None:
    """The walk's own shape: a bounded window, oldest first; the scan gives the same non-empty page."""
    service = SITE.app.search
    account = next(iter(SITE.site.accounts.values()))
    jql = '(project in ("ENG", "OPS")) AND updated >= "2024/03/01 10:00" AND updated < "2027/01/01 00:00"'
    jql += " ORDER BY updated ASC"
    whole = service.matching(account, jql)
    assert len(whole) > 50
    assert service.first_matches(account, jql, 41) == whole[:41]
