/**
 * The email side of alerts: sends PENDING email notifications through SMTP,
 * at most `emailsPerHour` emails per organisation per rolling hour. Alerts
 * beyond that wait and go out together as one digest as soon as the
 * allowance has room for another email: when only one email is left in the
 * hour and several alerts wait for a recipient, they become one digest.
 *
 * A pass claims due notifications with SKIP LOCKED and holds a per-organisation
 * advisory lock while it counts and sends (an organisation another mailer holds
 * waits for the next pass), so concurrent mailers neither send an alert twice
 * nor exceed the allowance. A failed send is retried with
 * backoff, then marked FAILED. Delivery is at least once: a crash between the
 * SMTP answer and the commit sends that email again.
 */
import type { Transporter } from "nodemailer";
import { v7 as uuidv7 } from "uuid";
import type { Pool, PoolClient } from "../db/pool.js";
import { withTransaction } from "../db/pool.js";

export const EMAIL_CLAIM_BATCH = 200;
export const EMAIL_MAX_ATTEMPTS = 5;
const HOUR_MS = 3_600_000;

export interface EmailAlertSettings {
  from: string;
  emailsPerHour: number;
}

interface PendingEmail {
  id: string;
  organizationId: string;
  channelId: string;
  to: string;
  subject: string;
  text: string;
  attempts: number;
  createdAt: Date;
}

export interface MailerPass {
  sent: number;
  digests: number;
  failed: number;
}

/** Sends what is due; answers what it did. */
export async function sendDueEmailAlerts(
  pool: Pool,
  transport: Transporter,
  settings: EmailAlertSettings,
  now = new Date(),
): Promise<MailerPass> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<PendingEmail>(
      `SELECT n.id, n.organization_id AS "organizationId", n.channel_id AS "channelId", c.target AS "to", n.subject, n.text,
              n.attempts, n.created_at AS "createdAt"
       FROM notifications n JOIN alert_channels c ON c.id = n.channel_id
       WHERE n.status = 'PENDING' AND n.next_attempt_at <= $1
       ORDER BY n.next_attempt_at, n.id LIMIT ${EMAIL_CLAIM_BATCH}
       FOR UPDATE OF n SKIP LOCKED`,
      [now],
    );
    const pass: MailerPass = { sent: 0, digests: 0, failed: 0 };
    const byOrganization = groupBy(rows, (row) => row.organizationId);
    for (const [organizationId, emails] of byOrganization) {
      await sendForOrganization(client, transport, settings, organizationId, emails, now, pass);
    }
    return pass;
  });
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item)) ?? [];
    group.push(item);
    groups.set(key(item), group);
  }
  return groups;
}

async function sendForOrganization(
  client: PoolClient,
  transport: Transporter,
  settings: EmailAlertSettings,
  organizationId: string,
  emails: PendingEmail[],
  now: Date,
  pass: MailerPass,
): Promise<void> {
  // Tried, never waited for: a mailer holding one organisation's lock while it waited for another's could deadlock
  // with a second mailer taking them the other way round, and the deadlock's retry of the whole pass would send the
  // emails it had already sent again. A busy organisation's emails stay PENDING for the next pass.
  const { rows: locked } = await client.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock(hashtext('runlater:alert-email:' || $1)) AS locked",
    [organizationId],
  );
  if (!locked[0]?.locked) return;
  const { rows } = await client.query<{ sent: number; oldest: Date | null }>(
    `SELECT count(DISTINCT coalesce(digest_id, id))::int AS sent, min(sent_at) AS oldest FROM notifications
     WHERE organization_id = $1 AND sent_at > $2 AND status IN ('SENT', 'DIGESTED')`,
    [organizationId, new Date(now.getTime() - HOUR_MS)],
  );
  let allowance = settings.emailsPerHour - (rows[0]?.sent ?? 0);
  const waiting: PendingEmail[] = [];
  for (const group of groupBy(emails, (email) => email.channelId).values()) {
    while (group.length > 0 && allowance > 0) {
      const batch = allowance === 1 && group.length > 1 ? group.splice(0) : group.splice(0, 1);
      allowance--;
      await sendOne(client, transport, settings, batch, now, pass);
    }
    waiting.push(...group);
  }
  if (waiting.length > 0) {
    // Over the allowance: look again when the oldest send of the hour leaves the window.
    const retryAt = new Date((rows[0]?.oldest ?? now).getTime() + HOUR_MS + 1000);
    await client.query("UPDATE notifications SET next_attempt_at = $2 WHERE id = ANY($1::uuid[])", [
      waiting.map((email) => email.id),
      retryAt,
    ]);
  }
}

function digestOf(emails: PendingEmail[]): { subject: string; text: string } {
  return {
    subject: `[Runlater] ${emails.length} alerts (digest: the hourly email limit was reached)`,
    text: [
      `${emails.length} alerts were held back because your organisation reached its hourly email limit:`,
      "",
      ...emails.map((email) => `--- ${email.createdAt.toISOString()}\n${email.text}\n`),
    ].join("\n"),
  };
}

async function sendOne(
  client: PoolClient,
  transport: Transporter,
  settings: EmailAlertSettings,
  emails: PendingEmail[],
  now: Date,
  pass: MailerPass,
): Promise<void> {
  const first = emails[0] as PendingEmail;
  const digest = emails.length > 1;
  const message = digest ? digestOf(emails) : { subject: `[Runlater] ${first.subject}`, text: first.text };
  const ids = emails.map((email) => email.id);
  try {
    await transport.sendMail({ from: settings.from, to: first.to, subject: message.subject, text: message.text });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const attempts = Math.max(...emails.map((email) => email.attempts)) + 1;
    const final = attempts >= EMAIL_MAX_ATTEMPTS;
    await client.query(
      `UPDATE notifications SET attempts = attempts + 1, error = $2, status = $3::notification_status,
         next_attempt_at = $4 WHERE id = ANY($1::uuid[])`,
      [ids, reason.slice(0, 1000), final ? "FAILED" : "PENDING", new Date(now.getTime() + 30_000 * 2 ** (attempts - 1))],
    );
    pass.failed += emails.length;
    return;
  }
  await client.query(
    `UPDATE notifications SET status = $2::notification_status, sent_at = $3, digest_id = $4, attempts = attempts + 1, error = NULL
     WHERE id = ANY($1::uuid[])`,
    [ids, digest ? "DIGESTED" : "SENT", now, digest ? uuidv7() : null],
  );
  if (digest) pass.digests++;
  else pass.sent++;
}
