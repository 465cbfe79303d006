"""The dashboard's charts and figures, from the DataFrames of queries.py: pure functions, no Streamlit.

Deployed with the app beside streamlit_app.py. Every chart is Vega-Lite (Altair), titled, and drawn as SVG
(`usermeta.embedOptions`, which Vega-Embed reads; Streamlit asks for no renderer, so the default would be a
canvas): a title, an axis label or a mark is then an element of the page, which a person's screen reader and
the browser test (tests/jira_sync/test_dashboard.py) can read alike.

Times are shown in UTC, the zone the connector computes lags and weeks in, whatever the viewer's browser says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

SVG = {"embedOptions": {"renderer": "svg"}}
RUN_COLORS = {"SUCCEEDED": "#2e7d32", "PARTIAL": "#f9a825", "RUNNING": "#1565c0", "FAILED": "#c62828"}
CATEGORY_COLORS = {"To Do": "#90a4ae", "In Progress": "#1e88e5", "No Category": "#d7ccc8"}
PERCENTILES = (0.5, 0.85, 0.95)
WEEKS = (13, 26, 52, 104)
"""How many weeks the weekly charts may show (the sidebar's choice); 52 at first."""
DEFAULT_WEEKS = 52
HEIGHT = 260

# The titles the page shows: the browser test looks for each.
RUNS_TITLE = "Issues fetched per run"
REQUESTS_TITLE = "Jira requests and retries per run"
OPEN_TITLE = "Open issues by project and status category"
WEEKLY_TITLE = "Issues created and resolved per week"
CYCLE_TITLE = "Cycle time per week of completion (days)"


def _utc(field: str, title: str, label: str = "%m-%d %H:%M") -> alt.X:
    return alt.X(
        field, type="temporal", title=title, scale=alt.Scale(type="utc"), axis=alt.Axis(format=label)
    )


def _colored(field: str, title: str, colors: Mapping[str, str]) -> alt.Color:
    """`field` coloured by `colors` (value -> colour), the legend in that order."""
    return alt.Color(field, title=title, scale=alt.Scale(domain=list(colors), range=list(colors.values())))


def _titled(chart: alt.Chart, title: str) -> alt.Chart:
    return chart.properties(title=title, height=HEIGHT, usermeta=SVG)


def runs_over_time(runs: pd.DataFrame) -> alt.Chart:
    """One dot per run: when it started, how many issues it fetched, its status by colour (a failed run is
    a red dot at zero, which a bar would hide)."""
    chart = (
        alt.Chart(runs)
        .mark_circle(size=70, opacity=0.85)
        .encode(
            x=_utc("STARTED_AT", "Started (UTC)"),
            y=alt.Y("ISSUES_FETCHED:Q", title="Issues fetched"),
            color=_colored("STATUS:N", "Status", RUN_COLORS),
            tooltip=[
                alt.Tooltip("SOURCE:N", title="Source"),
                alt.Tooltip("STATUS:N", title="Status"),
                alt.Tooltip("STARTED_AT:T", title="Started", format="%Y-%m-%d %H:%M:%S"),
                alt.Tooltip("DURATION_SECONDS:Q", title="Seconds"),
                alt.Tooltip("ISSUES_FETCHED:Q", title="Fetched"),
                alt.Tooltip("ISSUES_INSERTED:Q", title="Inserted"),
                alt.Tooltip("ISSUES_UPDATED:Q", title="Updated"),
                alt.Tooltip("ISSUES_DELETED:Q", title="Deleted"),
            ],
        )
    )
    return _titled(chart, RUNS_TITLE)


def requests_and_retries(runs: pd.DataFrame) -> alt.Chart:
    """Requests and retries of each run over time: retries that climb are Jira rate-limiting or failing."""
    long = runs.melt(
        id_vars=["STARTED_AT", "SOURCE"], value_vars=["REQUESTS", "RETRIES"], var_name="KIND", value_name="N"
    )
    long["KIND"] = long["KIND"].map({"REQUESTS": "Requests", "RETRIES": "Retries"})
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=_utc("STARTED_AT", "Started (UTC)"),
            y=alt.Y("N:Q", title="Per run"),
            color=_colored("KIND:N", "", {"Requests": "#5e35b1", "Retries": "#e53935"}),
            detail="SOURCE:N",
            tooltip=["SOURCE:N", "KIND:N", "N:Q", alt.Tooltip("STARTED_AT:T", format="%Y-%m-%d %H:%M:%S")],
        )
    )
    return _titled(chart, REQUESTS_TITLE)


def open_issues(counts: pd.DataFrame) -> alt.Chart:
    """Open issues per project, stacked by status category."""
    present = set(counts["STATUS_CATEGORY"])
    colors = {c: CATEGORY_COLORS[c] for c in CATEGORY_COLORS if c in present}
    colors.update({c: "#8d6e63" for c in sorted(present - set(colors))})  # a category Jira added
    chart = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            y=alt.Y("PROJECT_KEY:N", title="Project", sort="-x"),
            x=alt.X("sum(ISSUES):Q", title="Open issues"),
            color=_colored("STATUS_CATEGORY:N", "Status category", colors),
            tooltip=["PROJECT_KEY:N", "STATUS_CATEGORY:N", alt.Tooltip("sum(ISSUES):Q", title="Issues")],
        )
    )
    return _titled(chart, OPEN_TITLE)


def created_vs_resolved(weekly: pd.DataFrame) -> alt.Chart:
    """Created and resolved per week as two lines: resolved under created, week after week, is a growing
    backlog. Weeks with neither count as zero (the query returns only weeks that had some)."""
    per_week = weekly.groupby("WEEK")[["CREATED", "RESOLVED"]].sum()
    weeks = pd.date_range(per_week.index.min(), per_week.index.max(), freq="7D", name="WEEK")
    per_week = per_week.reindex(weeks, fill_value=0).reset_index()
    long = per_week.melt(id_vars=["WEEK"], var_name="KIND", value_name="ISSUES")
    long["KIND"] = long["KIND"].str.capitalize()
    chart = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=_utc("WEEK", "Week (UTC, starting Monday)", label="%Y-%m-%d"),
            y=alt.Y("ISSUES:Q", title="Issues"),
            color=_colored("KIND:N", "", {"Created": "#fb8c00", "Resolved": "#43a047"}),
            tooltip=[alt.Tooltip("WEEK:T", title="Week of", format="%Y-%m-%d"), "KIND:N", "ISSUES:Q"],
        )
    )
    return _titled(chart, WEEKLY_TITLE)


def cycle_time(cycles: pd.DataFrame) -> alt.Chart:
    """The distribution of cycle times per week in which the issues were done: a box per week (median,
    quartiles, whiskers to the extremes), on a log scale."""
    chart = (
        alt.Chart(cycles)
        .mark_boxplot(extent="min-max", size=14)
        .encode(
            x=_utc("WEEK", "Week done (UTC, starting Monday)", label="%Y-%m-%d"),
            # symlog: a few issues done years after they started must not flatten everyone else's box
            y=alt.Y(
                "CYCLE_DAYS:Q",
                title="Days from first in progress to done (log)",
                scale=alt.Scale(type="symlog"),
                axis=alt.Axis(values=[0, 1, 7, 30, 365, 3650], labelOverlap=False),
            ),
        )
    )
    return _titled(chart, CYCLE_TITLE)


def cycle_time_percentiles(cycles: pd.DataFrame) -> pd.DataFrame:
    """Per project: how many issues, and the 50th, 85th and 95th percentile of their cycle time in days (the
    85th is the usual "most items finish within" figure to plan with)."""
    grouped = cycles.groupby("PROJECT_KEY")["CYCLE_DAYS"]
    table = grouped.size().rename("Issues").to_frame()
    for share in PERCENTILES:
        table[f"p{round(share * 100)} days"] = grouped.quantile(share).round(1)
    return table.reset_index().rename(columns={"PROJECT_KEY": "Project"})


def failures(runs: pd.DataFrame, limit: int = 10) -> pd.io.formats.style.Styler:
    """The latest failed runs as a table to read: when (the index), which source, the whole message; only
    the message wraps."""
    failed = runs[runs["STATUS"] == "FAILED"].head(limit)
    table = pd.DataFrame(
        {"Source": failed["SOURCE"].tolist(), "Error": failed["ERROR_MESSAGE"].fillna("").tolist()},
        index=pd.Index(failed["STARTED_AT"].dt.strftime("%Y-%m-%d %H:%M UTC").tolist(), name="Started"),
    )
    return table.style.set_properties(subset=["Source"], **{"white-space": "nowrap"}).set_table_styles(
        [{"selector": "th", "props": [("white-space", "nowrap")]}]
    )


def within_weeks(frame: pd.DataFrame, column: str, weeks: int, now: pd.Timestamp) -> pd.DataFrame:
    """The rows whose `column` (a week start, naive UTC or aware) falls in the `weeks` weeks before `now`."""
    values = pd.to_datetime(frame[column], utc=True)
    return frame[values >= now - pd.Timedelta(weeks=weeks)]


def plain(text: object) -> str:
    """`text` as Markdown that shows it as it is (Streamlit reads st.error's text as Markdown): an error
    message may hold `*`, `_`, `<` or `$` (LaTeX, to Streamlit), so each mark Markdown reads is escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", str(text))


def count(value: Any) -> str:
    """A count for people ("1,234"); "–" for NULL (a run still RUNNING has no counts yet)."""
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def duration(seconds: Any) -> str:
    """A lag or age for people: "45 s", "12 min", "3.5 h", "2.1 days"; "never" when unknown."""
    if seconds is None or pd.isna(seconds):
        return "never"
    seconds = max(float(seconds), 0.0)
    for unit, size, digits in (("days", 86400, 1), ("h", 3600, 1), ("min", 60, 0)):
        if seconds >= size * (2 if unit != "min" else 1):
            value = round(seconds / size, digits)
            return f"{value:g} {unit}"
    return f"{seconds:.0f} s"
