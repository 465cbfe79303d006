-- jira-sync: a bearer credential (scoped API token or OAuth 2.0 access token) instead of email + token.
-- Bearer tokens must use the gateway URL https://api.atlassian.com/ex/jira/<cloudId>, so the network rule
-- allows api.atlassian.com. Run after sql/setup.sql, with the same variables:
--   snow sql -f sql/secret_bearer.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" \
--     -D "jira_token=$JIRA_SCOPED_TOKEN"
-- then add a source with auth => 'bearer' (see README).
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

CREATE OR REPLACE NETWORK RULE JIRA_SYNC_EGRESS
  MODE = EGRESS
  TYPE = HOST_PORT
  VALUE_LIST = ('api.atlassian.com:443');

CREATE OR REPLACE SECRET JIRA_CREDENTIALS
  TYPE = GENERIC_STRING
  SECRET_STRING = '<% jira_token %>';

USE ROLE ACCOUNTADMIN;
ALTER EXTERNAL ACCESS INTEGRATION JIRA_SYNC_ACCESS SET
  ALLOWED_NETWORK_RULES = (<% database %>.<% schema %>.JIRA_SYNC_EGRESS)
  ALLOWED_AUTHENTICATION_SECRETS = (<% database %>.<% schema %>.JIRA_CREDENTIALS);
