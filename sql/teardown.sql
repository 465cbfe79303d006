-- jira-sync: remove everything sql/setup.sql, sql/secret_bearer.sql, `snow snowpark deploy`, `snow streamlit
-- deploy` and sql/task.sql (or sql/task_warehouse.sql) created: the task graph (its root and one child task
-- per source), the procedures, their stage, the dashboard, the integration, the secrets, the network rule, the
-- schema and its tables, the database, the role. Nothing else is touched.
--   snow sql -f sql/teardown.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE"
-- The tables and their data go with the schema; there is no undo (UNDROP works for the retention period).

-- 1. Stop the schedule first, so no run starts half-way through: the root suspended, no graph run starts (one
--    under way finishes), then dropped. Its child tasks, one per source, become suspended tasks of their own
--    and go with the schema in step 4 (docs.snowflake.com/en/sql-reference/sql/drop-task: a task of a graph
--    can be dropped once its root is suspended; dropping a predecessor leaves its children standalone).
USE ROLE ACCOUNTADMIN;
ALTER TASK IF EXISTS <% database %>.<% schema %>.SYNC_JIRA_TASK SUSPEND;
DROP TASK IF EXISTS <% database %>.<% schema %>.SYNC_JIRA_TASK;

-- 2. The procedures (a procedure is named with its argument types: keep these in step with the signatures in
--    snowflake.yml; tests/deploy checks) and the stage holding their code (names from env: in snowflake.yml).
DROP PROCEDURE IF EXISTS <% database %>.<% schema %>.SYNC_JIRA(VARCHAR, BOOLEAN);
DROP PROCEDURE IF EXISTS <% database %>.<% schema %>.ADD_JIRA_SOURCE(
  VARCHAR, VARCHAR, VARCHAR, ARRAY, VARCHAR, VARCHAR, INT, INT, INT, INT, INT, INT, INT, ARRAY);
DROP STAGE IF EXISTS <% database %>.<% schema %>.JIRA_SYNC_CODE;
-- The dashboard (snowflake.yml's jira_sync_dashboard); its files live in the app's own stage and go with it.
DROP STREAMLIT IF EXISTS <% database %>.<% schema %>.JIRA_SYNC_DASHBOARD;

-- 3. The integration, then what it allowed: the secrets and the network rule.
DROP INTEGRATION IF EXISTS JIRA_SYNC_ACCESS;
DROP SECRET IF EXISTS <% database %>.<% schema %>.JIRA_CREDENTIALS;
DROP SECRET IF EXISTS <% database %>.<% schema %>.JIRA_BEARER_TOKEN;
DROP NETWORK RULE IF EXISTS <% database %>.<% schema %>.JIRA_SYNC_EGRESS;

-- 4. The schema with the tables and views the procedures made (and the child tasks), the database, and last the
--    role. setup.sql
--    created the database for jira-sync alone; if `database` names one that holds anything else, delete the
--    DROP DATABASE line before running this.
DROP SCHEMA IF EXISTS <% database %>.<% schema %>;
DROP DATABASE IF EXISTS <% database %>;
USE ROLE SECURITYADMIN;
DROP ROLE IF EXISTS <% role %>;
