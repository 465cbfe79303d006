-- jira-sync: the task sql/task.sql made, moved onto a warehouse of yours. Run after sql/task.sql:
--   snow sql -f sql/task_warehouse.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" \
--     -D "warehouse=COMPUTE_WH"
-- Worth it when that warehouse runs anyway at the task's times (a run then costs nothing extra); otherwise each
-- run resumes it (billed 60 s at least) and it idles until AUTO_SUSPEND. Needs USAGE on the warehouse and
-- EXECUTE TASK (setup.sql). Back to serverless: run sql/task.sql again. Schedule, no overlap, suspension after
-- failures and timeout stay as task.sql set them.
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

-- Changed while suspended; SET WAREHOUSE turns a serverless task into one on a warehouse (UNSET WAREHOUSE turns
-- it back: docs.snowflake.com/en/sql-reference/sql/alter-task).
ALTER TASK SYNC_JIRA_TASK SUSPEND;
ALTER TASK SYNC_JIRA_TASK SET WAREHOUSE = <% warehouse %>;
ALTER TASK SYNC_JIRA_TASK RESUME;
