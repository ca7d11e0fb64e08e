-- CreateIndex
CREATE INDEX "executions_awaiting_admission_by_org_idx" ON "executions"("organization_id", "scheduled_for") WHERE (status = 'PENDING' AND admitted_at IS NULL AND queue IS NULL);

-- CreateIndex
CREATE INDEX "executions_admitted_waiting_idx" ON "executions"("organization_id", "scheduled_for") WHERE (status = 'PENDING' AND admitted_at IS NOT NULL AND queue IS NULL);
