-- DropIndex
DROP INDEX "executions_status_scheduled_for_idx";

-- CreateIndex
CREATE INDEX "executions_pending_idx" ON "executions"("scheduled_for") WHERE (status = 'PENDING');
