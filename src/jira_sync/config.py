"""One validated, frozen description of a Jira source: what to sync, from where, and how.

A source comes from a row of the SOURCES table (so a new source needs no redeploy) or, for local runs, from
the command line; both paths build the same object, so validation happens once, here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

AuthKind = Literal["basic", "bearer"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")
_SECRET_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


class ConfigError(ValueError):
    """A source is misconfigured; the message names the setting and how to fix it."""


@dataclass(frozen=True)
class SourceConfig:
    """Everything one sync of one source needs, except the credential (which never lives here)."""

    name: str
    site_url: str
    jql: str | None = None
    projects: tuple[str, ...] = ()
    auth: AuthKind = "basic"
    email: str | None = None
    secret_alias: str = "jira_default"
    enabled: bool = True
    # Re-read this much before the watermark: guards against clock skew and late-indexed updates.
    overlap: timedelta = timedelta(minutes=5)
    # Stay this far behind now: Jira search is eventually consistent, fresher updates may not be indexed yet.
    search_lag: timedelta = timedelta(seconds=60)
    # Issues per MERGE (and per checkpoint); a knob measured by bench/, not a guess.
    batch_size: int = 500
    # Ids per search page: Jira's cap is 5,000 when only ids are asked; smaller pages only for tests.
    page_size: int = 5000
    # A run stops cleanly (status PARTIAL) after this long, at a batch boundary, well before the TASK's timeout:
    # a large initial load then spans several scheduled runs.
    time_budget: timedelta = timedelta(minutes=45)
    # Parallel bulk-fetch requests; Jira's rate limit is per account, so keep it modest.
    workers: int = 4
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name or ""):
            raise ConfigError(
                f"Source name {self.name!r} is invalid: use letters, digits, '_' or '-', starting with a letter."
            )
        parts = urlsplit(self.site_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                f"Source {self.name!r}: site URL {self.site_url!r} is invalid. Use https://<site>.atlassian.net "
                "or, for scoped/bearer tokens, https://api.atlassian.com/ex/jira/<cloudId>."
            )
        if not (self.jql and self.jql.strip()) and not self.projects:
            raise ConfigError(f"Source {self.name!r}: set a JQL query or at least one project key.")
        if self.jql and self.jql.strip() and self.projects:
            raise ConfigError(f"Source {self.name!r}: set either a JQL query or project keys, not both.")
        for key in self.projects:
            if not _PROJECT_KEY.match(key):
                raise ConfigError(
                    f"Source {self.name!r}: project key {key!r} is invalid (keys look like ENG or DATA_2)."
                )
        if self.auth not in ("basic", "bearer"):
            raise ConfigError(f"Source {self.name!r}: auth must be 'basic' or 'bearer', not {self.auth!r}.")
        if not _SECRET_ALIAS.match(self.secret_alias or ""):
            raise ConfigError(f"Source {self.name!r}: secret alias {self.secret_alias!r} is invalid.")
        if self.batch_size < 1 or self.workers < 1 or not 1 <= self.page_size <= 5000:
            raise ConfigError(
                f"Source {self.name!r}: batch_size and workers must be positive, page_size 1 to 5000."
            )
        if self.overlap < timedelta(0) or self.search_lag < timedelta(0) or self.time_budget <= timedelta(0):
            raise ConfigError(
                f"Source {self.name!r}: overlap and search lag cannot be negative, the time budget must be positive."
            )

    @property
    def site_url_normalized(self) -> str:
        return self.site_url.rstrip("/")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SourceConfig:
        """Build from a SOURCES row (column names upper case, as Snowflake returns them)."""

        def opt(key: str, default: Any) -> Any:
            value = row.get(key)
            return default if value is None else value

        projects: Sequence[str] | str | None = row.get("PROJECTS")
        if isinstance(projects, str):  # VARIANT/ARRAY columns come back as JSON text
            import json

            projects = json.loads(projects)
        return cls(
            name=row["NAME"],
            site_url=row["SITE_URL"],
            jql=row.get("JQL"),
            projects=tuple(projects or ()),
            auth=opt("AUTH", "basic"),
            email=row.get("EMAIL"),
            secret_alias=opt("SECRET_ALIAS", "jira_default"),
            enabled=bool(opt("ENABLED", True)),
            overlap=timedelta(minutes=float(opt("OVERLAP_MINUTES", 5))),
            search_lag=timedelta(seconds=float(opt("SEARCH_LAG_SECONDS", 60))),
            batch_size=int(opt("BATCH_SIZE", 500)),
            page_size=int(opt("PAGE_SIZE", 5000)),
            workers=int(opt("WORKERS", 4)),
            time_budget=timedelta(seconds=float(opt("TIME_BUDGET_SECONDS", 45 * 60))),
        )
