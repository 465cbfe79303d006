-- jira-sync: the schedule, a task graph: the root task SYNC_JIRA_TASK runs on the schedule and starts one child
-- task per enabled source in JIRA_SOURCES, each calling sync_jira for its source alone, so the sources sync side
-- by side, each in its own procedure call with its own time budget, timeout and failures. Run it after
-- `snow snowpark deploy`, and again whenever JIRA_SOURCES changes (a source added, enabled, disabled, split or
-- deleted): the graph then has exactly one child per enabled source.
--   snow sql -f sql/task.sql -D "database=JIRA_SYNC" -D "schema=JIRA" -D "role=JIRA_SYNC_ROLE" \
--     -D "schedule=USING CRON */15 * * * * UTC"
-- Serverless (no WAREHOUSE): Snowflake sizes the compute and bills the seconds a run uses, with no warehouse
-- to resume (a 60 s minimum each time) or to idle until it suspends; serverless tasks can call Python
-- procedures (docs.snowflake.com/en/user-guide/tasks-python-jvm) and need EXECUTE MANAGED TASK (setup.sql).
-- sql/task_warehouse.sql moves the whole graph onto a warehouse of yours instead (run it again after this file).
-- The rules this follows are Snowflake's (docs.snowflake.com/en/user-guide/tasks-graphs and
-- /en/sql-reference/sql/create-task): the root must be suspended while a child is added, altered or dropped;
-- a task has at most 100 children; SUSPEND_TASK_AFTER_NUM_FAILURES belongs on the root and suspends the whole
-- graph when any one task fails that many times in a row; graph runs never overlap (OVERLAP_POLICY =
-- NO_OVERLAP), so the next run starts once the slowest source of this one has finished.
USE ROLE <% role %>;
USE SCHEMA <% database %>.<% schema %>;

-- 1. What no graph should run, refused before anything changes: two enabled sources of one Jira site listing
--    the same project would store each of its issues twice (JIRA_ISSUES is keyed by SOURCE and ID), and more
--    than 100 enabled sources would need more children than a task may have. Sources scoped by JQL cannot be
--    compared here: keep their queries disjoint yourself (README, "Several sources").
EXECUTE IMMEDIATE $$
DECLARE
  OVERLAPPING_PROJECTS EXCEPTION (-20001, 'jira-sync: two enabled sources of one Jira site list the same project, so its issues would be stored and counted twice; give each project to one source (README, "Several sources" shows which). Nothing was changed.');
  TOO_MANY_SOURCES EXCEPTION (-20002, 'jira-sync: more than 100 enabled sources, and a task can start at most 100 child tasks; let a source list several projects. Nothing was changed.');
  problems CURSOR FOR
    WITH enabled AS (
      SELECT "NAME", regexp_replace(lower(trim("SITE_URL")), '/+$', '') AS SITE, "PROJECTS"
      FROM JIRA_SOURCES WHERE coalesce("ENABLED", TRUE)
    ), listed AS (
      SELECT e.SITE, k.value::VARCHAR AS PROJECT_KEY, e."NAME"
      FROM enabled e, LATERAL FLATTEN(input => e."PROJECTS") k
    )
    SELECT 'OVERLAPPING_PROJECTS' AS PROBLEM
    FROM listed GROUP BY SITE, PROJECT_KEY HAVING count(DISTINCT "NAME") > 1
    UNION ALL
    SELECT 'TOO_MANY_SOURCES' FROM enabled HAVING count(*) > 100;
BEGIN
  FOR problem IN problems DO
    IF (problem.PROBLEM = 'OVERLAPPING_PROJECTS') THEN
      RAISE OVERLAPPING_PROJECTS;
    END IF;
    RAISE TOO_MANY_SOURCES;
  END FOR;
  RETURN 'jira-sync: every enabled source can have a task of its own';
END;
$$;

-- 2. The root, changed in place (CREATE OR ALTER keeps the task, its history and its name, which `jira-sync
--    status` and `jira-sync check` read; a deployment that still has the single task of earlier versions gets
--    it turned into the root). Suspended first: no graph may change while its root is started. The root does no
--    work of its own; it only starts the children, which run at the same time.
ALTER TASK IF EXISTS SYNC_JIRA_TASK SUSPEND;
CREATE OR ALTER TASK SYNC_JIRA_TASK
  -- The first runs' size; later runs are sized from the recent ones.
  USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'
  SCHEDULE = '<% schedule %>'
  -- Never two graph runs at once: a source is never synced by two runs together, and a long initial load spans
  -- several scheduled slots instead of overlapping itself.
  OVERLAP_POLICY = NO_OVERLAP
  -- Set on the root, a timeout bounds the graph run; each child's own timeout (55 min) overrides it for that
  -- child, so this leaves room for a child queued behind the root.
  USER_TASK_TIMEOUT_MS = 3600000
  COMMENT = 'jira-sync: the schedule; one child task per enabled Jira source syncs it'
AS
  SELECT 1;

-- 3. The children, as JIRA_SOURCES says now: a child for each enabled source is created or altered in place
--    (named SYNC_JIRA_TASK_<source>, quoted, so every source name gives its own task), the children of sources
--    no longer enabled or gone are dropped, and the graph is resumed, children first. With one source the graph
--    suspends itself after 3 failed runs in a row, as the single task did; with several it never does, since
--    Snowflake would suspend the whole graph when any one source fails: a failing source fails only its own
--    child, and shows in JIRA_SYNC_STATUS. With no enabled source the graph stays suspended.
EXECUTE IMMEDIATE $$
DECLARE
  plan CURSOR FOR
    WITH enabled AS (
      SELECT "NAME" AS SOURCE, 'SYNC_JIRA_TASK_' || "NAME" AS TASK_NAME
      FROM JIRA_SOURCES WHERE coalesce("ENABLED", TRUE)
    ), existing AS (
      SELECT NAME AS TASK_NAME
      FROM TABLE(<% database %>.INFORMATION_SCHEMA.TASK_DEPENDENTS(
        TASK_NAME => '<% database %>.<% schema %>.SYNC_JIRA_TASK', RECURSIVE => FALSE))
      WHERE NAME <> 'SYNC_JIRA_TASK'
    )
    SELECT 1 AS STEP, TASK_NAME AS ORDERING,
      'DROP TASK IF EXISTS "' || replace(TASK_NAME, '"', '""') || '"' AS SQL_TEXT
    FROM existing WHERE TASK_NAME NOT IN (SELECT TASK_NAME FROM enabled)
    UNION ALL
    SELECT 2, TASK_NAME,
      'CREATE OR ALTER TASK "' || replace(TASK_NAME, '"', '""') || '"'
      || ' USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = ''XSMALL'''
      -- a run stops itself at its time budget (50 min at most) and commits; this cancels one that cannot
      || ' USER_TASK_TIMEOUT_MS = 3300000'
      || ' COMMENT = ''jira-sync: syncs the source ' || replace(SOURCE, '''', '''''') || ''''
      || ' AFTER SYNC_JIRA_TASK'
      || ' AS CALL <% database %>.<% schema %>.SYNC_JIRA(source => ''' || replace(SOURCE, '''', '''''') || ''')'
    FROM enabled
    UNION ALL
    SELECT 3, '', 'ALTER TASK SYNC_JIRA_TASK SET SUSPEND_TASK_AFTER_NUM_FAILURES = '
      || iff(count(*) = 1, '3', '0')
    FROM enabled
    UNION ALL
    SELECT 4, '', 'SELECT SYSTEM$TASK_DEPENDENTS_ENABLE(''<% database %>.<% schema %>.SYNC_JIRA_TASK'')'
    FROM enabled HAVING count(*) > 0
    ORDER BY STEP, ORDERING;
  sql_text VARCHAR;
BEGIN
  FOR next_step IN plan DO
    sql_text := next_step.SQL_TEXT;
    EXECUTE IMMEDIATE sql_text;
  END FOR;
  RETURN 'jira-sync: one child task per enabled source; README, "Several sources", shows how to list them';
END;
$$;
