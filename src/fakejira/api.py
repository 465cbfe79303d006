"""FakeJira: the emulator as a Python context manager, for tests, the demo and benchmarks.

    with FakeJira(issues=200, seed=1) as jira:
        requests.get(f"{jira.url}/rest/api/3/myself", auth=(jira.email, jira.token))
        jira.update_issue("ENG-1", {"status": "Done"})

The helpers call the Site directly (same semantics as the /_fakejira/ control endpoints). Ground truth for
comparing a sync with the site: `ground_truth()` (every issue ever), `reference_truth()` (every project,
user, field, status, status category, issue type, priority, resolution, version, component, board and
sprint) and `issue_truth(id_or_key)` (one issue's complete changelog, comments and deleted comment ids,
worklogs and deleted worklog ids, links, sprint ids, parent key), all JSON as the REST API renders it, with
this emulator's URL in `self` links.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from fakejira.catalog import BASE
from fakejira.faults import FaultConfig, Faults
from fakejira.generator import DEMO_EMAIL, DEMO_TOKEN, generate_site
from fakejira.render import full_issue
from fakejira.render_cache import DEFAULT_BUDGET_MIB
from fakejira.search import ListingChurn, PageHook
from fakejira.server import App, FakeJiraHTTPServer, make_tls_dir
from fakejira.store import Account, Site


class FakeJira:
    """A running emulator on 127.0.0.1 (started by `start()` or `with`)."""

    def __init__(
        self,
        issues: int = 200,
        seed: int = 1,
        time_zone: str = "UTC",
        latency_ms: float = 0,
        tls: bool = False,
        port: int = 0,
        site: Site | None = None,
        render_cache_mib: float = DEFAULT_BUDGET_MIB,
        prerender: bool = False,
        **faults: Any,
    ) -> None:
        """`faults`: any FaultConfig setting (rate_limit, error_rate, search_lag_ms, script, ...).
        `render_cache_mib`: rendered issues kept (0: every answer rendered afresh); `prerender`: render
        every issue with every field when started, in this process (`python -m fakejira` does it on every
        core), so the first bulk fetch costs what the next ones do."""
        self.site = site or generate_site(issues, seed, time_zone)
        self.app = App(self.site, Faults(FaultConfig(latency_ms=latency_ms, **faults)), render_cache_mib)
        self._prerender = prerender
        self._tls = tls
        self._port = port
        self._server: FakeJiraHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls_dir: Path | None = None
        self.email, self.token = DEMO_EMAIL, DEMO_TOKEN

    # ----- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> FakeJira:
        self._tls_dir = make_tls_dir() if self._tls else None
        self._server = FakeJiraHTTPServer(self.app, self._port, self._tls_dir)
        if self._prerender:
            self.app.renders.warm()
        # serve_forever checks for shutdown() between polls: 50 ms instead of 500 makes stop() that quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakejira", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def __enter__(self) -> FakeJira:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:41234 (no trailing slash)."""
        return self.app.base_url

    @property
    def cert_path(self) -> str | None:
        """With tls=True: the self-signed certificate, usable as a CA bundle (requests `verify=`)."""
        return str(self._server.cert_path) if self._server and self._server.cert_path else None

    @property
    def auth(self) -> tuple[str, str]:
        """(email, token) for requests' `auth=`."""
        return self.email, self.token

    # ----- control helpers (mirror /_fakejira/) ---------------------------------------------------------
    def create_issue(self, project: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.site.create_issue(project, fields)

    def update_issue(self, id_or_key: str | int, fields: dict[str, Any], author: str | None = None) -> dict:
        return self.site.update_issue(id_or_key, fields, author=author)

    def delete_issue(self, id_or_key: str | int, author: str | None = None) -> None:
        self.site.delete_issue(id_or_key, author=author)

    def move_issue(self, id_or_key: str | int, project: str, author: str | None = None) -> dict[str, Any]:
        return self.site.move_issue(id_or_key, project, author=author)

    def add_comment(self, id_or_key: str | int, body: str, author: str | None = None) -> dict[str, Any]:
        return self.site.add_comment(id_or_key, body, author=author)

    def add_worklog(
        self,
        id_or_key: str | int,
        seconds: int,
        comment: str = "",
        author: str | None = None,
        started: str | None = None,
    ) -> dict[str, Any]:
        return self.site.add_worklog(id_or_key, seconds, comment, author=author, started=started)

    def delete_worklog(self, worklog_id: int) -> None:
        self.site.delete_worklog(worklog_id)

    def edit_comment(
        self, id_or_key: str | int, comment_id: str | int, body: str, author: str | None = None
    ) -> dict[str, Any]:
        """New body; the comment's `updated` and the issue's `updated` move (PUT .../comments/{id})."""
        return self.site.edit_comment(id_or_key, comment_id, body, author=author)

    def delete_comment(self, id_or_key: str | int, comment_id: str | int, author: str | None = None) -> None:
        """The comment goes from every listing; the issue's `updated` moves (DELETE .../comments/{id})."""
        self.site.delete_comment(id_or_key, comment_id, author=author)

    def move_to_sprint(
        self, id_or_key: str | int, sprint_id: int | None, author: str | None = None
    ) -> dict[str, Any]:
        """Into an active or future sprint (None: the backlog): Sprint field, "Sprint" changelog item."""
        return self.site.move_to_sprint(id_or_key, sprint_id, author=author)

    def add_issue_link(
        self, outward: str | int, inward: str | int, link_type: str = "Blocks", author: str | None = None
    ) -> dict[str, Any]:
        """`outward` blocks (or clones, duplicates, relates to) `inward`; returns the link as `outward` shows it."""
        return self.site.add_issue_link(outward, inward, link_type, author=author)

    def delete_issue_link(self, link_id: int | str, author: str | None = None) -> None:
        self.site.delete_issue_link(link_id, author=author)

    def add_version(self, project: str, name: str, **details: Any) -> dict[str, Any]:
        """details: description, release_date, start_date (YYYY-MM-DD), released, archived."""
        return self.site.add_version(project, name, **details)

    def update_version(self, version_id: str | int, **changes: Any) -> dict[str, Any]:
        """changes: name, description, released, archived, releaseDate."""
        return self.site.update_version(version_id, **changes)

    def add_component(
        self, project: str, name: str, description: str = "", lead: str | None = None
    ) -> dict[str, Any]:
        return self.site.add_component(project, name, description, lead)

    def get_issue(self, id_or_key: str | int) -> dict[str, Any] | None:
        """The newest version of a live issue with every field, as GET /issue/{idOrKey} renders it."""
        issue = full_issue(self.site, id_or_key)
        return None if issue is None else self._public(issue)

    def _public(self, value: Any) -> Any:
        """`value` as HTTP clients get it: a copy with the server's URL where the site keeps a placeholder."""
        return json.loads(json.dumps(value).replace(BASE, self.url))

    def set_time_zone(self, account_id: str, tz: str) -> None:
        self.site.set_time_zone(account_id, tz)

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Change fault settings (FaultConfig names); returns the resulting settings."""
        self.app.configure_faults(**settings)
        return self.app.faults.snapshot()

    def now(self) -> datetime:
        """The site's clock (aware, UTC): this machine's plus `clock_offset_ms`, as its Date header says."""
        return datetime.fromtimestamp(self.site.now_ms() / 1000, UTC)

    def ground_truth(self) -> list[dict[str, Any]]:
        return self.site.ground_truth()

    def reference_truth(self) -> dict[str, list[dict[str, Any]]]:
        """Every reference entity, by kind (see the module docstring)."""
        return self._public(self.site.reference_truth())

    def issue_truth(self, id_or_key: str | int) -> dict[str, Any]:
        """One issue's children and links (see the module docstring); deleted issues too."""
        return self._public(self.site.issue_truth(id_or_key))

    def request_log(self) -> dict[str, Any]:
        """{"requests": [{method, path, endpoint, status, jql?, account?, fault?, time}], "counts", "total"}
        (the same as GET /_fakejira/requests)."""
        return self.app.log.snapshot()

    def reset_request_log(self) -> None:
        self.app.log.reset()

    def on_search_page(self, callback: PageHook) -> None:
        """`callback(page)` runs after each search page that has a next page is computed, before it is sent,
        so it lands between two requests of the client. page = {"jql", "page", "issue_ids", "next_page_token"}."""
        self.app.search.on_search_page(callback)

    def skip_ids_in_listing(
        self, jql: str | Callable[[str], bool] | None = None, **options: Any
    ) -> ListingChurn:
        """Make the next listing of `jql` (exact text or a predicate; None: any search with a second page)
        skip `count` live issues: after page `after_page`, as many issues served on it are deleted (or moved
        to `move_to`), so the offsets of the next pages pass over unserved ones, as on Jira. Once. The hook
        returned says which ids were `removed` and which `skipped`. Pair with `set_faults(search_page_cap=N)`
        to make a small site's listing span pages. Options (after_page=1, count=1, move_to=None): see
        ListingChurn. (POST /_fakejira/search-hooks/skip-ids)"""
        return self.app.search.skip_ids(jql, **options)

    def clear_search_hooks(self) -> None:
        self.app.search.clear_hooks()

    def add_account(
        self,
        email: str,
        token: str,
        *,
        account_id: str | None = None,
        display_name: str = "",
        time_zone: str | None = None,
        admin: bool = False,
        projects: list[str] | None = None,
        auth: str = "basic",
    ) -> Account:
        account = Account(
            account_id or f"fakejira-{len(self.site.accounts) + 1:04d}",
            email,
            token,
            display_name or email,
            time_zone or self.site.time_zone,
            admin,
            frozenset(projects) if projects is not None else None,
            auth,
        )
        return self.site.add_account(account)

    def account(self, email: str) -> Account:
        """The account registered for `email` (e.g. "limited@example.com")."""
        return next(a for a in self.site.accounts.values() if a.email == email)
