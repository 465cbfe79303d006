"""Helpers the conformance test modules share: an authenticated HTTP view of a running emulator.

Not fixtures themselves (fixtures outside conftest.py would need star-imports); each test module
builds its own module-scoped ``FakeJira`` and wraps it with :func:`http_for`, or takes both from
:func:`module_site` (``jira, api = module_site(150, seed=11)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from openapi_check import assert_conforms

from fakejira import FakeJira

TIMEOUT = 30


class JiraHttp:
    """Real HTTP to the emulator with basic auth, like any Jira client, plus "must conform" shortcuts."""

    def __init__(self, base_url: str, email: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (email, token)
        self.session.headers["Accept"] = "application/json"

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), params=params, timeout=TIMEOUT, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body, timeout=TIMEOUT, **kwargs)

    def ok_get(self, path: str, params: Any = None) -> Any:
        """GET that must answer 200 with a body valid for its operation."""
        response = self.get(path, params)
        assert response.status_code == 200, (
            f"GET {path} {params} -> {response.status_code}: {response.text[:500]}"
        )
        return assert_conforms(response)

    def ok_post(self, path: str, body: Any) -> Any:
        """POST that must answer 200 with a body valid for its operation."""
        response = self.post(path, body)
        assert response.status_code == 200, (
            f"POST {path} {body} -> {response.status_code}: {response.text[:500]}"
        )
        return assert_conforms(response)

    def search_pages(
        self, jql: str, fields: str = "id", max_results: int = 100, method: str = "GET", **extra: Any
    ) -> Iterator[dict]:
        """Every page of one enhanced search, validated, following ``nextPageToken`` to the end."""
        token: str | None = None
        for _ in range(10_000):
            if method == "GET":
                params = {"jql": jql, "fields": fields, "maxResults": max_results, **extra}
                if token:
                    params["nextPageToken"] = token
                page = self.ok_get("/rest/api/3/search/jql", params)
            else:
                body = {"jql": jql, "fields": fields.split(","), "maxResults": max_results, **extra}
                if token:
                    body["nextPageToken"] = token
                page = self.ok_post("/rest/api/3/search/jql", body)
            yield page
            token = page.get("nextPageToken")
            if not token:
                return
        raise AssertionError("search never reached its last page")

    def search_all(self, jql: str, fields: str = "id", max_results: int = 100, **extra: Any) -> list[dict]:
        return [
            issue for page in self.search_pages(jql, fields, max_results, **extra) for issue in page["issues"]
        ]

    def fetch_all(self, jql: str, fields: str = "*all") -> list[dict]:
        """Every issue `jql` lists, fetched 100 at a time by POST /issue/bulkfetch, as a sync reads them."""
        ids = [issue["id"] for issue in self.search_all(jql, "id", 5000)]
        body = {"fields": [fields]}
        return [
            issue
            for start in range(0, len(ids), 100)
            for issue in self.ok_post(
                "/rest/api/3/issue/bulkfetch", {**body, "issueIdsOrKeys": ids[start : start + 100]}
            )["issues"]
        ]


def http_for(jira: Any) -> JiraHttp:
    """A :class:`JiraHttp` on a running ``FakeJira``, as its default (admin) account."""
    return JiraHttp(jira.url, jira.email, jira.token)


def live_ground_truth(jira: Any) -> list[dict]:
    """Ground-truth rows of the issues that exist now (not deleted)."""
    return [row for row in jira.ground_truth() if not row.get("deleted")]


def module_site(issues: int, seed: int) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Module-scoped `jira` (a running FakeJira) and `api` (:class:`JiraHttp` on it) fixtures, for a module
    to bind to those names."""

    @pytest.fixture(scope="module")
    def jira() -> Iterator[FakeJira]:
        with FakeJira(issues=issues, seed=seed) as running:
            yield running

    @pytest.fixture(scope="module")
    def api(jira: FakeJira) -> JiraHttp:
        return http_for(jira)

    return jira, api
