"""The connector's Jira side: HTTP client, search and bulk fetch, JQL building.

The client's names are imported on first use (PEP 562): the client brings in requests, which commands
that never talk to Jira (`jira-sync --help`, `sql`, `status`) should not wait for.
"""

from typing import TYPE_CHECKING, Any

from jira_sync.jira.errors import JiraAuthError, JiraError, JiraRequestError, JiraUnavailableError
from jira_sync.jira.jql import jql_wall_time, source_jql, strip_order_by, window_jql
from jira_sync.jira.search import (
    BulkFetchResult,
    FetchPipeline,
    NextPageTokenPaginator,
    approximate_count,
    bulk_fetch,
    bulk_fetch_issues,
    bulk_fetch_stream,
    iter_ids_by_id,
    iter_search_issues,
    iter_search_pages,
    story_points_field_ids,
)

if TYPE_CHECKING:
    from jira_sync.jira.client import JiraClient, JiraCredentials, RequestStats, validate_base_url

_CLIENT_NAMES = frozenset({"JiraClient", "JiraCredentials", "RequestStats", "validate_base_url"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        from jira_sync.jira import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BulkFetchResult",
    "FetchPipeline",
    "JiraAuthError",
    "JiraClient",
    "JiraCredentials",
    "JiraError",
    "JiraRequestError",
    "JiraUnavailableError",
    "NextPageTokenPaginator",
    "RequestStats",
    "approximate_count",
    "bulk_fetch",
    "bulk_fetch_issues",
    "bulk_fetch_stream",
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
