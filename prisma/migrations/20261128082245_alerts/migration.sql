-- CreateEnum
CREATE TYPE "alert_channel_kind" AS ENUM ('EMAIL', 'SLACK', 'DISCORD', 'WEBHOOK');

-- CreateEnum
CREATE TYPE "alert_event" AS ENUM ('TASK_FAILED', 'TASK_RECOVERED', 'MONITOR_DOWN', 'MONITOR_UP', 'ENDPOINT_FAILING', 'ENDPOINT_RECOVERED', 'TEST');

-- CreateEnum
CREATE TYPE "notification_status" AS ENUM ('PENDING', 'SENT', 'DIGESTED', 'FAILED', 'HANDED_TO_TASK');

-- CreateEnum
CREATE TYPE "alert_mode" AS ENUM ('DEFAULT', 'OFF', 'CHANNELS');

-- CreateTable
CREATE TABLE "alert_channels" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "alert_channel_kind" NOT NULL,
    "target" TEXT NOT NULL,
    "is_default" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_channels_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notifications" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "channel_id" UUID NOT NULL,
    "event" "alert_event" NOT NULL,
    "resource_type" "resource_type",
    "resource_id" UUID,
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "status" "notification_status" NOT NULL,
    "task_id" UUID,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "error" TEXT,
    "digest_id" UUID,
    "sent_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alert_routes" (
    "organization_id" UUID NOT NULL,
    "resource_type" "resource_type" NOT NULL,
    "resource_id" UUID NOT NULL,
    "mode" "alert_mode" NOT NULL,
    "channel_ids" UUID[],
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "alert_routes_pkey" PRIMARY KEY ("resource_type","resource_id")
);

-- CreateIndex
CREATE INDEX "alert_channels_organization_id_idx" ON "alert_channels"("organization_id");

-- CreateIndex
CREATE INDEX "notifications_organization_id_id_idx" ON "notifications"("organization_id", "id" DESC);

-- CreateIndex
CREATE INDEX "notifications_next_attempt_at_idx" ON "notifications"("next_attempt_at") WHERE (status = 'PENDING');

-- CreateIndex
CREATE INDEX "notifications_organization_id_sent_at_idx" ON "notifications"("organization_id", "sent_at") WHERE (sent_at IS NOT NULL);

-- CreateIndex
CREATE INDEX "notifications_task_id_idx" ON "notifications"("task_id") WHERE (task_id IS NOT NULL);

-- CreateIndex
CREATE INDEX "alert_routes_organization_id_idx" ON "alert_routes"("organization_id");

-- AddForeignKey
ALTER TABLE "alert_channels" ADD CONSTRAINT "alert_channels_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_channel_id_fkey" FOREIGN KEY ("channel_id") REFERENCES "alert_channels"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "alert_routes" ADD CONSTRAINT "alert_routes_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
