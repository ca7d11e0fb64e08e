-- CreateEnum
CREATE TYPE "monitor_status" AS ENUM ('NEW', 'UP', 'LATE', 'DOWN', 'PAUSED');

-- CreateEnum
CREATE TYPE "monitor_ping_kind" AS ENUM ('SUCCESS', 'START', 'FAIL');

-- CreateEnum
CREATE TYPE "resource_type" AS ENUM ('TASK', 'MONITOR', 'ENDPOINT');

-- CreateEnum
CREATE TYPE "health_state" AS ENUM ('UP', 'DOWN');

-- CreateTable
CREATE TABLE "monitors" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "interval_seconds" INTEGER,
    "cron" TEXT,
    "timezone" TEXT,
    "grace_seconds" INTEGER NOT NULL,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "status" "monitor_status" NOT NULL DEFAULT 'NEW',
    "status_changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_ping_at" TIMESTAMPTZ(3),
    "last_ping_kind" "monitor_ping_kind",
    "last_start_at" TIMESTAMPTZ(3),
    "last_duration_ms" INTEGER,
    "alert_after" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "monitors_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "monitor_pings" (
    "id" UUID NOT NULL,
    "monitor_id" UUID NOT NULL,
    "kind" "monitor_ping_kind" NOT NULL,
    "exit_code" INTEGER,
    "duration_ms" INTEGER,
    "body" TEXT,
    "method" TEXT NOT NULL,
    "source_ip" TEXT NOT NULL,
    "user_agent" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "monitor_pings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "status_changes" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "resource_type" "resource_type" NOT NULL,
    "resource_id" UUID NOT NULL,
    "state" "health_state" NOT NULL,
    "reason" TEXT,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "status_changes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "monitors_token_key" ON "monitors"("token");

-- CreateIndex
CREATE INDEX "monitors_organization_id_id_idx" ON "monitors"("organization_id", "id" DESC);

-- CreateIndex
CREATE INDEX "monitors_alert_after_idx" ON "monitors"("alert_after") WHERE (alert_after IS NOT NULL);

-- CreateIndex
CREATE INDEX "monitor_pings_monitor_id_id_idx" ON "monitor_pings"("monitor_id", "id" DESC);

-- CreateIndex
CREATE INDEX "status_changes_resource_type_resource_id_changed_at_idx" ON "status_changes"("resource_type", "resource_id", "changed_at");

-- AddForeignKey
ALTER TABLE "monitors" ADD CONSTRAINT "monitors_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "monitor_pings" ADD CONSTRAINT "monitor_pings_monitor_id_fkey" FOREIGN KEY ("monitor_id") REFERENCES "monitors"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "status_changes" ADD CONSTRAINT "status_changes_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
