-- Sign-ups are bounded per client address (RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR): each one, successful or not,
-- costs a memory-hard password hash, and open sign-up creates an organisation. Attempts are counted here, shared by
-- every server process (server/services/login-throttle.ts), and deleted after a day by the retention sweeper.

-- CreateTable
CREATE TABLE "signup_attempts" (
    "id" BIGSERIAL NOT NULL,
    "ip" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signup_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "signup_attempts_ip_created_at_idx" ON "signup_attempts"("ip", "created_at");

-- CreateIndex
CREATE INDEX "signup_attempts_created_at_idx" ON "signup_attempts"("created_at");
