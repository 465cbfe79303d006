-- jira-sync: a bearer credential (an OAuth 2.0 access token) instead of email + token. A scoped API token is
-- not one: Atlassian takes it with the email, as basic auth, through the gateway (README, FAQ).
-- Bearer tokens must use the gateway URL https://api.atlassian.com/ex/jira/<cloudId>, so the network rule
-- allows api.atlassian.com. Run after sql/setup.sql, the token in the environment, never on the command line,
-- then bind the new secret to the procedures and add sources with auth => 'bearer' (see README):
--   read -rs JIRA_API_TOKEN       # paste the OAuth access token
--   export JIRA_API_TOKEN
--   snow sql --silent -f sql/secret_bearer.sql \
--     -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE"
--   snow snowpark deploy --force-replace --role JIRA_SYNC_ROLE --warehouse COMPUTE_WH \
--     --env secret=JIRA_BEARER_TOKEN
-- A secret's TYPE cannot change (ALTER SECRET keeps it), so the bearer token gets its own GENERIC_STRING
-- secret.
-- Everything else is changed in place (ALTER), never replaced: replacing a secret or a rule would unbind the
-- procedures and the integration from it. Safe to run again (a second run rotates the token).
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

ALTER NETWORK RULE JIRA_SYNC_EGRESS SET VALUE_LIST = ('api.atlassian.com:443');

CREATE SECRET IF NOT EXISTS JIRA_BEARER_TOKEN
  TYPE = GENERIC_STRING
  SECRET_STRING = '<% ctx.env.JIRA_API_TOKEN %>';
ALTER SECRET JIRA_BEARER_TOKEN SET SECRET_STRING = '<% ctx.env.JIRA_API_TOKEN %>';

USE ROLE ACCOUNTADMIN;
ALTER EXTERNAL ACCESS INTEGRATION JIRA_SYNC_ACCESS SET
  ALLOWED_NETWORK_RULES = (<% database %>.<% schema %>.JIRA_SYNC_EGRESS)
  ALLOWED_AUTHENTICATION_SECRETS = (<% database %>.<% schema %>.JIRA_BEARER_TOKEN);
