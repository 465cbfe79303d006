"""`python -m jira_sync.dashboard.screenshot [--out docs/dashboard.png]`: the README's picture of the dashboard.

Reproducible from nothing but this repository: fills a new embedded warehouse with the sample data (sample.py:
the emulator synced, a run Jira made retry, a source that failed), serves the dashboard on it as
`jira-sync dashboard` does, and photographs the whole page with headless Chromium (browser.py). Local only.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from jira_sync.dashboard.browser import chromium, open_dashboard
from jira_sync.dashboard.sample import fill
from jira_sync.dashboard.serve import serving

DEFAULT_OUT = Path("docs/dashboard.png")
WIDTH = 1400
PAGE = "[data-testid=stMainBlockContainer]"
"""Streamlit's column of content: the page scrolls inside it, so its height is the page's."""


def take(out: Path = DEFAULT_OUT, *, issues: int = 150, seed: int = 7) -> Path:
    """Write the PNG to `out` (its folder is created) and return its path."""
    logging.getLogger("jira_sync").setLevel(logging.ERROR)  # the sample's retries are meant, not news
    with tempfile.TemporaryDirectory(prefix="dashboard-") as scratch:
        sample = fill(Path(scratch) / "warehouse", issues=issues, seed=seed)
        log = Path(scratch) / "streamlit.log"
        with serving(f"local:{sample.folder}", log=log) as url, chromium(WIDTH, 4000) as browser:
            page = open_dashboard(browser, url)
            page.wait_for_timeout(500)  # the charts' last transitions
            box = page.locator(PAGE).bounding_box()
            height = int(box["y"] + box["height"]) if box else 4000
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": WIDTH, "height": min(height, 4000)})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jira_sync.dashboard.screenshot", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the PNG to write ({DEFAULT_OUT})")
    parser.add_argument("--issues", type=int, default=150, help="issues on the emulated Jira site")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(take(args.out, issues=args.issues, seed=args.seed))


if __name__ == "__main__":
    main()
