-- CreateEnum
CREATE TYPE "inbound_verification" AS ENUM ('STRIPE', 'GITHUB', 'HMAC');

-- CreateEnum
CREATE TYPE "inbound_event_status" AS ENUM ('ACCEPTED', 'REJECTED');

-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "inbound_retention_days" INTEGER NOT NULL DEFAULT 30;

-- CreateTable
CREATE TABLE "inbound_endpoints" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "forward_urls" TEXT[],
    "forward_method" "http_method",
    "forward_headers" JSONB NOT NULL DEFAULT '{}',
    "ordered" BOOLEAN NOT NULL DEFAULT false,
    "retries" INTEGER NOT NULL DEFAULT 5,
    "timeout_ms" INTEGER NOT NULL DEFAULT 30000,
    "verification" "inbound_verification",
    "verification_secret" TEXT,
    "verification_header" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbound_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbound_events" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "status" "inbound_event_status" NOT NULL,
    "rejection_reason" TEXT,
    "method" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "query" TEXT NOT NULL,
    "headers" JSONB NOT NULL,
    "body" BYTEA NOT NULL,
    "source_ip" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbound_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inbound_deliveries" (
    "task_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "destination" TEXT NOT NULL,
    "replay" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbound_deliveries_pkey" PRIMARY KEY ("task_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "inbound_endpoints_slug_key" ON "inbound_endpoints"("slug");

-- CreateIndex
CREATE INDEX "inbound_endpoints_organization_id_id_idx" ON "inbound_endpoints"("organization_id", "id" DESC);

-- CreateIndex
CREATE INDEX "inbound_events_endpoint_id_id_idx" ON "inbound_events"("endpoint_id", "id" DESC);

-- CreateIndex
CREATE INDEX "inbound_events_received_at_idx" ON "inbound_events"("received_at");

-- CreateIndex
CREATE INDEX "inbound_deliveries_event_id_idx" ON "inbound_deliveries"("event_id");

-- AddForeignKey
ALTER TABLE "inbound_endpoints" ADD CONSTRAINT "inbound_endpoints_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbound_events" ADD CONSTRAINT "inbound_events_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbound_events" ADD CONSTRAINT "inbound_events_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "inbound_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbound_deliveries" ADD CONSTRAINT "inbound_deliveries_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inbound_deliveries" ADD CONSTRAINT "inbound_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "inbound_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
