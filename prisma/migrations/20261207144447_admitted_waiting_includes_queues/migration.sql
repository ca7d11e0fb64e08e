-- DropIndex
DROP INDEX "executions_admitted_waiting_idx";

-- CreateIndex
CREATE INDEX "executions_admitted_waiting_idx" ON "executions"("organization_id", "scheduled_for") WHERE (status = 'PENDING' AND admitted_at IS NOT NULL);
