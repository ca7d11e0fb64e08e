-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "cron_slot" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "prepared_slot" TIMESTAMPTZ(3);

-- CreateIndex
CREATE UNIQUE INDEX "executions_task_id_cron_slot_key" ON "executions"("task_id", "cron_slot") WHERE (cron_slot IS NOT NULL);
