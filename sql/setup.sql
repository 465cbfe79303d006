-- jira-sync: one-time set-up, run by a Snowflake admin (SECURITYADMIN, SYSADMIN and ACCOUNTADMIN, or
-- ACCOUNTADMIN). Values are client-side variables, not edits. The Jira token is read from the environment
-- (a -D value shows in `ps`), and --silent keeps snow from echoing the statements that hold it (README.md):
--   read -rs JIRA_API_TOKEN       # paste the token: not echoed, not kept in the shell's history
--   export JIRA_API_TOKEN
--   snow sql --silent -f sql/setup.sql \
--     -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" -D "warehouse=COMPUTE_WH" \
--     -D "jira_host=acme.atlassian.net" -D "jira_email=jira-bot@acme.com"
-- Safe to run again: objects that exist are changed in place (ALTER), never replaced, so a second run rotates
-- the token without unbinding the deployed procedures from the secret. For a bearer / scoped token, run
-- sql/secret_bearer.sql after this one. Object names must match env: in snowflake.yml (defaults shown above).

-- 1. A role that owns the connector's objects and nothing else, for the Snowflake user running this script
--    (CURRENT_USER(), whatever the login's OS user is called) and for SYSADMIN.
USE ROLE SECURITYADMIN;
CREATE ROLE IF NOT EXISTS <% role %>;
-- IDENTIFIER() takes a session variable, not a function call; the double quotes keep the user name exactly
-- as CURRENT_USER() returns it (docs.snowflake.com/en/sql-reference/identifier-literal).
SET jira_sync_admin = '"' || CURRENT_USER() || '"';
GRANT ROLE <% role %> TO USER IDENTIFIER($jira_sync_admin);
GRANT ROLE <% role %> TO ROLE SYSADMIN;

-- 2. Database and schema, the schema owned by that role.
USE ROLE SYSADMIN;
CREATE DATABASE IF NOT EXISTS <% database %>;
CREATE SCHEMA IF NOT EXISTS <% database %>.<% schema %>;
GRANT USAGE ON DATABASE <% database %> TO ROLE <% role %>;
GRANT OWNERSHIP ON SCHEMA <% database %>.<% schema %> TO ROLE <% role %> COPY CURRENT GRANTS;
GRANT USAGE ON WAREHOUSE <% warehouse %> TO ROLE <% role %>;

-- 3. The network rule: egress to the Jira host only, on 443.
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;
CREATE NETWORK RULE IF NOT EXISTS JIRA_SYNC_EGRESS
  MODE = EGRESS
  TYPE = HOST_PORT
  VALUE_LIST = ('<% jira_host %>:443');
ALTER NETWORK RULE JIRA_SYNC_EGRESS SET VALUE_LIST = ('<% jira_host %>:443');

-- 4. The credential: email + API token (basic auth). The token never leaves this secret.
CREATE SECRET IF NOT EXISTS JIRA_CREDENTIALS
  TYPE = PASSWORD
  USERNAME = '<% jira_email %>'
  PASSWORD = '<% ctx.env.JIRA_API_TOKEN %>';
ALTER SECRET JIRA_CREDENTIALS SET
  USERNAME = '<% jira_email %>'
  PASSWORD = '<% ctx.env.JIRA_API_TOKEN %>';

-- 5. The integration allows exactly that rule and that secret (creating it needs ACCOUNTADMIN).
USE ROLE ACCOUNTADMIN;
CREATE EXTERNAL ACCESS INTEGRATION IF NOT EXISTS JIRA_SYNC_ACCESS
  ALLOWED_NETWORK_RULES = (<% database %>.<% schema %>.JIRA_SYNC_EGRESS)
  ALLOWED_AUTHENTICATION_SECRETS = (<% database %>.<% schema %>.JIRA_CREDENTIALS)
  ENABLED = TRUE
  COMMENT = 'jira-sync: egress to Jira Cloud only';
ALTER EXTERNAL ACCESS INTEGRATION JIRA_SYNC_ACCESS SET
  ALLOWED_NETWORK_RULES = (<% database %>.<% schema %>.JIRA_SYNC_EGRESS)
  ALLOWED_AUTHENTICATION_SECRETS = (<% database %>.<% schema %>.JIRA_CREDENTIALS)
  ENABLED = TRUE;

-- 6. Grants the role needs, and no more: use the integration, run its task on a warehouse (EXECUTE TASK) or
--    serverless (EXECUTE MANAGED TASK, docs.snowflake.com/en/user-guide/tasks-intro).
GRANT USAGE ON INTEGRATION JIRA_SYNC_ACCESS TO ROLE <% role %>;
GRANT EXECUTE TASK ON ACCOUNT TO ROLE <% role %>;
GRANT EXECUTE MANAGED TASK ON ACCOUNT TO ROLE <% role %>;

-- 7. The procedures' warnings (Python `logging`) reach the account's event table only at or above LOG_LEVEL,
--    set on the procedure or a schema or database holding it (needs MODIFY LOG LEVEL on the account:
--    docs.snowflake.com/en/developer-guide/logging-tracing/logging-log-level).
ALTER SCHEMA <% database %>.<% schema %> SET LOG_LEVEL = WARN;
