-- A MISSED attempt (a cron slot skipped by downtime or by its overlap policy) is over when it is recorded: it now
-- carries finished_at like every other finished attempt, so the activity chart counts it (as documented) and
-- history retention finds it. Those recorded before get their slot's time.
UPDATE "executions" SET "finished_at" = COALESCE("cron_slot", "scheduled_for")
WHERE "status" = 'MISSED' AND "finished_at" IS NULL;
