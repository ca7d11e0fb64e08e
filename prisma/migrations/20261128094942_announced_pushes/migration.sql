-- Pushes through the API announce their tasks and first attempts after they
-- commit (server/services/push-announcer.ts), many pushes in one NOTIFY:
-- a transaction that notifies holds PostgreSQL's notification-queue lock
-- through its commit, so a NOTIFY per push serialised every push behind the
-- previous one's WAL flush (measured: 150 single-row INSERTs/s with the
-- trigger, 1,100 without). The push statement sets
-- `runlater.announced_after_commit` for its own transaction; every other
-- writer still publishes from these triggers.

DROP TRIGGER "executions_publish_inserts" ON "executions";
CREATE TRIGGER "executions_publish_inserts" AFTER INSERT ON "executions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  WHEN (current_setting('runlater.announced_after_commit', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION "runlater_publish_execution_changes"();

DROP TRIGGER "tasks_publish_inserts" ON "tasks";
CREATE TRIGGER "tasks_publish_inserts" AFTER INSERT ON "tasks"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
  WHEN (current_setting('runlater.announced_after_commit', true) IS DISTINCT FROM 'on')
  EXECUTE FUNCTION "runlater_publish_task_changes"();
