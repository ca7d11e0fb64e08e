-- CreateTable
CREATE TABLE "status_pages" (
    "organization_id" UUID NOT NULL,
    "slug" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "status_pages_pkey" PRIMARY KEY ("organization_id")
);

-- CreateTable
CREATE TABLE "public_resources" (
    "organization_id" UUID NOT NULL,
    "resource_type" "resource_type" NOT NULL,
    "resource_id" UUID NOT NULL,
    "badge_token" TEXT NOT NULL,
    "display_name" TEXT,
    "show_on_status_page" BOOLEAN NOT NULL DEFAULT true,
    "position" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "public_resources_pkey" PRIMARY KEY ("resource_type","resource_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "status_pages_slug_key" ON "status_pages"("slug");

-- CreateIndex
CREATE UNIQUE INDEX "public_resources_badge_token_key" ON "public_resources"("badge_token");

-- CreateIndex
CREATE INDEX "public_resources_organization_id_position_idx" ON "public_resources"("organization_id", "position");

-- AddForeignKey
ALTER TABLE "status_pages" ADD CONSTRAINT "status_pages_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "public_resources" ADD CONSTRAINT "public_resources_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
