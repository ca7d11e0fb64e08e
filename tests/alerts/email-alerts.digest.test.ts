/**
 * The hourly email allowance per organisation, against a real SMTP server on
 * loopback: alerts within it go out one by one; beyond it they wait and are
 * sent as one digest when the allowance has room again. The mailer's passes
 * are driven here with a pinned clock (the instance runs no worker).
 */
import nodemailer from "nodemailer";
import { v7 as uuidv7 } from "uuid";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { sendDueEmailAlerts } from "../../server/services/email-alerts.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { ALICE_KEY, createPersonas, rest, startTestInstance } from "../helpers/runlater.js";
import { type SmtpSink, startSmtpSink } from "../helpers/smtp-sink.js";

let database: TestDatabase;
let instance: RunningInstance;
let smtp: SmtpSink;

beforeAll(async () => {
  smtp = await startSmtpSink();
  database = await createTestDatabase();
  instance = await startTestInstance(database.url, { role: "server", env: { RUNLATER_SMTP_URL: smtp.url } });
});

afterAll(async () => {
  await instance?.stop();
  await database?.drop();
  await smtp?.close();
});

const HOUR = 3_600_000;

it("sends alerts one by one up to the hourly limit, then one digest, then holds the rest for the next hour", async () => {
  const channel = (
    await rest<{ id: string }>(instance, ALICE_KEY, "POST", "/alert-channels", { name: "ops", kind: "EMAIL", target: "ops@alice.test" })
  ).body;
  const raise = async (count: number) => {
    for (let index = 0; index < count; index++)
      expect((await rest(instance, ALICE_KEY, "POST", `/alert-channels/${channel.id}/test`)).status).toBe(201);
  };
  const transport = nodemailer.createTransport(smtp.url);
  const settings = { from: "Runlater <alerts@runlater.test>", emailsPerHour: 3 };
  const pool = instance.runtime.pool;
  // The mailer's clock runs a minute ahead, so alerts raised during the test are due whatever the machine's load.
  const start = new Date(Date.now() + 60_000);
  try {
    await raise(1);
    expect(await sendDueEmailAlerts(pool, transport, settings, start)).toEqual({ sent: 1, digests: 0, failed: 0 });
    await raise(4);
    // Two emails left in the hour: one alert on its own, the other three as one digest.
    expect(await sendDueEmailAlerts(pool, transport, settings, new Date(start.getTime() + 1000))).toEqual({
      sent: 1,
      digests: 1,
      failed: 0,
    });
    const emails = await smtp.waitForEmails(3);
    expect(emails.map((email) => email.subject)).toEqual([
      "[Runlater] Test alert from Runlater",
      "[Runlater] Test alert from Runlater",
      "[Runlater] 3 alerts (digest: the hourly email limit was reached)",
    ]);
    expect(emails[2]?.raw.match(/Test alert from Runlater/g)?.length).toBeGreaterThanOrEqual(3);

    // The allowance is spent: a new alert waits, however often the mailer looks.
    await raise(1);
    expect(await sendDueEmailAlerts(pool, transport, settings, new Date(start.getTime() + 2000))).toEqual({
      sent: 0,
      digests: 0,
      failed: 0,
    });
    expect(await sendDueEmailAlerts(pool, transport, settings, new Date(start.getTime() + 30 * 60_000))).toEqual({
      sent: 0,
      digests: 0,
      failed: 0,
    });
    const { body } = await rest<{ edges: Array<{ node: { status: string; digestId: string | null } }> }>(
      instance,
      ALICE_KEY,
      "GET",
      `/notifications?channelId=${channel.id}&first=10`,
    );
    expect(body.edges.map((edge) => edge.node.status)).toEqual(["PENDING", "DIGESTED", "DIGESTED", "DIGESTED", "SENT", "SENT"]);
    expect(new Set(body.edges.slice(1, 4).map((edge) => edge.node.digestId)).size).toBe(1);

    // Once the first email of the hour leaves the window, the waiting alert goes out.
    expect(await sendDueEmailAlerts(pool, transport, settings, new Date(start.getTime() + HOUR + 2000))).toEqual({
      sent: 1,
      digests: 0,
      failed: 0,
    });
    await smtp.waitForEmails(4);
  } finally {
    transport.close();
  }
});

it("retries an email the SMTP server refuses, then gives up as FAILED", async () => {
  const channel = (
    await rest<{ id: string }>(instance, ALICE_KEY, "POST", "/alert-channels", { name: "x", kind: "EMAIL", target: "x@alice.test" })
  ).body;
  await rest(instance, ALICE_KEY, "POST", `/alert-channels/${channel.id}/test`);
  const unreachable = nodemailer.createTransport("smtp://127.0.0.1:1");
  const settings = { from: "alerts@runlater.test", emailsPerHour: 1000 };
  let now = Date.now() + 10 * HOUR;
  for (let attempt = 1; attempt <= 5; attempt++) {
    expect((await sendDueEmailAlerts(instance.runtime.pool, unreachable, settings, new Date(now))).failed).toBe(1);
    now += 24 * HOUR;
  }
  const { body } = await rest<{ edges: Array<{ node: { status: string; attempts: number; error: string } }> }>(
    instance,
    ALICE_KEY,
    "GET",
    `/notifications?channelId=${channel.id}`,
  );
  expect(body.edges[0]?.node).toMatchObject({ status: "FAILED", attempts: 5 });
  expect(body.edges[0]?.node.error).toMatch(/ECONNREFUSED|connect/i);
});

it("sends every email once when two mailers run at once over the same organisations", async () => {
  const { alice, bob } = await createPersonas(database.url);
  const pool = instance.runtime.pool;
  const channelOf = async (organizationId: string) => {
    const id = uuidv7();
    await pool.query(
      "INSERT INTO alert_channels (id, organization_id, name, kind, target, is_default) VALUES ($1, $2, 'mail', 'EMAIL', $3, false)",
      [id, organizationId, `${organizationId}@example.test`],
    );
    return id;
  };
  const channels = {
    [alice.organizationId]: await channelOf(alice.organizationId),
    [bob.organizationId]: await channelOf(bob.organizationId),
  };
  const base = Date.now();
  const raise = (organizationId: string, subject: string, dueMsAgo: number) =>
    pool.query(
      `INSERT INTO notifications (id, organization_id, channel_id, event, subject, text, status, next_attempt_at, created_at)
       VALUES ($1, $2, $3, 'TEST', $4, $4, 'PENDING', $5, $5)`,
      [uuidv7(), organizationId, channels[organizationId], subject, new Date(base - dueMsAgo)],
    );
  // A slow SMTP server: the first mailer is still sending alice's email when the second claims the newer ones, bob's
  // first, so the two take the organisations in opposite orders (a deadlock when the locks were waited for).
  const sent: string[] = [];
  const slowTransport = {
    sendMail: async (message: { subject: string }) => {
      sent.push(message.subject);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return {};
    },
  } as unknown as Parameters<typeof sendDueEmailAlerts>[1];
  const settings = { from: "alerts@example.test", emailsPerHour: 10 };
  await raise(alice.organizationId, "alice 1", 10_000);
  await raise(bob.organizationId, "bob 1", 9_000);
  const first = sendDueEmailAlerts(pool, slowTransport, settings, new Date(base + 1000));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await raise(bob.organizationId, "bob 2", 8_000);
  await raise(alice.organizationId, "alice 2", 7_000);
  await Promise.all([first, sendDueEmailAlerts(pool, slowTransport, settings, new Date(base + 1000))]);
  // What a busy organisation left waiting goes out in the next pass.
  await sendDueEmailAlerts(pool, slowTransport, settings, new Date(base + 2000));

  expect(sent.map((subject) => subject.replace("[Runlater] ", "")).sort()).toEqual(["alice 1", "alice 2", "bob 1", "bob 2"]);
  const { rows } = await pool.query<{ status: string }>(
    "SELECT DISTINCT status FROM notifications WHERE organization_id = ANY($1::uuid[]) AND subject LIKE '% _'",
    [[alice.organizationId, bob.organizationId]],
  );
  expect(rows).toEqual([{ status: "SENT" }]);
});
