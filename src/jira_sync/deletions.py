"""Find issues that left a source: deleted in Jira, or moved out of the source's JQL.

Jira's search never reports deletions, so after a complete window we list every id the source matches now
(ids only, 5,000 a page) and compare with the ids stored as live. Token pagination can skip an id when issues
change mid-listing, and a skipped id must not be mistaken for a deletion, so every candidate is confirmed by
asking Jira directly whether `(<source>) AND id in (...)` still matches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from jira_sync.jira import JiraClient, iter_search_issues

CONFIRM_CHUNK = 200  # ids per confirming `id in (...)` query: keeps the JQL well under Jira's length limits


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def listed_ids(client: JiraClient, jql: str) -> set[int]:
    """Every issue id the JQL matches now (ids only: 5,000 a page)."""
    return {int(issue["id"]) for issue in iter_search_issues(client, jql, fields=["id"], max_results=5000)}


def find_departed_ids(client: JiraClient, source_jql: str, stored_live_ids: Iterable[int]) -> list[int]:
    """Ids stored as live that Jira no longer returns for the source, confirmed one query per chunk."""
    candidates = sorted(set(stored_live_ids) - listed_ids(client, source_jql))
    departed: list[int] = []
    for chunk in _chunks(candidates, CONFIRM_CHUNK):
        id_list = ", ".join(str(i) for i in chunk)
        still_there = listed_ids(client, f"({source_jql}) AND id in ({id_list})")
        departed.extend(i for i in chunk if i not in still_there)
    return departed
