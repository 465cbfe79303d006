"""`jira-sync check --connection NAME`: is the Snowflake side of a deployment in place, and may this role use it?

A deployment fails in ways Snowflake reports late and vaguely: a task suspended after three failures, a
network rule that allows another host than the source's site, a secret replaced and so unbound from the
procedure, a grant missing (the procedure then fails with "does not exist or not authorized"). This check reads
the account once and says, one line per finding, what is right and what is not, with the statement that
fixes it. It only reads (SHOW, DESCRIBE, INFORMATION_SCHEMA); nothing is created or changed.

What is checked, in the connection's current database and schema (snowflake.yml's JIRA_SYNC.JIRA when the
connection names none), for its current role:
- the procedure SYNC_JIRA (INFORMATION_SCHEMA.PROCEDURES): it exists, is bound to an external access
  integration and to a secret under the alias `jira_default` (a secret or integration replaced with CREATE OR
  REPLACE unbinds it);
- that integration (SHOW INTEGRATIONS): visible to the role and enabled;
- that secret (DESCRIBE SECRET): PASSWORD with the source's email for basic auth, GENERIC_STRING for a bearer
  token;
- the network rule JIRA_SYNC_EGRESS (DESCRIBE NETWORK RULE, its VALUE_LIST): it allows the site's host and port;
- the task SYNC_JIRA_TASK (SHOW TASKS): it exists and is started, not suspended;
- the grants (SHOW GRANTS TO ROLE, and to the roles it inherits): USAGE on the integration, READ on the secret,
  USAGE on the procedure, OPERATE on the task (OWNERSHIP serves for each), and, when the role owns the task,
  EXECUTE TASK and (serverless) EXECUTE MANAGED TASK on the account.

The output columns used are those Snowflake documents for each command; the tests answer these commands with
exactly those columns (tests/deploy/fake_account.py). Object names are those sql/setup.sql, sql/task.sql and
snowflake.yml create (tests/deploy/test_check_connection.py checks that they still do).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

INTEGRATION = "JIRA_SYNC_ACCESS"
NETWORK_RULE = "JIRA_SYNC_EGRESS"
SECRET = "JIRA_CREDENTIALS"  # basic auth (sql/setup.sql); a bearer token: JIRA_BEARER_TOKEN (secret_bearer.sql)
SECRET_ALIAS = "jira_default"  # snowflake.yml's `secrets:` name for it
PROCEDURE = "SYNC_JIRA"
TASK = "SYNC_JIRA_TASK"
DEFAULT_DATABASE, DEFAULT_SCHEMA = "JIRA_SYNC", "JIRA"  # snowflake.yml's env
MAX_ROLES = 30  # inherited roles followed for grants; a role hierarchy deeper than that is not ours to audit

Query = Callable[[str], list[dict[str, Any]]]
"""Runs one statement; its rows as dicts keyed by lower-case column names. Raises when Snowflake refuses."""

_PLAIN_IDENTIFIER = re.compile(r"^[A-Z_][A-Z0-9_$]*$")


@dataclass(frozen=True)
class Finding:
    """One line of the check: what was looked at, and either that it is right or what to do about it."""

    ok: bool
    subject: str
    message: str

    def line(self) -> str:
        return f"snowflake: {'ok ' if self.ok else 'FIX'}  {self.subject}: {self.message}"


@dataclass
class _Scope:
    role: str
    database: str
    schema: str

    def qualified(self, name: str) -> str:
        return f"{_ident(self.database)}.{_ident(self.schema)}.{_ident(name)}"


def check_deployment(query: Query, site_url: str, email: str | None) -> list[Finding]:
    """Every finding about the deployment the connection's role and schema see, for a source at `site_url`
    (basic auth with `email`, or a bearer token when None)."""
    findings: list[Finding] = []
    scope, error = _scope(query)
    if error:
        return [Finding(False, "connection", f"cannot read its role, database and schema ({error})")]
    findings.append(
        Finding(True, "connection", f"role {scope.role}, schema {_ident(scope.database)}.{_ident(scope.schema)}")
    )
    procedure = _check_procedure(query, scope, findings)
    integration = procedure.get("integration") or INTEGRATION
    integration_visible = _check_integration(query, integration, scope, findings)
    secret = procedure.get("secret") or scope.qualified(SECRET)
    _check_secret(query, secret, email, scope, findings)
    _check_network_rule(query, scope, site_url, findings)
    task = _check_task(query, scope, findings)
    wanted = _wanted_grants(scope, integration if integration_visible else None, secret, procedure, task)
    _check_grants(query, scope, wanted, findings)
    return findings


def _scope(query: Query) -> tuple[_Scope, str | None]:
    """The connection's role, database and schema (snowflake.yml's when it names none), or why not."""
    sql = 'select current_role() as "ROLE", current_database() as "DATABASE", current_schema() as "SCHEMA"'
    rows, error = _attempt(query, sql)
    values = {key.upper(): value for key, value in (rows[0] if rows else {}).items()}
    scope = _Scope(
        role=str(values.get("ROLE") or "PUBLIC"),
        database=str(values.get("DATABASE") or DEFAULT_DATABASE),
        schema=str(values.get("SCHEMA") or DEFAULT_SCHEMA),
    )
    return scope, error


def _attempt(query: Query, sql: str) -> tuple[list[dict[str, Any]], str | None]:
    """The rows, or the first line of Snowflake's refusal (never a traceback: the check reports it)."""
    try:
        return query(sql), None
    except Exception as exc:  # the connector's ProgrammingError, a lost connection: all become a finding
        text = str(exc).strip()
        return [], text.splitlines()[0] if text else type(exc).__name__


def _check_procedure(query: Query, scope: _Scope, findings: list[Finding]) -> dict[str, Any]:
    sql = (
        'select "PROCEDURE_NAME", "PROCEDURE_OWNER", "ARGUMENT_SIGNATURE", "EXTERNAL_ACCESS_INTEGRATIONS", '
        f'"SECRETS" from {_ident(scope.database)}.INFORMATION_SCHEMA.PROCEDURES '
        f"where \"PROCEDURE_SCHEMA\" = '{_literal(scope.schema)}' and \"PROCEDURE_NAME\" = '{PROCEDURE}'"
    )
    rows, error = _attempt(query, sql)
    name = scope.qualified(PROCEDURE)
    if error or not rows:
        why = f"cannot be read ({error})" if error else f"not found (or role {scope.role} may not see it)"
        findings.append(
            Finding(
                False,
                f"procedure {name}",
                f"{why}: deploy it as README step 3 says (python -m jira_sync.artifact; snow snowpark build; "
                f"snow snowpark deploy --replace --role {scope.role})",
            )
        )
        return {}
    row = {key.upper(): value for key, value in rows[0].items()}
    types = _argument_types(str(row.get("ARGUMENT_SIGNATURE") or "()"))
    signature = f"{name}({', '.join(types)})"
    integrations = _names(row.get("EXTERNAL_ACCESS_INTEGRATIONS"))
    secret = _secret_of(row.get("SECRETS"))
    found: dict[str, Any] = {"signature": signature, "owner": str(row.get("PROCEDURE_OWNER") or "")}
    redeploy = "redeploy with snow snowpark deploy --force-replace (plain --replace keeps the old binding)"
    if not integrations:
        findings.append(
            Finding(False, f"procedure {signature}", f"is bound to no external access integration: {redeploy}")
        )
    else:
        found["integration"] = integrations[0]
    if secret is None:
        findings.append(
            Finding(False, f"procedure {signature}", f"has no secret under the alias {SECRET_ALIAS}: {redeploy}")
        )
    else:
        found["secret"] = secret
    if integrations and secret:
        findings.append(
            Finding(True, f"procedure {signature}", f"bound to {integrations[0]} and to the secret {secret}")
        )
    return found


def _listed(query: Query, sql: str, name: str, hidden: str) -> tuple[dict[str, Any] | None, str]:
    """The row a SHOW lists for `name`, else None and why: refused, or not there (`hidden`: or not visible)."""
    rows, error = _attempt(query, sql)
    row = next((r for r in rows if str(r.get("name", "")).upper() == name.upper()), None)
    return row, f"cannot be listed ({error})" if error else f"not found{hidden}"


def _check_integration(query: Query, name: str, scope: _Scope, findings: list[Finding]) -> bool:
    sql = f"show integrations like '{_literal(name)}'"
    row, why = _listed(query, sql, name, f", or role {scope.role} has no USAGE on it")
    subject = f"integration {name}"
    if row is None:
        findings.append(
            Finding(
                False,
                subject,
                f"{why}: an admin runs sql/setup.sql (README step 2), which creates it and grants USAGE ON "
                f"INTEGRATION {name} TO ROLE {scope.role}",
            )
        )
        return False
    if str(row.get("enabled", "")).lower() not in ("true", "1"):
        findings.append(
            Finding(False, subject, f"is disabled: ALTER EXTERNAL ACCESS INTEGRATION {name} SET ENABLED = TRUE")
        )
    else:
        findings.append(Finding(True, subject, "enabled"))
    return True


def _check_secret(query: Query, secret: str, email: str | None, scope: _Scope, findings: list[Finding]) -> None:
    rows, error = _attempt(query, f"describe secret {secret}")
    subject = f"secret {secret}"
    if error or not rows:
        script = "sql/setup.sql" if email else "sql/secret_bearer.sql"
        findings.append(
            Finding(
                False,
                subject,
                f"cannot be described by role {scope.role} ({error or 'no answer'}): it is missing or the role "
                f"has neither OWNERSHIP nor USAGE on it; run {script} as README step 2 says",
            )
        )
        return
    row = rows[0]
    kind = str(row.get("secret_type") or "").upper()
    username = str(row.get("username") or "")
    if email and kind != "PASSWORD":
        findings.append(
            Finding(
                False,
                subject,
                f"is of type {kind or 'unknown'}, but basic auth (--email) needs a PASSWORD secret: run "
                "sql/setup.sql, or check with the bearer token (no --email)",
            )
        )
    elif email and username.lower() != email.lower():
        findings.append(
            Finding(
                False,
                subject,
                f"holds the username {username or '(none)'}, not {email}: ALTER SECRET {secret} SET USERNAME = "
                f"'{_literal(email)}' (or rerun sql/setup.sql with -D \"jira_email={email}\")",
            )
        )
    elif not email and not kind.startswith("GENERIC"):
        findings.append(
            Finding(
                False,
                subject,
                f"is of type {kind or 'unknown'}, but a bearer token (no --email) needs GENERIC_STRING: run "
                "sql/secret_bearer.sql and deploy with --force-replace --env secret=JIRA_BEARER_TOKEN",
            )
        )
    else:
        findings.append(Finding(True, subject, f"{kind}" + (f" for {username}" if username else "")))


def _check_network_rule(query: Query, scope: _Scope, site_url: str, findings: list[Finding]) -> None:
    name = scope.qualified(NETWORK_RULE)
    rows, error = _attempt(query, f"describe network rule {name}")
    subject = f"network rule {name}"
    if error or not rows:
        findings.append(
            Finding(
                False,
                subject,
                f"cannot be described by role {scope.role} ({error or 'no answer'}): it is missing, or the role "
                "does not own it (DESCRIBE NETWORK RULE needs OWNERSHIP); sql/setup.sql creates it",
            )
        )
        return
    allowed = _value_list(rows[0].get("value_list"))
    host, port = _host_port(site_url)
    if any(_allows(value, host, port) for value in allowed):
        findings.append(Finding(True, subject, f"allows {host}:{port}"))
        return
    findings.append(
        Finding(
            False,
            subject,
            f"allows {', '.join(allowed) or 'nothing'}, not the site's {host}:{port}: rerun sql/setup.sql with "
            f'-D "jira_host={host}" (ALTER NETWORK RULE {name} SET VALUE_LIST = (\'{host}:{port}\'))',
        )
    )


def _check_task(query: Query, scope: _Scope, findings: list[Finding]) -> dict[str, Any]:
    name = scope.qualified(TASK)
    sql = f"show tasks like '{TASK}' in schema {_ident(scope.database)}.{_ident(scope.schema)}"
    row, why = _listed(query, sql, TASK, f" (or role {scope.role} may not see it)")
    subject = f"task {name}"
    if row is None:
        findings.append(
            Finding(
                False,
                subject,
                f"{why}: schedule the sync with sql/task.sql as README step 4 says "
                "(snow sql -f sql/task.sql -D ...)",
            )
        )
        return {}
    state = str(row.get("state") or "").lower()
    if state == "suspended":
        reason = str(row.get("last_suspended_reason") or "").strip()
        findings.append(
            Finding(
                False,
                subject,
                f"is suspended{f' ({reason})' if reason else ''}, so nothing syncs: find why in JIRA_SYNC_STATUS "
                f"(LAST_ERROR_MESSAGE) and JIRA_SYNC_RUNS, fix it, then ALTER TASK {name} RESUME",
            )
        )
    elif state == "started":
        findings.append(Finding(True, subject, f"started ({row.get('schedule') or 'no schedule'})"))
    else:
        findings.append(Finding(False, subject, f"is in the unknown state {state!r}: ALTER TASK {name} RESUME"))
    return {"owner": str(row.get("owner") or ""), "serverless": not row.get("warehouse")}


@dataclass(frozen=True)
class _Grant:
    privilege: str
    kind: str  # granted_on: INTEGRATION, SECRET, PROCEDURE, TASK, ACCOUNT
    name: str  # the object's name as GRANT takes it ("" for the account)
    why: str

    def target(self) -> str:
        return "ACCOUNT" if self.kind == "ACCOUNT" else f"{self.kind} {self.name}"

    def statement(self, role: str) -> str:
        who = " (as ACCOUNTADMIN, as sql/setup.sql does)" if self.kind == "ACCOUNT" else ""
        return f"GRANT {self.privilege} ON {self.target()} TO ROLE {role}{who}"


def _wanted_grants(
    scope: _Scope,
    integration: str | None,
    secret: str,
    procedure: dict[str, Any],
    task: dict[str, Any],
) -> list[_Grant]:
    wanted = []
    if integration:
        wanted.append(_Grant("USAGE", "INTEGRATION", integration, "to deploy the procedures with it"))
    wanted.append(_Grant("READ", "SECRET", secret, "for the procedure to read the Jira token"))
    if procedure.get("signature"):
        wanted.append(_Grant("USAGE", "PROCEDURE", procedure["signature"], "to CALL sync_jira()"))
    if task:
        wanted.append(_Grant("OPERATE", "TASK", scope.qualified(TASK), "to resume and suspend the task"))
        if task["owner"].upper() == scope.role.upper():
            wanted.append(_Grant("EXECUTE TASK", "ACCOUNT", "", "for the task it owns to run"))
            if task["serverless"]:
                wanted.append(_Grant("EXECUTE MANAGED TASK", "ACCOUNT", "", "for its serverless task to run"))
    return wanted


def _check_grants(query: Query, scope: _Scope, wanted: list[_Grant], findings: list[Finding]) -> None:
    held, error = _privileges(query, scope.role)
    subject = f"grants of role {scope.role}"
    if error:
        findings.append(Finding(False, subject, f"cannot be listed ({error}), so they were not checked"))
        return
    missing = [grant for grant in wanted if not _holds(held, grant)]
    for grant in missing:
        findings.append(
            Finding(
                False,
                subject,
                f"lacks {grant.privilege} on {grant.target()} ({grant.why}): "
                f"{grant.statement(scope.role)}",
            )
        )
    if not missing:
        what = ", ".join(f"{g.privilege} on {g.kind.lower()}" for g in wanted) or "nothing to check"
        findings.append(Finding(True, subject, what))


def _privileges(query: Query, role: str) -> tuple[set[tuple[str, str, str]], str | None]:
    """(privilege, granted_on, object name) the role holds directly or through the roles granted to it."""
    held: set[tuple[str, str, str]] = set()
    todo, seen = [role.upper()], set()
    while todo and len(seen) < MAX_ROLES:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        rows, error = _attempt(query, f"show grants to role {_ident(current)}")
        if error:
            if current == role.upper():
                return held, error
            continue  # an inherited role this role may not inspect: its grants stay unknown
        for row in rows:
            privilege = str(row.get("privilege") or "").upper()
            kind = str(row.get("granted_on") or "").upper()
            name = _normalized(str(row.get("name") or ""))
            held.add((privilege, kind, name))
            if kind == "ROLE" and privilege == "USAGE":
                todo.append(name)
    return held, None


def _holds(held: set[tuple[str, str, str]], grant: _Grant) -> bool:
    if grant.kind == "ACCOUNT":
        return any(privilege == grant.privilege and kind == "ACCOUNT" for privilege, kind, _ in held)
    target = _normalized(grant.name).split("(")[0]
    return any(
        kind == grant.kind and privilege in (grant.privilege, "OWNERSHIP") and name.split("(")[0] == target
        for privilege, kind, name in held
    )


# --- reading Snowflake's values ------------------------------------------------------------------------------


def _ident(name: str) -> str:
    """A name as SQL takes it: as is when it is a plain upper-case identifier, else double-quoted."""
    return name if _PLAIN_IDENTIFIER.match(name) else '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _normalized(name: str) -> str:
    """An object name as SHOW GRANTS prints it, comparable: quotes dropped, upper case."""
    return name.replace('"', "").upper()


def _names(value: Any) -> list[str]:
    """Object names in a list Snowflake prints as text (`[A, B]`, `["A","B"]`, `A, B`), upper case."""
    if value is None:
        return []
    items = value if isinstance(value, list) else re.split(r"[,\s]+", str(value).strip("[]() \n"))
    return [_normalized(str(item).strip("'\" ")) for item in items if str(item).strip("'\" ")]


def _secret_of(value: Any) -> str | None:
    """The secret bound under SECRET_ALIAS in a procedure's SECRETS map (JSON text or a mapping)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            match = re.search(rf"{SECRET_ALIAS}\W+([\w$.\"]+)", value, re.IGNORECASE)
            return _normalized(match.group(1)) if match else None
    if isinstance(value, dict):
        found = next((v for k, v in value.items() if str(k).lower() == SECRET_ALIAS), None)
        return _normalized(str(found)) if found else None
    return None


def _argument_types(signature: str) -> list[str]:
    """`(SOURCE VARCHAR, FULL_REFRESH BOOLEAN)` -> [VARCHAR, BOOLEAN]: the types GRANT ... ON PROCEDURE takes."""
    inner = signature.strip().strip("()")
    return [part.split()[-1].upper() for part in inner.split(",") if part.strip()]


def _value_list(value: Any) -> list[str]:
    """DESCRIBE NETWORK RULE's value_list: the rule's values, comma-separated (brackets and quotes dropped)."""
    if isinstance(value, list):
        items: Iterable[Any] = value
    else:
        items = str(value or "").strip("[]").split(",")
    return [str(item).strip().strip("'\"") for item in items if str(item).strip().strip("'\"")]


def _host_port(site_url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(site_url)
    return (parts.hostname or "").lower(), parts.port or (80 if parts.scheme == "http" else 443)


def _allows(value: str, host: str, port: int) -> bool:
    """Does a HOST_PORT value (`host` or `host:port`; no port means 443) allow `host:port`?"""
    rule_host, _, rule_port = value.lower().partition(":")
    return rule_host == host and (int(rule_port) if rule_port.isdigit() else 443) == port
