/**
 * The alert mailer: sends email alerts waiting in the notification table
 * (services/email-alerts.ts) about once a second, within each organisation's
 * hourly allowance. Runs in worker processes when RUNLATER_SMTP_URL is set.
 */
import nodemailer, { type Transporter } from "nodemailer";
import type { Pool } from "../server/db/pool.js";
import type { Logger } from "../server/logger.js";
import { EMAIL_CLAIM_BATCH, type EmailAlertSettings, sendDueEmailAlerts } from "../server/services/email-alerts.js";
import { PollingLoop } from "./polling-loop.js";

const POLL_MS = 1000;

export interface AlertMailerOptions extends EmailAlertSettings {
  pool: Pool;
  logger: Logger;
  smtpUrl: string;
}

export class AlertMailer extends PollingLoop {
  private readonly transport: Transporter;

  constructor(private readonly options: AlertMailerOptions) {
    super();
    this.transport = nodemailer.createTransport(options.smtpUrl);
  }

  override async stop(): Promise<void> {
    await super.stop();
    this.transport.close();
  }

  protected async pass(): Promise<number> {
    try {
      const pass = await sendDueEmailAlerts(this.options.pool, this.transport, this.options);
      if (pass.failed > 0) this.options.logger.warn(pass, "alert mailer: some emails could not be sent; they will be retried");
      return pass.sent + pass.digests + pass.failed >= EMAIL_CLAIM_BATCH ? 0 : POLL_MS;
    } catch (error) {
      this.options.logger.error({ err: error }, "alert mailer: sending email alerts failed; retrying");
      return POLL_MS;
    }
  }
}
