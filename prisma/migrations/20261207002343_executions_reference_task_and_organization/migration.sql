-- DropForeignKey
ALTER TABLE "executions" DROP CONSTRAINT "executions_organization_id_fkey";

-- DropForeignKey
ALTER TABLE "executions" DROP CONSTRAINT "executions_task_id_fkey";

-- CreateIndex
CREATE UNIQUE INDEX "tasks_id_organization_id_key" ON "tasks"("id", "organization_id");

-- AddForeignKey
ALTER TABLE "executions" ADD CONSTRAINT "executions_task_id_organization_id_fkey" FOREIGN KEY ("task_id", "organization_id") REFERENCES "tasks"("id", "organization_id") ON DELETE CASCADE ON UPDATE CASCADE;
