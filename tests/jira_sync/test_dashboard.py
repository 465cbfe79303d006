"""The dashboard in a real browser: Debian's headless Chromium on `jira-sync dashboard` (Streamlit, as a person
starts it) serving a warehouse the sync filled from the emulator (jira_sync/dashboard/sample.py: runs, one of
them retried by Jira, and a source whose only run FAILED). One sync, one Streamlit and one page for the module.

What a person would check by looking: every chart is drawn, titled, with the data (a dot per run, the failed
one red; a bar per project and status category), each source's health is there, and the failed run's
message is on the page as the run log holds it. Vega draws the charts as SVG (charts.py), so titles and
marks are elements to find. Needs /usr/bin/chromium (.ci/run installs it: apt-get install chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from jira_sync.dashboard import charts
from jira_sync.dashboard.browser import CHROMIUM, chart_named, chart_titles, chromium, open_dashboard
from jira_sync.dashboard.sample import BROKEN_SOURCE, SOURCE, Sample, fill
from jira_sync.dashboard.serve import serving

pytestmark = pytest.mark.timeout(240)
MARKS = "svg g.role-mark"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return fill(tmp_path_factory.mktemp("dashboard") / "warehouse", issues=40, seed=11)


@pytest.fixture(scope="module")
def page(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    assert Path(CHROMIUM).exists(), f"no {CHROMIUM}: apt-get install chromium (as .ci/run does)"
    log = tmp_path_factory.mktemp("streamlit") / "dashboard.log"
    with serving(f"local:{sample.folder}", log=log) as url, chromium(1400, 3000) as browser:
        yield open_dashboard(browser, url, charts=5)


def test_every_chart_is_drawn_with_its_title(page: Page, sample: Sample) -> None:
    expected = [charts.RUNS_TITLE, charts.REQUESTS_TITLE, charts.OPEN_TITLE, charts.WEEKLY_TITLE, charts.CYCLE_TITLE]
    assert chart_titles(page) == expected
    for title in expected:
        drawn = chart_named(page, title).locator(f"{MARKS} path")
        assert drawn.count() > 0, f"{title}: no mark drawn"
    assert page.locator("[data-testid=stException]").count() == 0


def test_a_dot_per_run_and_the_failed_one_red(page: Page, sample: Sample) -> None:
    dots = chart_named(page, charts.RUNS_TITLE).locator(f"{MARKS}.mark-symbol path")
    assert dots.count() == sample.runs
    fills = [dots.nth(i).get_attribute("fill") for i in range(dots.count())]
    assert fills.count(charts.RUN_COLORS["FAILED"]) == 1
    assert fills.count(charts.RUN_COLORS["SUCCEEDED"]) == sample.runs - 1


def test_open_issues_have_a_bar_per_project_and_status_category(page: Page, sample: Sample) -> None:
    chart = chart_named(page, charts.OPEN_TITLE)
    assert chart.locator(f"{MARKS}.mark-rect path").count() == sample.open_groups
    labels = chart.locator("svg .role-axis-label text").all_text_contents()
    assert set(sample.projects) <= set(labels), labels


def test_the_failed_runs_message_is_on_the_page(page: Page, sample: Sample) -> None:
    alert = page.locator("[data-testid=stAlertContentError]")
    assert alert.inner_text() == f"The last run of {BROKEN_SOURCE} failed: {sample.error}"
    assert sample.error in page.locator("[data-testid=stTable]").inner_text()


def test_each_sources_health_is_shown(page: Page, sample: Sample) -> None:
    headings = page.get_by_role("heading", level=3).all_inner_texts()
    assert [h for h in headings if h in (SOURCE, BROKEN_SOURCE)] == [SOURCE, BROKEN_SOURCE]
    metrics = [m.inner_text().splitlines() for m in page.locator("[data-testid=stMetric]").all()]
    values = {(m[0], m[-1]) for m in metrics}
    assert ("Last run", "SUCCEEDED") in values and ("Last run", "FAILED") in values
    assert ("Issues", f"{sample.live_issues:,}") in values
    assert ("Lag behind Jira", "never") in values  # the source that never loaded has no watermark


def test_cycle_time_is_drawn_from_the_status_periods(page: Page, sample: Sample) -> None:
    """The demo's changelog gives resolved issues that went through In Progress: their cycle times are drawn
    (the note shown without the view or without such issues is tested in test_dashboard_queries.py)."""
    assert sample.cycles, "the sample has no issue that went from In Progress to Done"
    boxes = chart_named(page, charts.CYCLE_TITLE).locator(f"{MARKS} path")
    assert boxes.count() > 0
