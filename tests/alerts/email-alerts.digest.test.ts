/**
 * The hourly email allowance per organisation, against a real SMTP server on
 * loopback: alerts within it go out one by one; beyond it they wait and are
 * sent as one digest when the allowance has room again. The mailer's passes
 * are driven here with a pinned clock (the instance runs no worker).
 */
import nodemailer from "nodemailer";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { sendDueEmailAlerts } from "../../server/services/email-alerts.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { ALICE_KEY, rest, startTestInstance } from "../helpers/runlater.js";
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
