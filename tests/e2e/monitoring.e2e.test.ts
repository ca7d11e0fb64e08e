/**
 * The endpoint, monitor and alert channel pages against a real Runlater
 * (server + worker, fresh database) in headless Chromium: create an endpoint
 * from the form, watch a webhook posted to it appear without a reload, read
 * its body formatted as JSON and replay it; create a monitor, ping it and see
 * it go UP live with its ping timeline and duration chart, pause it; add a
 * webhook alert channel, send it a test, delete it. Screenshots go to
 * tests/e2e/artifacts/.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { type DashboardSession, openDashboard } from "../helpers/chromium.js";
import { type Sink, startSink } from "../helpers/sink.js";

const artifacts = fileURLToPath(new URL("./artifacts/", import.meta.url));
const WEBHOOK = { type: "invoice.paid", data: { amount: 4200, currency: "eur" } };

let session: DashboardSession;
let instance: RunningInstance;
let sink: Sink;
let page: Page;
/** The pages the tests created, for the phone-width check. */
const created: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  session = await openDashboard();
  ({ instance, page } = session);
  sink = await startSink();
  // The first visitor of an empty installation signs up as its owner.
  await page.goto(instance.url!);
  await page.waitForURL(/\/signup$/);
  await page.getByLabel("Name", { exact: true }).fill("Grace Hopper");
  await page.getByLabel("Email").fill("grace@example.com");
  await page.getByLabel("Password").fill("compiler-a0-1952");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
}, 300_000);

afterAll(async () => {
  await session?.close();
  await sink?.close();
});

const screenshot = (name: string) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });
const openFromSidebar = (name: string) => page.locator(".sidebar").getByRole("link", { name, exact: true }).click();
/** Set before a step; still set after it only if the page was never reloaded. */
const markDocument = () => page.evaluate(() => Object.assign(window, { __sameDocument: true }));
const sameDocument = () => page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);

describe("endpoints", () => {
  it("creates an endpoint from the form, shows a webhook posted to it live, formats its body and replays it", async () => {
    await openFromSidebar("Endpoints");
    await page.getByText("No endpoints yet").waitFor();
    await page.locator(".page-header").getByRole("button", { name: "New endpoint" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Stripe");
    await page.getByLabel("Destination 1", { exact: true }).fill(`${sink.url}/stripe`);
    await screenshot("endpoint-create");
    await page.getByRole("button", { name: "Create endpoint" }).click();
    await page.waitForURL(/\/endpoints\/[0-9a-f-]{36}$/);
    created.push(page.url());
    await page.getByText("No events yet").waitFor();
    const url = (await page.getByTestId("endpoint-url").textContent()) ?? "";
    expect(url).toMatch(new RegExp(`^${instance.url}/in/\\S+$`));

    await markDocument();
    const received = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(WEBHOOK) });
    expect(received.status).toBe(202);
    const { id } = (await received.json()) as { id: string };
    await page.locator(`.event-row[data-event-id="${id}"]`).waitFor();
    expect(await sameDocument()).toBe(true);
    // The newest event opens by itself: its headers, and its body as formatted JSON.
    const detail = page.locator(".event-detail");
    expect(await detail.getByTestId("code-body").textContent()).toBe(JSON.stringify(WEBHOOK, null, 2));
    await detail.locator(".header-list", { hasText: "content-type" }).waitFor();
    // The forward's status follows its task live.
    await detail.locator(`tr[data-destination="${sink.url}/stripe"] [data-status="SUCCEEDED"]`).waitFor();
    await sink.waitForRequests(1);
    await screenshot("endpoint-events");

    await detail.getByRole("button", { name: "Replay to all" }).click();
    await page.getByText("Replayed to 1 destination").waitFor();
    await detail.locator(".tag", { hasText: "replay" }).waitFor();
    const forwards = await sink.waitForRequests(2);
    expect(forwards.map((request) => [request.path, request.body])).toEqual([
      ["/stripe", JSON.stringify(WEBHOOK)],
      ["/stripe", JSON.stringify(WEBHOOK)],
    ]);
  });
});

describe("monitors", () => {
  it("creates a monitor, shows its ping URL, goes UP live with its ping timeline and duration chart, and pauses", async () => {
    await openFromSidebar("Monitors");
    await page.getByText("No monitors yet").waitFor();
    await page.locator(".page-header").getByRole("button", { name: "New monitor" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Nightly backup");
    await page.getByRole("radio", { name: "Cron schedule" }).check({ force: true });
    await page.getByLabel("Cron expression").fill("0 3 * * *");
    await page.getByTestId("next-runs").locator("li").nth(4).waitFor();
    await page.getByLabel("Grace period", { exact: true }).fill("30");
    await page.getByLabel("Grace period unit").selectOption("60");
    await screenshot("monitor-create");
    await page.getByRole("button", { name: "Create monitor" }).click();
    await page.waitForURL(/\/monitors\/[0-9a-f-]{36}$/);
    created.push(page.url());
    await page.locator('.page-header [data-status="NEW"]').waitFor();
    await page.getByText("No pings yet").waitFor();
    const pingUrl = (await page.getByTestId("ping-url").textContent()) ?? "";
    expect(pingUrl).toMatch(new RegExp(`^${instance.url}/ping/\\S+$`));

    await markDocument();
    expect((await fetch(`${pingUrl}/start`)).status).toBe(200);
    await page.locator('.timeline-item[data-ping-kind="START"]').waitFor();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetch(pingUrl, { method: "POST", body: "backup: 12 GiB in 0.3 s" })).status).toBe(200);
    await page.locator('.page-header [data-status="UP"]').waitFor();
    await page.locator('.timeline-item[data-ping-kind="SUCCESS"]').waitFor();
    expect(await page.locator(".timeline-item").count()).toBe(2);
    expect(await page.getByTestId("duration-chart").locator("rect").count()).toBe(1);
    expect(await sameDocument()).toBe(true);
    // The finishing ping's body is the run's log.
    await page.locator('.timeline-item[data-ping-kind="SUCCESS"] .timeline-summary').click();
    expect(await page.locator('.timeline-item[data-ping-kind="SUCCESS"]').getByTestId("code-body").textContent()).toBe(
      "backup: 12 GiB in 0.3 s",
    );
    await screenshot("monitor-detail");

    await page.locator(".page-header").getByRole("button", { name: "Pause" }).click();
    await page.locator('.page-header [data-status="PAUSED"]').waitFor();
    await openFromSidebar("Monitors");
    await page.locator("tr", { hasText: "Nightly backup" }).locator('[data-status="PAUSED"]').waitFor();
    await screenshot("monitors");
  });
});

describe("alert channels", () => {
  it("adds a webhook channel, sends it a test through the real delivery path, and deletes it", async () => {
    await openFromSidebar("Alerts");
    await page.getByText("No alert channels yet").waitFor();
    await page.locator(".page-header").getByRole("button", { name: "New channel" }).click();
    await page.getByLabel("Name", { exact: true }).fill("#ops");
    await page.getByLabel("Kind").selectOption("WEBHOOK");
    await page.getByLabel("URL (a signed JSON POST)").fill(`${sink.url}/alerts`);
    await page.getByRole("button", { name: "Add channel" }).click();
    const row = page.locator("tr", { hasText: "#ops" });
    await row.waitFor();
    const before = sink.requests.length;
    await row.getByRole("button", { name: "Send test" }).click();
    await page.getByText("Test sent to #ops").waitFor();
    const requests = await sink.waitForRequests(before + 1);
    expect(requests.at(-1)?.path).toBe("/alerts");
    expect(requests.at(-1)?.headers["runlater-signature"]).toBeTruthy();
    await screenshot("alert-channels");

    await row.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete channel" }).click();
    await page.getByText("No alert channels yet").waitFor();
  });
});

describe("on a phone", () => {
  it("fits the endpoint's events and the monitor's page to a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [index, url] of created.entries()) {
      await page.goto(url);
      await page.locator(".page-header h1").waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, url).toBeLessThanOrEqual(0);
      await screenshot(`phone-${index === 0 ? "endpoint" : "monitor"}`);
    }
    expect(created).toHaveLength(2);
    await page.setViewportSize({ width: 1360, height: 900 });
  });
});
