-- CreateEnum
CREATE TYPE "catch_up_policy" AS ENUM ('SKIP', 'LATEST', 'ALL');

-- CreateEnum
CREATE TYPE "overlap_policy" AS ENUM ('ALLOW', 'SKIP_IF_RUNNING');

-- CreateEnum
CREATE TYPE "callback_on" AS ENUM ('EVERY_ATTEMPT', 'FINAL');

-- AlterEnum
ALTER TYPE "execution_status" ADD VALUE 'MISSED';

-- AlterEnum
ALTER TYPE "task_type" ADD VALUE 'CALLBACK';

-- DropIndex
DROP INDEX "executions_task_id_attempt_key";

-- DropIndex
DROP INDEX "tasks_organization_id_queue_idx";

-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "admitted_at" TIMESTAMPTZ(3),
ADD COLUMN     "priority" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "queue" TEXT,
ADD COLUMN     "run" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "waiting_reason" TEXT;

-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "concurrency_limit" INTEGER NOT NULL DEFAULT 5;

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "callback_on" "callback_on",
ADD COLUMN     "callback_url" TEXT,
ADD COLUMN     "catch_up" "catch_up_policy" NOT NULL DEFAULT 'SKIP',
ADD COLUMN     "cron" TEXT,
ADD COLUMN     "debounce_key" TEXT,
ADD COLUMN     "dedupe_hash" TEXT,
ADD COLUMN     "next_run_at" TIMESTAMPTZ(3),
ADD COLUMN     "on_failure_url" TEXT,
ADD COLUMN     "overlap" "overlap_policy" NOT NULL DEFAULT 'ALLOW',
ADD COLUMN     "paused" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "priority" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "runs" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "source_task_id" UUID,
ADD COLUMN     "throttle_key" TEXT,
ADD COLUMN     "timezone" TEXT;

-- CreateTable
CREATE TABLE "queues" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "concurrency" INTEGER NOT NULL DEFAULT 1,
    "rate_limit" INTEGER,
    "rate_period_seconds" INTEGER NOT NULL DEFAULT 1,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "queues_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "target_breakers" (
    "organization_id" UUID NOT NULL,
    "host" TEXT NOT NULL,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "openings" INTEGER NOT NULL DEFAULT 0,
    "open_until" TIMESTAMPTZ(3),
    "reason" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "target_breakers_pkey" PRIMARY KEY ("organization_id","host")
);

-- CreateIndex
CREATE UNIQUE INDEX "queues_organization_id_name_key" ON "queues"("organization_id", "name");

-- CreateIndex
CREATE INDEX "executions_organization_id_queue_status_admitted_at_priorit_idx" ON "executions"("organization_id", "queue", "status", "admitted_at", "priority" DESC, "scheduled_for") WHERE (queue IS NOT NULL);

-- CreateIndex
CREATE INDEX "executions_awaiting_admission_idx" ON "executions"("scheduled_for") WHERE (status = 'PENDING' AND admitted_at IS NULL AND queue IS NULL);

-- CreateIndex
CREATE INDEX "executions_organization_id_queue_admitted_at_idx" ON "executions"("organization_id", "queue", "admitted_at") WHERE (queue IS NOT NULL);

-- CreateIndex
CREATE UNIQUE INDEX "executions_task_id_run_attempt_key" ON "executions"("task_id", "run", "attempt");

-- CreateIndex
CREATE INDEX "tasks_organization_id_queue_idx" ON "tasks"("organization_id", "queue") WHERE (queue IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_next_run_at_idx" ON "tasks"("next_run_at") WHERE (next_run_at IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_organization_id_dedupe_hash_idx" ON "tasks"("organization_id", "dedupe_hash") WHERE (dedupe_hash IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_organization_id_debounce_key_idx" ON "tasks"("organization_id", "debounce_key") WHERE (debounce_key IS NOT NULL);

-- CreateIndex
CREATE INDEX "tasks_organization_id_throttle_key_idx" ON "tasks"("organization_id", "throttle_key") WHERE (throttle_key IS NOT NULL);

-- AddForeignKey
ALTER TABLE "queues" ADD CONSTRAINT "queues_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "target_breakers" ADD CONSTRAINT "target_breakers_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Attempts created before queues existed were all enqueued at once.
UPDATE "executions" SET "admitted_at" = "created_at" WHERE "admitted_at" IS NULL;
