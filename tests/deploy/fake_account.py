"""A Snowflake account holding a jira-sync deployment, as its SHOW and DESCRIBE commands describe it.

`Deployment` is the state (which objects exist, their properties, the role's grants); `answer` renders the
statements `jira-sync check --connection` sends, with the output columns Snowflake documents for each command,
in that order, lower case as Snowflake names them:

- SHOW INTEGRATIONS: name, type, category, enabled, comment, created_on
  (docs.snowflake.com/en/sql-reference/sql/show-integrations)
- DESCRIBE SECRET: created_on, name, schema_name, database_name, owner, comment, secret_type, username,
  oauth_access_token_expiry_time, oauth_refresh_token_expiry_time, oauth_scopes, integration_name
  (docs.snowflake.com/en/sql-reference/sql/desc-secret)
- DESCRIBE NETWORK RULE: created_on, name, database_name, schema_name, owner, comment, type, mode, value_list
  (docs.snowflake.com/en/sql-reference/sql/desc-network-rule)
- SHOW TASKS: created_on, name, id, database_name, schema_name, owner, comment, warehouse, schedule,
  predecessors, state ('started' or 'suspended'), definition, condition, allow_overlapping_execution,
  error_integration, last_committed_on, last_suspended_on, owner_role_type, config, budget, task_relations,
  last_suspended_reason (docs.snowflake.com/en/sql-reference/sql/show-tasks; the last two since bundle 2023_08)
- SHOW GRANTS TO ROLE: created_on, privilege, granted_on, name, granted_to, grantee_name, grant_option,
  granted_by (docs.snowflake.com/en/release-notes/bcr-bundles/2025_01/bcr-1803)
- INFORMATION_SCHEMA.PROCEDURES: the columns the check selects, as the view documents them
  (docs.snowflake.com/en/sql-reference/info-schema/procedures)

A missing or hidden object is answered as Snowflake answers it: SHOW lists nothing; DESCRIBE fails with
002003 "does not exist or not authorized".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from fakesnow import statement_type
from recording import leading_words, refusal, result_set

ROLE, DATABASE, SCHEMA = "JIRA_SYNC_ROLE", "JIRA_SYNC", "JIRA"
CREATED = "2026-12-01 09:00:00.000 -0800"
SIGNATURE = "(SOURCE VARCHAR, FULL_REFRESH BOOLEAN)"

INTEGRATION_COLUMNS = ["name", "type", "category", "enabled", "comment", "created_on"]
SECRET_COLUMNS = [
    "created_on", "name", "schema_name", "database_name", "owner", "comment", "secret_type", "username",
    "oauth_access_token_expiry_time", "oauth_refresh_token_expiry_time", "oauth_scopes", "integration_name",
]  # fmt: skip
RULE_COLUMNS = [
    "created_on", "name", "database_name", "schema_name", "owner", "comment", "type", "mode", "value_list",
]  # fmt: skip
TASK_COLUMNS = [
    "created_on", "name", "id", "database_name", "schema_name", "owner", "comment", "warehouse", "schedule",
    "predecessors", "state", "definition", "condition", "allow_overlapping_execution", "error_integration",
    "last_committed_on", "last_suspended_on", "owner_role_type", "config", "budget", "task_relations",
    "last_suspended_reason",
]  # fmt: skip
GRANT_COLUMNS = [
    "created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option", "granted_by",
]  # fmt: skip
PROCEDURE_COLUMNS = [
    "PROCEDURE_NAME", "PROCEDURE_OWNER", "ARGUMENT_SIGNATURE", "EXTERNAL_ACCESS_INTEGRATIONS", "SECRETS",
]  # fmt: skip


def owned(*objects: tuple[str, str]) -> set[tuple[str, str, str]]:
    return {("OWNERSHIP", kind, name) for kind, name in objects}


def default_grants() -> set[tuple[str, str, str]]:
    """What sql/setup.sql, the deploy and sql/task.sql leave the role holding: it owns the schema's objects,
    uses the integration, may execute (managed) tasks."""
    return {
        *owned(
            ("SECRET", f"{DATABASE}.{SCHEMA}.JIRA_CREDENTIALS"),
            ("NETWORK_RULE", f"{DATABASE}.{SCHEMA}.JIRA_SYNC_EGRESS"),
            ("PROCEDURE", f'{DATABASE}.{SCHEMA}."SYNC_JIRA(SOURCE VARCHAR, FULL_REFRESH BOOLEAN):VARIANT"'),
            ("TASK", f"{DATABASE}.{SCHEMA}.SYNC_JIRA_TASK"),
        ),
        ("USAGE", "INTEGRATION", "JIRA_SYNC_ACCESS"),
        ("EXECUTE TASK", "ACCOUNT", "FAKE_ACCOUNT"),
        ("EXECUTE MANAGED TASK", "ACCOUNT", "FAKE_ACCOUNT"),
    }


@dataclass
class Deployment:
    """A deployment as sql/setup.sql, the deploy and sql/task.sql leave it; tests change what they break."""

    site_host: str = "acme.atlassian.net:443"
    email: str = "jira-bot@acme.com"
    integration: bool = True
    integration_enabled: bool = True
    secret: bool = True
    rule_values: tuple[str, ...] = ()  # the network rule's VALUE_LIST (default: the site's host)
    procedure: bool = True
    task_state: str | None = "started"  # None: no task
    task_suspended_reason: str | None = None
    grants: set[tuple[str, str, str]] = field(default_factory=default_grants)

    def answer(self, sql: str) -> dict[str, Any] | None:
        """The canned answer to a statement of the check; None for anything else (the recorder goes on)."""
        words = leading_words(sql)
        if words.startswith("SELECT CURRENT_ROLE()"):
            return result_set(["ROLE", "DATABASE", "SCHEMA"], [[ROLE, DATABASE, SCHEMA]], statement_type.SELECT)
        if "INFORMATION_SCHEMA.PROCEDURES" in words:
            return self._procedures()
        if words.startswith("SHOW INTEGRATIONS"):
            rows = [["JIRA_SYNC_ACCESS", "EXTERNAL_ACCESS", "SECURITY", str(self.integration_enabled).lower(),
                     "jira-sync: egress to Jira Cloud only", CREATED]] if self.integration else []  # fmt: skip
            return result_set(INTEGRATION_COLUMNS, rows, statement_type.SHOW)
        if words.startswith("DESCRIBE SECRET"):
            if not self.secret:
                return _missing("JIRA_CREDENTIALS")
            row = [CREATED, "JIRA_CREDENTIALS", SCHEMA, DATABASE, ROLE, None, "PASSWORD", self.email, None, None,
                   None, None]  # fmt: skip
            return result_set(SECRET_COLUMNS, [row], statement_type.SHOW)
        if words.startswith("DESCRIBE NETWORK RULE"):
            values = ",".join(self.rule_values or (self.site_host,))
            row = [CREATED, "JIRA_SYNC_EGRESS", DATABASE, SCHEMA, ROLE, None, "HOST_PORT", "EGRESS", values]
            return result_set(RULE_COLUMNS, [row], statement_type.SHOW)
        if words.startswith("SHOW TASKS"):
            return self._tasks()
        if match := re.match(r"SHOW GRANTS TO ROLE (\S+)", words):
            rows = [
                [CREATED, privilege, kind, name, "ROLE", match.group(1), "false", ROLE]
                for privilege, kind, name in sorted(self.grants)
            ] if match.group(1) == ROLE else []  # fmt: skip
            return result_set(GRANT_COLUMNS, rows, statement_type.SHOW)
        return None

    def _procedures(self) -> dict[str, Any]:
        rows = [[
            "SYNC_JIRA", ROLE, SIGNATURE, "[JIRA_SYNC_ACCESS]",
            json.dumps({"jira_default": f"{DATABASE}.{SCHEMA}.JIRA_CREDENTIALS"}),
        ]] if self.procedure else []  # fmt: skip
        return result_set(PROCEDURE_COLUMNS, rows, statement_type.SELECT)

    def _tasks(self) -> dict[str, Any]:
        rows = []
        if self.task_state is not None:
            rows.append([
                CREATED, "SYNC_JIRA_TASK", "01b2c3d4-0000-0000-0000-000000000001", DATABASE, SCHEMA, ROLE,
                "jira-sync: incremental sync of every enabled Jira source", None, "USING CRON */15 * * * * UTC",
                "[]", self.task_state, f"CALL {DATABASE}.{SCHEMA}.SYNC_JIRA()", None, "false", None, CREATED,
                CREATED if self.task_state == "suspended" else None, "ROLE", None, None,
                '{"Predecessors":[],"FinalizerTask":null}', self.task_suspended_reason,
            ])  # fmt: skip
        return result_set(TASK_COLUMNS, rows, statement_type.SHOW)


def _missing(name: str) -> dict[str, Any]:
    return refusal(
        "002003", "02000", f"SQL compilation error:\nSecret '{DATABASE}.{SCHEMA}.{name}' does not exist or not "
        "authorized."
    )
