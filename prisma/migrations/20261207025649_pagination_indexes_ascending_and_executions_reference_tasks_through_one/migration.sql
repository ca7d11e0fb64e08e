-- DropForeignKey
ALTER TABLE "executions" DROP CONSTRAINT "executions_task_id_organization_id_fkey";

-- DropIndex
DROP INDEX "executions_organization_id_id_idx";

-- DropIndex
DROP INDEX "inbound_endpoints_organization_id_id_idx";

-- DropIndex
DROP INDEX "inbound_events_endpoint_id_id_idx";

-- DropIndex
DROP INDEX "monitor_pings_monitor_id_id_idx";

-- DropIndex
DROP INDEX "monitors_organization_id_id_idx";

-- DropIndex
DROP INDEX "notifications_organization_id_id_idx";

-- DropIndex
DROP INDEX "tasks_id_organization_id_key";

-- DropIndex
DROP INDEX "tasks_organization_id_id_idx";

-- CreateIndex
CREATE INDEX "executions_organization_id_id_idx" ON "executions"("organization_id", "id");

-- CreateIndex
CREATE INDEX "inbound_endpoints_organization_id_id_idx" ON "inbound_endpoints"("organization_id", "id");

-- CreateIndex
CREATE INDEX "inbound_events_endpoint_id_id_idx" ON "inbound_events"("endpoint_id", "id");

-- CreateIndex
CREATE INDEX "monitor_pings_monitor_id_id_idx" ON "monitor_pings"("monitor_id", "id");

-- CreateIndex
CREATE INDEX "monitors_organization_id_id_idx" ON "monitors"("organization_id", "id");

-- CreateIndex
CREATE INDEX "notifications_organization_id_id_idx" ON "notifications"("organization_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "tasks_organization_id_id_key" ON "tasks"("organization_id", "id");

-- AddForeignKey
ALTER TABLE "executions" ADD CONSTRAINT "executions_organization_id_task_id_fkey" FOREIGN KEY ("organization_id", "task_id") REFERENCES "tasks"("organization_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
