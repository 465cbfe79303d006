"""The connector's Jira side: HTTP client, search and bulk fetch, JQL building."""

from jira_sync.jira.client import JiraClient, JiraCredentials, RequestStats, validate_base_url
from jira_sync.jira.errors import JiraAuthError, JiraError, JiraRequestError, JiraUnavailableError
from jira_sync.jira.jql import jql_wall_time, source_jql, strip_order_by, window_jql
from jira_sync.jira.search import (
    BulkFetchResult,
    NextPageTokenPaginator,
    bulk_fetch,
    bulk_fetch_issues,
    iter_ids_by_id,
    iter_search_issues,
    iter_search_pages,
    story_points_field_ids,
)

__all__ = [
    "BulkFetchResult",
    "JiraAuthError",
    "JiraClient",
    "JiraCredentials",
    "JiraError",
    "JiraRequestError",
    "JiraUnavailableError",
    "NextPageTokenPaginator",
    "RequestStats",
    "bulk_fetch",
    "bulk_fetch_issues",
    "iter_ids_by_id",
    "iter_search_issues",
    "iter_search_pages",
    "jql_wall_time",
    "source_jql",
    "story_points_field_ids",
    "strip_order_by",
    "validate_base_url",
    "window_jql",
]
