"""Every query the dashboard sends, and how their answers become DataFrames.

Deployed with the app (`snow streamlit deploy` uploads this file beside streamlit_app.py), so it imports nothing
of jira_sync: the app's stage holds only the dashboard's own files. It reads the connector's tables and views
only, by their unqualified names (in Snowflake the app's session uses the Streamlit's database and schema; the
local session uses the warehouse's), and tests/jira_sync/test_dashboard_queries.py checks each name and
column against the connector's schema, runs each query on the embedded warehouse and parses it as Snowflake
SQL, so a renamed column fails there rather than on someone's dashboard.

Few and cheap: one statement per panel (five in all), each an aggregate or a bounded list, so a refresh costs
five short queries whatever the size of the tables. Weekly figures come back whole (a few rows a week) and
the app windows them, so moving the window's slider sends nothing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from snowflake.snowpark import Session

RUN_HISTORY_DAYS = 14
"""How far back the run charts look: 1,344 runs of a source on a 15-minute schedule."""
RUN_LIMIT = 5000
"""At most this many runs reach the browser, newest first, whatever the schedule."""
CYCLE_TIME_WEEKS = 104
"""Issues whose cycle ended in this many weeks (before now) come back, one row each."""

STATUS_PERIODS_VIEW = "JIRA_ISSUE_STATUS_PERIODS"
"""Each issue's stay in each status, from the changelog; cycle time reads nothing else."""

DOES_NOT_EXIST = 2003
"""Snowflake's error code for an object that does not exist (or that the role may not see); the embedded
warehouse answers a missing table with the same code, and a missing function too."""
MISSING_PERIODS = re.compile(
    rf"\b(?:object|with name)\s+'?(?:[\w$\"]+\.)*\"?{STATUS_PERIODS_VIEW}\"?'?\s+does not exist",
    re.IGNORECASE,
)
"""What each says of the missing view itself: Snowflake "Object 'DB.SCHEMA.JIRA_ISSUE_STATUS_PERIODS' does
not exist or not authorized.", the embedded warehouse "Table with name JIRA_ISSUE_STATUS_PERIODS does not
exist!" (a missing function, or a table whose name merely starts the same, is another error)."""

# One row per source (the connector's own view): last run, lag behind Jira, last error, rows.
STATUS = """
select "SOURCE", "ENABLED", "WATERMARK", "LAG_SECONDS", "LAST_RUN_STATUS", "LAST_RUN_STARTED_AT",
       "LAST_RUN_ENDED_AT", "LAST_ERROR_MESSAGE", "LAST_ERROR_AT", "ISSUES_LIVE", "ISSUES_DELETED"
from JIRA_SYNC_STATUS
order by "SOURCE"
"""

# The recent runs, newest first: issues, requests, retries and the error of each.
RUNS = f"""
select "RUN_ID", "SOURCE", "STATUS", "STARTED_AT", "ENDED_AT",
       datediff(second, "STARTED_AT", "ENDED_AT") "DURATION_SECONDS",
       "ISSUES_FETCHED", "ISSUES_INSERTED", "ISSUES_UPDATED", "ISSUES_DELETED", "REQUESTS", "RETRIES",
       "ERROR_MESSAGE"
from JIRA_SYNC_RUNS
where "STARTED_AT" >= dateadd(day, -{RUN_HISTORY_DAYS}, current_timestamp())
order by "STARTED_AT" desc, "RUN_ID"
limit {RUN_LIMIT}
"""

# Issues not in a Done-category status, by source, project and status category.
OPEN_ISSUES = """
select "SOURCE", "PROJECT_KEY", coalesce("STATUS_CATEGORY", 'No Category') "STATUS_CATEGORY",
       count(*) "ISSUES"
from JIRA_ISSUES_CURRENT
where coalesce("STATUS_CATEGORY", '') <> 'Done'
group by 1, 2, 3
order by 1, 2, 3
"""

# Issues created and resolved per week (weeks start on Monday, in UTC), whole history, by source.
_WEEK_OF = "date_trunc('week', convert_timezone('UTC', {})::timestamp_ntz)"
CREATED_RESOLVED = f"""
select "SOURCE", "WEEK",
       count_if("EVENT" = 'Created') "CREATED", count_if("EVENT" = 'Resolved') "RESOLVED"
from (
    select "SOURCE", {_WEEK_OF.format('"CREATED"')} "WEEK", 'Created' "EVENT"
    from JIRA_ISSUES_CURRENT where "CREATED" is not null
    union all
    select "SOURCE", {_WEEK_OF.format('"RESOLVED"')} "WEEK", 'Resolved' "EVENT"
    from JIRA_ISSUES_CURRENT where "RESOLVED" is not null
) events
group by 1, 2
order by 2, 1
"""

# Cycle time, one row per resolved issue (its current status is in the Done category): from its first entry
# into an 'In Progress'-category status to its first entry into a 'Done'-category status after that. An issue
# that never was in progress, or was reopened and is not done now, has no row.
CYCLE_TIME = f"""
with started as (
    select "SOURCE", "ISSUE_ID", min("ENTERED_AT") "STARTED_AT"
    from {STATUS_PERIODS_VIEW}
    where "STATUS_CATEGORY" = 'In Progress'
    group by 1, 2
), finished as (
    select p."SOURCE", p."ISSUE_ID", min(p."ENTERED_AT") "DONE_AT"
    from {STATUS_PERIODS_VIEW} p
    join started s on s."SOURCE" = p."SOURCE" and s."ISSUE_ID" = p."ISSUE_ID"
    where p."STATUS_CATEGORY" = 'Done' and p."ENTERED_AT" > s."STARTED_AT"
    group by 1, 2
), done_now as (
    select "SOURCE", "ISSUE_ID", "ISSUE_KEY", "PROJECT_KEY"
    from {STATUS_PERIODS_VIEW}
    where "LEFT_AT" is null and "STATUS_CATEGORY" = 'Done'
)
select d."SOURCE", d."ISSUE_KEY", d."PROJECT_KEY", s."STARTED_AT", f."DONE_AT",
       datediff(second, s."STARTED_AT", f."DONE_AT")::float / 86400 "CYCLE_DAYS",
       {_WEEK_OF.format('f."DONE_AT"')} "WEEK"
from done_now d
join started s on s."SOURCE" = d."SOURCE" and s."ISSUE_ID" = d."ISSUE_ID"
join finished f on f."SOURCE" = d."SOURCE" and f."ISSUE_ID" = d."ISSUE_ID"
where f."DONE_AT" >= dateadd(week, -{CYCLE_TIME_WEEKS}, current_timestamp())
order by f."DONE_AT"
"""

QUERIES = {
    "status": STATUS,
    "runs": RUNS,
    "open_issues": OPEN_ISSUES,
    "created_resolved": CREATED_RESOLVED,
    "cycle_time": CYCLE_TIME,
}
"""Every query, by the name the app asks for it with."""


def load(session: Session, name: str) -> pd.DataFrame:
    """The answer to one of `QUERIES` as a DataFrame (timestamps tz-aware, in UTC)."""
    return session.sql(QUERIES[name]).to_pandas()


def load_cycle_times(session: Session) -> pd.DataFrame | None:
    """The cycle-time rows, or None while the warehouse has no status periods view (the connector creates it
    once it syncs changelogs), or the role may not read it: Snowflake does not tell those apart. Any other
    error is raised: a broken query must show, not read as "no data yet"."""
    from snowflake.snowpark.exceptions import SnowparkSQLException

    try:
        return load(session, "cycle_time")
    except SnowparkSQLException as exc:
        if exc.sql_error_code == DOES_NOT_EXIST and MISSING_PERIODS.search(str(exc)):
            return None
        raise
