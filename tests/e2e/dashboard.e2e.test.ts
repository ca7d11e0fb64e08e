/**
 * The dashboard against a real Runlater (server + worker, fresh database) in
 * headless Chromium: sign up on an empty installation, create an API key,
 * create a task from the form and watch its execution succeed live, read the
 * response body, pause a queue, log out. Screenshots of the main pages go to
 * tests/e2e/artifacts/.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RunningInstance } from "../../server/app.js";
import { type DashboardSession, openDashboard } from "../helpers/chromium.js";
import { eventually, graphql, rest } from "../helpers/runlater.js";
import { type Sink, startSink } from "../helpers/sink.js";

const artifacts = fileURLToPath(new URL("./artifacts/", import.meta.url));
const SINK_ANSWER = { received: true, invoice: { id: 42, lines: [{ sku: "A-1", quantity: 2 }] } };
const EMAIL = "ada@example.com";
const PASSWORD = "analytical-engine-1843";

let session: DashboardSession;
let instance: RunningInstance;
let sink: Sink;
let page: Page;
/** The API key the test creates in the dashboard; later steps use it to check what the page did. */
let apiKey = "";
let taskId = "";

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  session = await openDashboard();
  ({ instance, page } = session);
  // Slow enough to see the attempt RUNNING before it SUCCEEDS.
  sink = await startSink(() => ({
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(SINK_ANSWER),
    delayMs: 1500,
  }));
}, 300_000);

afterAll(async () => {
  await session?.close();
  await sink?.close();
});

// The viewport, not the full page: sticky sidebars and form footers would be drawn mid-page.
const screenshot = (name: string) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });

// What the page showed when a step failed: the first thing to look at in CI's artifacts.
afterEach(async (context) => {
  if (context.task.result?.state === "fail")
    await screenshot(`failed-${context.task.name.replace(/\W+/g, "-").slice(0, 60)}`).catch(() => {});
});

// Generous bounds: the machine running this may be busy; each step normally takes 1–8 s.
describe("dashboard end to end", { timeout: 60_000 }, () => {
  it("sends the first visitor of an empty installation to sign-up, and signs them in as its owner", async () => {
    await page.goto(instance.url!);
    await page.waitForURL(/\/signup$/);
    await page.getByRole("heading", { name: "Set up Runlater" }).waitFor();
    await screenshot("sign-up");
    await page.getByLabel("Name").fill("Ada Lovelace");
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/");
    expect(await page.locator(".user-identity").textContent()).toContain(EMAIL);
  });

  it("creates an API key and shows its secret once", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("button", { name: "Create API key" }).click();
    await page.getByLabel("Name").fill("e2e script");
    await page.getByRole("button", { name: "Create key" }).click();
    apiKey = (await page.getByTestId("api-key-secret").textContent()) ?? "";
    expect(apiKey.length).toBeGreaterThan(20);
    await screenshot("api-key-created");
    // The key works against the API, in the organisation the dashboard shows.
    const answer = await rest(instance, apiKey, "GET", "/tasks");
    expect(answer.status).toBe(200);
    await page.getByRole("button", { name: "I have stored it" }).click();
    await page.getByTestId("api-key-secret").waitFor({ state: "detached" });
    await page.locator("tr", { hasText: "e2e script" }).waitFor();
  });

  it("invites a teammate with a link shown once", async () => {
    await page.getByRole("link", { name: "Members" }).click();
    await page.locator("tr", { hasText: EMAIL }).waitFor();
    await page.getByRole("button", { name: "Invite" }).click();
    await page.getByLabel("Role").selectOption("ADMIN");
    await page.getByRole("button", { name: "Create invite link" }).click();
    const link = (await page.getByTestId("invite-url").textContent()) ?? "";
    expect(link).toMatch(new RegExp(`^${instance.url}/invite/\\S+$`));
    await page.getByRole("button", { name: "Done" }).click();
    await page.locator("tr", { hasText: "anyone with the link" }).waitFor();
    await screenshot("members");
  });

  it("creates a task from the form and shows its execution turn SUCCEEDED without a reload", async () => {
    await page.getByRole("link", { name: "Tasks", exact: true }).click();
    await page.getByText("No tasks yet").waitFor();
    await screenshot("tasks-empty");
    await page.locator(".sidebar").getByRole("link", { name: "New task" }).click();
    // The form's page loads as its own chunk: until it is there, the task list's search box ("… name or URL") is too.
    await page.waitForURL(/\/tasks\/new$/);
    await page.getByLabel("URL", { exact: true }).fill(`${sink.url}/invoices`);
    await page.getByLabel("Name optional").fill("Send invoice 42");
    await page.getByLabel("Queue optional").fill("billing");
    await page.getByLabel("Body optional").fill('{"invoiceId": 42}');
    await page.getByText("On a schedule").click();
    await page.getByLabel("Cron expression").fill("30 2 * * 1-5");
    await page.getByTestId("next-runs").locator("li").nth(4).waitFor();
    await screenshot("create-task-cron-preview");
    // A value only the server can judge: its refusal shows at the field it names.
    await page.getByText("After a delay").click();
    await page.getByLabel("Delay", { exact: true }).fill("whenever");
    await page.getByRole("button", { name: "Create task" }).click();
    const refusal = page.locator(".field-invalid", { has: page.getByLabel("Delay", { exact: true }) }).locator(".field-error");
    // Whatever the page shows first (the field's error, or an error above the form) says what happened.
    await page.locator(".field-invalid .field-error, .notice-danger").first().waitFor();
    expect(await refusal.count(), await page.locator(".notice-danger").allTextContents().then(String)).toBe(1);
    expect(await refusal.textContent()).toMatch(/delay|duration/i);
    expect(sink.requests).toEqual([]);
    await screenshot("create-task-refused");
    await page.getByText("Now", { exact: true }).click();
    // A marker that a reload would erase.
    await page.evaluate(() => Object.assign(window, { __sameDocument: true }));
    await page.getByRole("button", { name: "Create task" }).click();

    await page.waitForURL(/\/tasks\/[0-9a-f-]{36}$/);
    taskId = page.url().split("/").at(-1)!;
    await page.locator('.timeline-item[data-status="RUNNING"]').waitFor({ timeout: 15_000 });
    await page.locator('.timeline-item[data-status="SUCCEEDED"]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await page.locator('.page-header [data-status="SUCCEEDED"]').waitFor();
    expect(sink.requests.map((request) => [request.method, request.path, request.body])).toEqual([
      ["POST", "/invoices", '{"invoiceId":42}'],
    ]);
  });

  it("opens the attempt's response body, formatted as JSON", async () => {
    const attempt = page.locator('.timeline-item[data-status="SUCCEEDED"]');
    const summary = attempt.locator(".timeline-summary");
    if ((await summary.getAttribute("aria-expanded")) !== "true") await summary.click();
    const body = attempt.getByTestId("code-body");
    expect(await body.textContent()).toBe(JSON.stringify(SINK_ANSWER, null, 2));
    expect(await attempt.locator(".http-status").first().textContent()).toBe("200");
    await screenshot("task-detail");
  });

  it("lists the task with its live status", async () => {
    await page.getByRole("link", { name: "Tasks", exact: true }).click();
    const row = page.locator(`tr[data-task-id="${taskId}"]`);
    await row.locator('[data-status="SUCCEEDED"]').waitFor();
    await screenshot("tasks");
  });

  it("edits a task before it runs: the edited request is the one sent", async () => {
    const pushed = await rest(instance, apiKey, "POST", "/tasks", { url: `${sink.url}/draft`, delay: "1h", name: "Draft reminder" });
    await page.goto(`${instance.url}/tasks/${pushed.body.id}`);
    await page.getByRole("link", { name: "Edit", exact: true }).click();
    await page.getByLabel("URL", { exact: true }).fill(`${sink.url}/edited`);
    await page.getByText("Now", { exact: true }).click();
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(new RegExp(`/tasks/${pushed.body.id}$`));
    await page.locator('.timeline-item[data-status="SUCCEEDED"]').waitFor({ timeout: 15_000 });
    expect(sink.requests.map((request) => request.path)).toEqual(["/invoices", "/edited"]);
  });

  it("pauses a queue, and the queue stays paused on the server", async () => {
    await page.getByRole("link", { name: "Queues" }).click();
    const row = page.locator('tr[data-queue="billing"]');
    await row.getByRole("button", { name: "Pause" }).click();
    await row.locator('[data-status="PAUSED"]').waitFor();
    await row.getByRole("button", { name: "Resume" }).waitFor();
    const answer = await graphql<{ queue: { paused: boolean } }>(instance, apiKey, `{ queue(name: "billing") { paused } }`);
    expect(answer.data?.queue.paused).toBe(true);
    await screenshot("queues");
  });

  it("shows the overview with its chart and the failure inbox", async () => {
    await page.getByRole("link", { name: "Overview" }).click();
    await page.locator(".chart canvas").waitFor();
    await screenshot("overview");
    await page.getByRole("link", { name: "Failures" }).click();
    await page.getByText("No failures").waitFor();
    await screenshot("failures");
  });

  it("fits a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("button", { name: "Menu" }).click();
    await page.locator(".sidebar").getByRole("link", { name: "Tasks" }).click();
    await page.locator(`tr[data-task-id="${taskId}"]`).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot("tasks-phone");
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it("logs out: the session ends and the dashboard asks to log in again", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${instance.url}/tasks`);
    await page.waitForURL(/\/login\?next=%2Ftasks$/);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    const cookies = await page.context().cookies();
    expect(cookies.find((cookie) => cookie.name === "runlater_session")).toBeUndefined();
    await screenshot("log-in");
    // Logging back in returns to the page asked for.
    await page.getByLabel("Email").fill(EMAIL);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/tasks$/);
    await eventually(async () => (await page.locator(`tr[data-task-id="${taskId}"]`).count()) === 1);
  });
});
