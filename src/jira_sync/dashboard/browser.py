"""Debian's Chromium, headless, on the dashboard: local only (the browser test and the README's screenshot).

Driven with Playwright for Python, launching the system's /usr/bin/chromium (never a browser Playwright would
download) with a fresh profile, and the flags that keep it offline and quiet: it talks to the dashboard on
loopback and to nothing else.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHARTS = "[data-testid=stVegaLiteChart]"
CHART_TITLE = "svg .role-title text"
"""Where Vega draws a chart's title when it renders SVG (charts.py asks it to)."""
LAST_SECTION = "Cycle time"
"""The header the app writes last: once it shows, every element of the page has been sent."""


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[BrowserContext]:
    """A headless Chromium window of `width` x `height` CSS pixels, with a profile of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()


def open_dashboard(context: BrowserContext, url: str, charts: int = 4, timeout: float = 60) -> Page:
    """A page on the dashboard once it has rendered: the last section written and at least `charts` charts
    drawn, each with its title (the first visit of a local dashboard opens the warehouse: seconds)."""
    page = context.new_page()
    page.goto(url)
    page.get_by_role("heading", name=LAST_SECTION).wait_for(timeout=timeout * 1000)
    page.wait_for_function(
        """([selector, title, count]) => {
            const charts = [...document.querySelectorAll(selector)];
            return charts.length >= count && charts.every((chart) => chart.querySelector(title));
        }""",
        arg=[CHARTS, CHART_TITLE, charts],
        timeout=timeout * 1000,
    )
    return page


def chart_titles(page: Page) -> list[str]:
    """The title of each chart on the page, top to bottom."""
    return [chart.locator(CHART_TITLE).first.text_content() or "" for chart in page.locator(CHARTS).all()]


def chart_named(page: Page, title: str) -> Locator:
    """The chart whose title is `title`."""
    return page.locator(CHARTS).filter(has=page.locator(CHART_TITLE, has_text=title))
