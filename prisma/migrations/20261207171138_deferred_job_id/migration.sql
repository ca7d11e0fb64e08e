-- An attempt deferred past an open circuit breaker is carried by a new pg-boss
-- job (server/services/attempts.ts, deferWhileBreakerOpen); its id is kept
-- here so that triggering, cancelling or debouncing the task moves or cancels
-- that job, not the completed one whose id is the execution's. Null: the job's
-- id is the execution's own.

-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "deferred_job_id" UUID;
