-- jira-sync: the task graph sql/task.sql made, moved onto a warehouse of yours: the root and every child task.
-- Run after sql/task.sql, and again each time after it (task.sql makes every task serverless):
--   snow sql -f sql/task_warehouse.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" \
--     -D "warehouse=COMPUTE_WH"
-- Worth it when that warehouse runs anyway at the task's times (a run then costs nothing extra); otherwise each
-- run resumes it (billed 60 s at least) and it idles until AUTO_SUSPEND. The children run at the same time on
-- it, so size it (or its MAX_CONCURRENCY_LEVEL) for one sync per source at once
-- (docs.snowflake.com/en/user-guide/tasks-graphs). Needs USAGE on the warehouse and EXECUTE TASK (setup.sql).
-- Back to serverless: run sql/task.sql again. Schedule, no overlap, failures and timeouts stay as task.sql set
-- them.
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

-- Changed while the root is suspended (no task of a graph may change while its root is started); SET WAREHOUSE
-- turns a serverless task into one on a warehouse (UNSET WAREHOUSE turns it back:
-- docs.snowflake.com/en/sql-reference/sql/alter-task). Then the graph is resumed, children first.
ALTER TASK SYNC_JIRA_TASK SUSPEND;
ALTER TASK SYNC_JIRA_TASK SET WAREHOUSE = <% warehouse %>;
EXECUTE IMMEDIATE $$
DECLARE
  plan CURSOR FOR
    SELECT 'ALTER TASK "' || replace(NAME, '"', '""') || '" SET WAREHOUSE = <% warehouse %>' AS SQL_TEXT
    FROM TABLE(<% database %>.INFORMATION_SCHEMA.TASK_DEPENDENTS(
      TASK_NAME => '<% database %>.<% schema %>.SYNC_JIRA_TASK', RECURSIVE => FALSE))
    WHERE NAME <> 'SYNC_JIRA_TASK'
    ORDER BY NAME;
  sql_text VARCHAR;
BEGIN
  FOR next_step IN plan DO
    sql_text := next_step.SQL_TEXT;
    EXECUTE IMMEDIATE sql_text;
  END FOR;
  RETURN 'jira-sync: every child task runs on the warehouse';
END;
$$;
SELECT SYSTEM$TASK_DEPENDENTS_ENABLE('<% database %>.<% schema %>.SYNC_JIRA_TASK');
