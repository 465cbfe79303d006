-- jira-sync: one-time set-up, run by a Snowflake admin (SECURITYADMIN + SYSADMIN, or ACCOUNTADMIN).
-- Values are client-side variables, not edits:
--   snow sql -f sql/setup.sql \
--     -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" -D "warehouse=COMPUTE_WH" \
--     -D "admin_user=$USER_NAME" -D "jira_host=acme.atlassian.net" \
--     -D "jira_email=jira-bot@acme.com" -D "jira_token=$JIRA_API_TOKEN"
-- For a bearer / scoped token, use jira_host=api.atlassian.com and sql/secret_bearer.sql instead of the
-- PASSWORD secret below. Object names must match env: in snowflake.yml (defaults shown above).

-- 1. A role that owns the connector's objects and nothing else.
USE ROLE SECURITYADMIN;
CREATE ROLE IF NOT EXISTS <% role %>;
GRANT ROLE <% role %> TO USER <% admin_user %>;
GRANT ROLE <% role %> TO ROLE SYSADMIN;

-- 2. Database and schema, owned by that role.
USE ROLE SYSADMIN;
CREATE DATABASE IF NOT EXISTS <% database %>;
CREATE SCHEMA IF NOT EXISTS <% database %>.<% schema %>;
GRANT USAGE ON DATABASE <% database %> TO ROLE <% role %>;
GRANT OWNERSHIP ON SCHEMA <% database %>.<% schema %> TO ROLE <% role %> COPY CURRENT GRANTS;
GRANT USAGE ON WAREHOUSE <% warehouse %> TO ROLE <% role %>;

-- 3. The network rule: egress to the Jira host only, on 443.
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;
CREATE OR REPLACE NETWORK RULE JIRA_SYNC_EGRESS
  MODE = EGRESS
  TYPE = HOST_PORT
  VALUE_LIST = ('<% jira_host %>:443');

-- 4. The credential: email + API token (basic auth). The token never leaves this secret.
CREATE OR REPLACE SECRET JIRA_CREDENTIALS
  TYPE = PASSWORD
  USERNAME = '<% jira_email %>'
  PASSWORD = '<% jira_token %>';

-- 5. The integration allows exactly that rule and that secret (creating it needs ACCOUNTADMIN).
USE ROLE ACCOUNTADMIN;
CREATE OR REPLACE EXTERNAL ACCESS INTEGRATION JIRA_SYNC_ACCESS
  ALLOWED_NETWORK_RULES = (<% database %>.<% schema %>.JIRA_SYNC_EGRESS)
  ALLOWED_AUTHENTICATION_SECRETS = (<% database %>.<% schema %>.JIRA_CREDENTIALS)
  ENABLED = TRUE
  COMMENT = 'jira-sync: egress to Jira Cloud only';

-- 6. Grants the role needs, and no more: use the integration, run tasks on its own schedule.
GRANT USAGE ON INTEGRATION JIRA_SYNC_ACCESS TO ROLE <% role %>;
GRANT EXECUTE TASK ON ACCOUNT TO ROLE <% role %>;
