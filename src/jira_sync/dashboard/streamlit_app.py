"""The jira-sync dashboard: how the sync is doing and what Jira holds, from the connector's tables and views.

Runs as a Streamlit in Snowflake app (`snow streamlit deploy`, snowflake.yml's `jira_sync_dashboard`) and on a
laptop (`jira-sync dashboard`, which serves this same file); both get their Snowpark session from
`active_session`. It imports its neighbours `queries` and `charts` by their plain names: Streamlit puts this
file's folder on `sys.path`, in Snowflake (where the stage holds only these files, not the jira_sync package)
and locally alike.

Five queries per refresh (queries.py), cached for a minute; the sidebar's filters work on what came back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import charts
import pandas as pd
import queries
import streamlit as st

if TYPE_CHECKING:
    from snowflake.snowpark import Session

REFRESH_SECONDS = 60


@st.cache_resource(show_spinner=False)
def active_session() -> Session:
    """The session the app reads with: in Snowflake the app's own (its owner's role, the Streamlit's database
    and schema); locally one on the warehouse `jira-sync dashboard` was given, opened once per process."""
    from snowflake.snowpark.context import get_active_session
    from snowflake.snowpark.exceptions import SnowparkSessionException

    try:
        return get_active_session()
    except SnowparkSessionException:
        from jira_sync.dashboard.serve import local_session  # local runs only: not on the app's stage

        return local_session()


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner="Reading the warehouse…")
def fetch(name: str) -> pd.DataFrame:
    return queries.load(active_session(), name)


@st.cache_data(ttl=REFRESH_SECONDS, show_spinner=False)
def fetch_cycle_times() -> pd.DataFrame | None:
    return queries.load_cycle_times(active_session())


def of_sources(frame: pd.DataFrame, sources: list[str]) -> pd.DataFrame:
    return frame[frame["SOURCE"].isin(sources)]


def when(value: object) -> str:
    return "never" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M} UTC"


def sync_health(status: pd.DataFrame, runs: pd.DataFrame, now: pd.Timestamp) -> None:
    """Per source: its last run and how long ago, the lag behind Jira, its issues, and what the last run did;
    a source whose last run failed says why, in red."""
    st.header("Sync health")
    if status.empty:
        st.info("No source yet: add one with CALL add_jira_source(...) (or jira-sync run), then sync.")
    for row in status.itertuples(index=False):
        latest = runs[runs["SOURCE"] == row.SOURCE].head(1)
        st.subheader(f"{row.SOURCE}{'' if row.ENABLED else ' (disabled)'}")
        last, lag, issues, fetched, calls = st.columns(5)
        age = now - pd.Timestamp(row.LAST_RUN_STARTED_AT) if pd.notna(row.LAST_RUN_STARTED_AT) else None
        last.metric(
            "Last run",
            row.LAST_RUN_STATUS or "none yet",
            help=f"started {when(row.LAST_RUN_STARTED_AT)}, ended {when(row.LAST_RUN_ENDED_AT)}",
        )
        last.caption(f"{charts.duration(age.total_seconds())} ago" if age is not None else "never ran")
        lag.metric("Lag behind Jira", charts.duration(row.LAG_SECONDS), help="now minus the watermark")
        issues.metric(
            "Issues", charts.count(row.ISSUES_LIVE), help=f"{charts.count(row.ISSUES_DELETED)} deleted"
        )
        if latest.empty:
            fetched.metric("Fetched by the last run", "–")
            calls.metric("Requests / retries", "–")
        else:
            run = latest.iloc[0]
            fetched.metric("Fetched by the last run", charts.count(run.ISSUES_FETCHED))
            calls.metric("Requests / retries", f"{charts.count(run.REQUESTS)} / {charts.count(run.RETRIES)}")
        if row.LAST_RUN_STATUS == "FAILED":
            st.error(
                f"The last run of {charts.plain(row.SOURCE)} failed: {charts.plain(row.LAST_ERROR_MESSAGE)}"
            )
        elif isinstance(row.LAST_ERROR_MESSAGE, str):
            recovered = f"Last error ({when(row.LAST_ERROR_AT)}), since recovered: {row.LAST_ERROR_MESSAGE}"
            st.caption(charts.plain(recovered))


def run_history(runs: pd.DataFrame) -> None:
    st.header(f"Runs, last {queries.RUN_HISTORY_DAYS} days")
    if runs.empty:
        st.info(f"No run in the last {queries.RUN_HISTORY_DAYS} days.")
        return
    left, right = st.columns(2)
    left.altair_chart(charts.runs_over_time(runs), width="stretch")
    right.altair_chart(charts.requests_and_retries(runs), width="stretch")
    failed = int((runs["STATUS"] == "FAILED").sum())
    st.subheader(f"Failed runs ({failed})")
    if failed:  # a static table: every message whole, readable without hovering
        st.table(charts.failures(runs))
    else:
        st.caption("None.")
    with st.expander("Every run"):
        st.dataframe(runs.drop(columns=["RUN_ID"]), hide_index=True)


def jira_at_a_glance(open_issues: pd.DataFrame, weekly: pd.DataFrame, weeks: int, now: pd.Timestamp) -> None:
    st.header("Jira at a glance")
    left, right = st.columns(2)
    if open_issues.empty:
        left.info("No open issue.")
    else:
        left.altair_chart(charts.open_issues(open_issues), width="stretch")
    recent = charts.within_weeks(weekly, "WEEK", weeks, now)
    if recent.empty:
        right.info(f"Nothing created or resolved in the last {weeks} weeks.")
    else:
        right.altair_chart(charts.created_vs_resolved(recent), width="stretch")


def cycle_time(cycles: pd.DataFrame | None, sources: list[str], weeks: int, now: pd.Timestamp) -> None:
    st.header("Cycle time")
    if cycles is None:
        st.info(
            f"Cycle time shows here once the connector syncs status changes: this schema has no "
            f"{queries.STATUS_PERIODS_VIEW} view yet (or this role may not read it)."
        )
        return
    recent = charts.within_weeks(of_sources(cycles, sources), "WEEK", weeks, now)
    if recent.empty:
        st.info(f"No issue went from in progress to done in the last {weeks} weeks.")
        return
    left, right = st.columns([2, 1])
    left.altair_chart(charts.cycle_time(recent), width="stretch")
    right.caption("Per project, in days")
    right.dataframe(charts.cycle_time_percentiles(recent), hide_index=True)


def main() -> None:
    st.set_page_config(layout="wide")  # Snowflake ignores page_title and page_icon: none given
    st.title("Jira sync")
    now = pd.Timestamp.now(tz="UTC")
    status, runs = fetch("status"), fetch("runs")
    with st.sidebar:
        if st.button("Refresh now"):
            st.cache_data.clear()
            st.rerun()
        st.caption(f"Read at {now:%H:%M:%S} UTC; figures are kept for {REFRESH_SECONDS} s.")
        names = status["SOURCE"].tolist()
        sources = st.multiselect("Sources", names, default=names)
        weeks = st.select_slider("Weeks shown", charts.WEEKS, value=charts.DEFAULT_WEEKS)
    sync_health(of_sources(status, sources), runs, now)
    run_history(of_sources(runs, sources))
    jira_at_a_glance(
        of_sources(fetch("open_issues"), sources), of_sources(fetch("created_resolved"), sources), weeks, now
    )
    cycle_time(fetch_cycle_times(), sources, weeks, now)


main()
