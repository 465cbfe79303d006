"""`jira-sync`: local runs, checks and a demo, on the same code path as the stored procedure."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from jira_sync.config import ConfigError, SourceConfig
from jira_sync.credentials import static_credentials
from jira_sync.jira import JiraClient, JiraCredentials, JiraError, source_jql
from jira_sync.local_warehouse import DEFAULT_LOCAL_DIR, open_warehouse
from jira_sync.sync import run_sync
from jira_sync.warehouse import Warehouse

WAREHOUSE_HELP = f"local:DIR for the embedded warehouse (default local:{DEFAULT_LOCAL_DIR})"


def _token_from_env(var: str) -> str:
    token = os.environ.get(var)
    if not token:
        raise click.UsageError(
            f"Environment variable {var} is empty or unset: export the Jira API token there."
        )
    return token


def _source_options(function: Any) -> Any:
    options = [
        click.option(
            "--site", required=True, help="https://<site>.atlassian.net or the api.atlassian.com URL"
        ),
        click.option("--email", default=None, help="Account email (basic auth); omit for a bearer token"),
        click.option(
            "--token-env", required=True, metavar="VAR", help="Environment variable holding the token"
        ),
        click.option("--jql", default=None, help="JQL selecting the issues to sync"),
        click.option("--project", "projects", multiple=True, metavar="KEY", help="Project key (repeatable)"),
        click.option("--ca-bundle", default=None, type=click.Path(exists=True), help="CA bundle for TLS"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _source(
    name: str, site: str, email: str | None, jql: str | None, projects: tuple[str, ...]
) -> SourceConfig:
    try:
        return SourceConfig(
            name=name,
            site_url=site,
            jql=jql,
            projects=projects,
            email=email,
            auth="basic" if email else "bearer",
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


@click.group()
def main() -> None:
    """Keep Snowflake tables in step with Jira Cloud."""


@main.command()
@_source_options
@click.option("--warehouse", "warehouse_spec", default=None, help=WAREHOUSE_HELP)
@click.option("--connection", default=None, help="A connection name from connections.toml (real Snowflake)")
@click.option("--source", "name", default="default", show_default=True, help="Source name in SOURCES")
@click.option("--full-refresh", is_flag=True, help="Ignore the watermark and re-read every issue")
def run(
    site: str,
    email: str | None,
    token_env: str,
    jql: str | None,
    projects: tuple[str, ...],
    ca_bundle: str | None,
    warehouse_spec: str | None,
    connection: str | None,
    name: str,
    full_refresh: bool,
) -> None:
    """Sync one source into the embedded warehouse (default) or a real account; print the summary as JSON."""
    source = _source(name, site, email, jql, projects)
    token = _token_from_env(token_env)
    with open_warehouse(warehouse_spec, connection) as session:
        warehouse = Warehouse(session)
        warehouse.ensure_tables()
        warehouse.upsert_source(source)
        summary = run_sync(
            warehouse,
            static_credentials(token, email),
            source=source.name,
            full_refresh=full_refresh,
            client_options={"verify": ca_bundle} if ca_bundle else None,
        )
    click.echo(json.dumps(summary, default=str))
    sys.exit(1 if summary["status"] == "FAILED" else 0)


@main.command()
@_source_options
def check(
    site: str,
    email: str | None,
    token_env: str,
    jql: str | None,
    projects: tuple[str, ...],
    ca_bundle: str | None,
) -> None:
    """Check a source without writing anything: credentials, time zone, JQL, and how many issues it matches."""
    source = _source("check", site, email, jql, projects)
    credentials = JiraCredentials(token=_token_from_env(token_env), email=email)
    client = JiraClient(source.site_url_normalized, credentials, verify=ca_bundle or True)
    try:
        account = client.myself()
        query = source_jql(source.jql, source.projects)
        count = client.post("/rest/api/3/search/approximate-count", {"jql": query}).get("count")
    except JiraError as exc:
        click.echo(f"FAILED: {exc}", err=True)
        sys.exit(1)
    finally:
        client.close()
    click.echo(f"account:   {account.get('displayName')} ({account.get('accountId')})")
    click.echo(f"time zone: {account.get('timeZone')}")
    click.echo(f"jql:       {query}")
    click.echo(f"issues:    about {count}")


@main.command()
@click.argument("query")
@click.option("--warehouse", "warehouse_spec", default=None, help=WAREHOUSE_HELP)
@click.option("--connection", default=None, help="A connection name from connections.toml")
def sql(query: str, warehouse_spec: str | None, connection: str | None) -> None:
    """Run one SQL statement on the warehouse and print the rows as JSON lines."""
    with open_warehouse(warehouse_spec, connection) as session:
        for row in session.sql(query).collect():
            click.echo(json.dumps(row.as_dict(), default=str, ensure_ascii=False))


@main.command()
@click.option("--issues", default=400, show_default=True, help="Issues on the emulated Jira site")
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--dir", "folder", default=".jira-sync/demo", show_default=True, help="Embedded warehouse folder"
)
@click.option("--timezone", "time_zone", default="America/Los_Angeles", show_default=True)
def demo(issues: int, seed: int, folder: str, time_zone: str) -> None:
    """Start the Jira emulator and the embedded warehouse, load, change Jira, load again, show what happened."""
    from jira_sync.demo import run_demo

    run_demo(issues=issues, seed=seed, folder=folder, time_zone=time_zone, echo=click.echo)


if __name__ == "__main__":
    main()
