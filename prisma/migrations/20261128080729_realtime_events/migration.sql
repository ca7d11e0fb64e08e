-- CreateIndex
CREATE INDEX "executions_organization_id_finished_at_idx" ON "executions"("organization_id", "finished_at") WHERE (finished_at IS NOT NULL);

-- Live updates (server/realtime/live-event-hub.ts). Statement-level triggers
-- publish what changed on the channel `runlater_events`, so every code path
-- (API, worker, cron, callbacks, another machine) is covered and a batched
-- write costs one notification per organisation and 100 rows. Payloads carry
-- ids, never row contents: {"k": kind, "o": organisation id, "r": rows}, well
-- under PostgreSQL's 8000-byte limit (a row is at most ~60 bytes; queue names
-- at most 100 characters, 40 per notification).

-- Executions: every insert and every status change. Rows are [id, status].
CREATE FUNCTION "runlater_publish_execution_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR payload IN
      SELECT json_build_object('k', 'e', 'o', organization_id, 'r', json_agg(json_build_array(id, status)))::text
      FROM (SELECT n.organization_id, n.id, n.status,
                   (row_number() OVER (PARTITION BY n.organization_id ORDER BY n.id) - 1) / 100 AS chunk
            FROM new_rows n) changed
      GROUP BY organization_id, chunk
    LOOP
      PERFORM pg_notify('runlater_events', payload);
    END LOOP;
  ELSE
    FOR payload IN
      SELECT json_build_object('k', 'e', 'o', organization_id, 'r', json_agg(json_build_array(id, status)))::text
      FROM (SELECT n.organization_id, n.id, n.status,
                   (row_number() OVER (PARTITION BY n.organization_id ORDER BY n.id) - 1) / 100 AS chunk
            FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE o.status IS DISTINCT FROM n.status) changed
      GROUP BY organization_id, chunk
    LOOP
      PERFORM pg_notify('runlater_events', payload);
    END LOOP;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "executions_publish_inserts" AFTER INSERT ON "executions"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_execution_changes"();
CREATE TRIGGER "executions_publish_updates" AFTER UPDATE ON "executions"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_execution_changes"();

-- Tasks: every insert and update. Rows are [id, status, created or status changed].
CREATE FUNCTION "runlater_publish_task_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR payload IN
      SELECT json_build_object('k', 't', 'o', organization_id, 'c', true, 'r', json_agg(json_build_array(id, status, true)))::text
      FROM (SELECT n.organization_id, n.id, n.status,
                   (row_number() OVER (PARTITION BY n.organization_id ORDER BY n.id) - 1) / 100 AS chunk
            FROM new_rows n) changed
      GROUP BY organization_id, chunk
    LOOP
      PERFORM pg_notify('runlater_events', payload);
    END LOOP;
  ELSE
    FOR payload IN
      SELECT json_build_object('k', 't', 'o', organization_id, 'r', json_agg(json_build_array(id, status, status_changed)))::text
      FROM (SELECT n.organization_id, n.id, n.status, o.status IS DISTINCT FROM n.status AS status_changed,
                   (row_number() OVER (PARTITION BY n.organization_id ORDER BY n.id) - 1) / 100 AS chunk
            FROM new_rows n JOIN old_rows o ON o.id = n.id) changed
      GROUP BY organization_id, chunk
    LOOP
      PERFORM pg_notify('runlater_events', payload);
    END LOOP;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "tasks_publish_inserts" AFTER INSERT ON "tasks"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_task_changes"();
CREATE TRIGGER "tasks_publish_updates" AFTER UPDATE ON "tasks"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_task_changes"();

-- Queues: settings changed (pause, concurrency, rate limit). Rows are names.
CREATE FUNCTION "runlater_publish_queue_changes"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  FOR payload IN
    SELECT json_build_object('k', 'q', 'o', organization_id, 'r', json_agg(name))::text
    FROM (SELECT n.organization_id, n.name,
                 (row_number() OVER (PARTITION BY n.organization_id ORDER BY n.name) - 1) / 40 AS chunk
          FROM new_rows n) changed
    GROUP BY organization_id, chunk
  LOOP
    PERFORM pg_notify('runlater_events', payload);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER "queues_publish_inserts" AFTER INSERT ON "queues"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_queue_changes"();
CREATE TRIGGER "queues_publish_updates" AFTER UPDATE ON "queues"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_queue_changes"();

-- API keys: revocations, so live connections made with a revoked key are closed. Rows are key ids.
CREATE FUNCTION "runlater_publish_api_key_revocations"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload text;
BEGIN
  FOR payload IN
    SELECT json_build_object('k', 'k', 'o', organization_id, 'r', json_agg(id))::text
    FROM (SELECT n.organization_id, n.id,
                 (row_number() OVER (PARTITION BY n.organization_id ORDER BY n.id) - 1) / 100 AS chunk
          FROM new_rows n JOIN old_rows o ON o.id = n.id
          WHERE o.revoked_at IS NULL AND n.revoked_at IS NOT NULL) revoked
    GROUP BY organization_id, chunk
  LOOP
    PERFORM pg_notify('runlater_events', payload);
  END LOOP;
  RETURN NULL;
END
$$;

CREATE TRIGGER "api_keys_publish_revocations" AFTER UPDATE ON "api_keys"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "runlater_publish_api_key_revocations"();
