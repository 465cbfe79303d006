-- jira-sync: the schedule. Run after `snow snowpark deploy`:
--   snow sql -f sql/task.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" \
--     -D "warehouse=COMPUTE_WH" -D "schedule=USING CRON */15 * * * * UTC"
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

CREATE OR REPLACE TASK SYNC_JIRA_TASK
  WAREHOUSE = <% warehouse %>
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
