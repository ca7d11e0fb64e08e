/**
 * The public status page and badges over real HTTP: server-rendered HTML with
 * escaped names, states and 90-day bars, cache headers, SVG badges; private
 * (unpublished) resources answer 404; bob cannot publish or see alice's.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createPersonas, graphql, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();
let alice: Persona;
let bob: Persona;

beforeAll(async () => {
  ({ alice, bob } = await createPersonas(context.database.url));
});

interface Published {
  badgeToken: string;
  statusBadgeUrl: string;
  uptimeBadgeUrl: string;
  showOnStatusPage: boolean;
}

const get = (path: string, init: RequestInit = {}) => fetch(`${context.instance.url}${path}`, init);

async function monitor(persona: Persona, name: string): Promise<{ id: string; token: string }> {
  const created = await rest<{ id: string; token: string }>(context.instance, persona.apiKey, "POST", "/monitors", {
    name,
    intervalSeconds: 3600,
  });
  expect(created.status).toBe(201);
  return created.body;
}

async function publish(persona: Persona, type: string, id: string, fields: Record<string, unknown> = {}): Promise<Published> {
  const answer = await rest<Published>(context.instance, persona.apiKey, "PUT", `/public-resources/${type}/${id}`, fields);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

describe("status page", () => {
  it("renders the published resources with their state and 90 daily bars, escaped and cacheable, without JavaScript", async () => {
    const page = await rest<{ url: string; slug: string }>(context.instance, alice.apiKey, "PUT", "/status-page", {
      slug: "alice-co",
      title: "Alice & Co <status>",
      description: "Our systems",
    });
    expect(page.status).toBe(200);
    expect(page.body.url).toMatch(/\/status\/alice-co$/);

    const api = await monitor(alice, "API <script>alert(1)</script>");
    await get(`/ping/${api.token}`);
    const cron = await monitor(alice, "Nightly job");
    await get(`/ping/${cron.token}`);
    await get(`/ping/${cron.token}/fail`);
    const secret = await monitor(alice, "Secret internal thing");
    await get(`/ping/${secret.token}`);
    const endpoint = (
      await rest<{ id: string }>(context.instance, alice.apiKey, "POST", "/endpoints", { name: "Stripe webhooks", forwardUrls: [] })
    ).body;
    await publish(alice, "MONITOR", api.id, { position: 1 });
    await publish(alice, "MONITOR", cron.id, { position: 2, displayName: "Nightly export" });
    await publish(alice, "ENDPOINT", endpoint.id, { position: 3 });

    const answer = await get("/status/alice-co");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(answer.headers.get("cache-control")).toMatch(/public, max-age=\d+/);
    const html = await answer.text();
    expect(html).toContain("<title>Alice &amp; Co &lt;status&gt; status</title>");
    expect(html).toContain("API &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("Nightly export");
    expect(html).not.toContain("Nightly job");
    expect(html).toContain("Stripe webhooks");
    expect(html).not.toContain("Secret internal thing");
    expect(html).toContain("Some systems are down");
    expect(html.match(/class="resource"/g)).toHaveLength(3);
    expect(html.match(/class="bar /g)).toHaveLength(270);
    expect(html.match(/100% uptime/g)?.length).toBeGreaterThanOrEqual(2);
    // Order follows position.
    expect(html.indexOf("API &lt;script")).toBeLessThan(html.indexOf("Nightly export"));
    expect(html.indexOf("Nightly export")).toBeLessThan(html.indexOf("Stripe webhooks"));
    expect((await get("/status/alice-co", { method: "HEAD" })).status).toBe(200);
    expect((await get("/status/nobody-here")).status).toBe(404);
  });

  it("keeps slugs unique and valid, naming the field", async () => {
    const taken = await rest<{ error: { code: string; field: string } }>(context.instance, bob.apiKey, "PUT", "/status-page", {
      slug: "alice-co",
      title: "Bob",
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.field).toBe("slug");
    const invalid = await rest<{ error: { field: string } }>(context.instance, bob.apiKey, "PUT", "/status-page", {
      slug: "Bad Slug!",
      title: "Bob",
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.field).toBe("slug");
    expect((await rest(context.instance, bob.apiKey, "GET", "/status-page")).body).toBeNull();
  });
});

describe("publishing", () => {
  it("changes only the fields given, and never shows an unnamed task by its URL", async () => {
    // A task without a name, whose URL carries a secret and names a private host.
    const secretUrl = `${context.sink.url}/hook?api_key=SECRET123`;
    const task = (await rest<{ id: string }>(context.instance, bob.apiKey, "POST", "/tasks", { url: secretUrl, delay: "1h" })).body;
    await rest(context.instance, bob.apiKey, "PUT", "/status-page", { slug: "bob-status", title: "Bob" });
    const named = await publish(bob, "TASK", task.id, { displayName: "Nightly job", position: 1 });
    expect(named).toMatchObject({ displayName: "Nightly job", position: 1 });

    // Moving it keeps its public name.
    expect(await publish(bob, "TASK", task.id, { position: 2 })).toMatchObject({ displayName: "Nightly job", position: 2 });
    const page = await (await get("/status/bob-status")).text();
    expect(page).toContain("Nightly job");

    // Back to its own name (GraphQL: REST's body schema has no null), which it does not have: a neutral label, not the URL.
    const cleared = await graphql<{ publishResource: { displayName: string | null; position: number } }>(
      context.instance,
      bob.apiKey,
      "mutation ($id: ID!) { publishResource(resourceType: TASK, resourceId: $id, displayName: null) { displayName position } }",
      { id: task.id },
    );
    expect(cleared.data?.publishResource).toEqual({ displayName: null, position: 2 });
    const unnamed = await (await get("/status/bob-status")).text();
    expect(unnamed).toContain("Unnamed task");
    expect(unnamed).not.toContain("SECRET123");
    const badge = await (await get(`/badge/${named.badgeToken}/status.svg`)).text();
    expect(badge).toContain('aria-label="Unnamed task: up"');
    expect(badge).not.toContain("SECRET123");
  });
});

describe("badges", () => {
  it("serve SVG for published resources and 404 for private ones", async () => {
    const job = await monitor(alice, "backup");
    expect((await get(`/badge/${"x".repeat(22)}/status.svg`)).status).toBe(404);
    const published = await publish(alice, "MONITOR", job.id, { showOnStatusPage: false });
    expect(published.statusBadgeUrl).toMatch(new RegExp(`/badge/${published.badgeToken}/status.svg$`));

    const fresh = await get(`/badge/${published.badgeToken}/status.svg`);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    expect(fresh.headers.get("cache-control")).toMatch(/public, max-age=\d+/);
    expect(await fresh.text()).toContain('aria-label="backup: new"');

    await get(`/ping/${job.token}`);
    expect(await (await get(`/badge/${published.badgeToken}/status.svg`)).text()).toContain('aria-label="backup: up"');
    await get(`/ping/${job.token}/fail`);
    const down = await (await get(`/badge/${published.badgeToken}/status.svg`)).text();
    expect(down).toContain('aria-label="backup: down"');
    expect(down).toContain("#e05d44");
    const uptime = await (await get(`/badge/${published.badgeToken}/uptime.svg`)).text();
    expect(uptime).toMatch(/aria-label="backup uptime: \d+(\.\d\d)?%"/);

    // A task badge: tasks are up until a run fails for good.
    const task = (await rest<{ id: string }>(context.instance, alice.apiKey, "POST", "/tasks", { url: context.sink.url, name: "sync" }))
      .body;
    const taskBadge = await publish(alice, "TASK", task.id);
    expect(await (await get(`/badge/${taskBadge.badgeToken}/status.svg`)).text()).toContain('aria-label="sync: up"');

    const unpublished = await rest(context.instance, alice.apiKey, "DELETE", `/public-resources/MONITOR/${job.id}`);
    expect(unpublished.status).toBe(200);
    expect((await get(`/badge/${published.badgeToken}/status.svg`)).status).toBe(404);
    expect((await get(`/badge/${published.badgeToken}/uptime.svg`)).status).toBe(404);
    expect((await get(`/badge/${taskBadge.badgeToken}/other.svg`)).status).toBe(404);
  });
});

describe("isolation", () => {
  it("bob can neither publish nor unpublish alice's resources, nor see her public list", async () => {
    const job = await monitor(alice, "alice's job");
    expect((await rest(context.instance, bob.apiKey, "PUT", `/public-resources/MONITOR/${job.id}`, {})).status).toBe(404);
    await publish(alice, "MONITOR", job.id);
    expect((await rest(context.instance, bob.apiKey, "DELETE", `/public-resources/MONITOR/${job.id}`)).status).toBe(404);
    const bobList = await rest<Array<{ resourceId: string }>>(context.instance, bob.apiKey, "GET", "/public-resources");
    expect(bobList.body.map((resource) => resource.resourceId)).not.toContain(job.id);
    const aliceList = await rest<Array<{ resourceId: string }>>(context.instance, alice.apiKey, "GET", "/public-resources");
    expect(aliceList.body.map((resource) => resource.resourceId)).toContain(job.id);
    expect((await rest(context.instance, null, "GET", "/public-resources")).status).toBe(401);
  });
});
