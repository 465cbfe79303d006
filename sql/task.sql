-- jira-sync: the schedule, serverless. Run after `snow snowpark deploy`:
--   snow sql -f sql/task.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" \
--     -D "schedule=USING CRON */15 * * * * UTC"
-- Serverless (no WAREHOUSE): Snowflake sizes the compute and bills the seconds a run uses, with no warehouse
-- to resume (a 60 s minimum each time) or to idle until it suspends; serverless tasks can call Python
-- procedures (docs.snowflake.com/en/user-guide/tasks-python-jvm) and need EXECUTE MANAGED TASK (setup.sql).
-- sql/task_warehouse.sql moves the task onto a warehouse of yours instead.
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

CREATE OR REPLACE TASK SYNC_JIRA_TASK
  -- The first runs' size; later runs are sized from the recent ones. A run mostly waits on Jira's answers.
  USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'
  SCHEDULE = '<% schedule %>'
  -- Never two runs at once: a long initial load spans several scheduled slots instead of overlapping.
  ALLOW_OVERLAPPING_EXECUTION = FALSE
  -- Stop hammering Jira (and paging people) after three failed runs in a row; RESUME after fixing.
  SUSPEND_TASK_AFTER_NUM_FAILURES = 3
  -- A run that exceeds 55 minutes is cancelled; the next run resumes from the last committed batch.
  USER_TASK_TIMEOUT_MS = 3300000
  COMMENT = 'jira-sync: incremental sync of every enabled Jira source'
AS
  CALL <% database %>.<% schema %>.SYNC_JIRA();

ALTER TASK SYNC_JIRA_TASK RESUME;
