import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { ALICE_KEY, useTestInstance } from "../helpers/runlater.js";

// A stand-in build: what `vite build` writes (index.html + hashed assets), small enough to read in assertions.
const dashboardDir = mkdtempSync(path.join(tmpdir(), "runlater-dashboard-"));
const INDEX = '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body></body></html>';
const SCRIPT = `console.log(${JSON.stringify("x".repeat(4000))});`;
mkdirSync(path.join(dashboardDir, "assets"));
writeFileSync(path.join(dashboardDir, "index.html"), INDEX);
writeFileSync(path.join(dashboardDir, "assets", "index-abc123.js"), SCRIPT);
writeFileSync(path.join(dashboardDir, "robots.txt"), "User-agent: *\nDisallow: /\n");
// A file next to the directory: a path with ../ must never reach it.
const outsideFile = `${dashboardDir}-secret.txt`;
writeFileSync(outsideFile, "outside");

const runlater = useTestInstance({ role: "server", env: { RUNLATER_DASHBOARD_DIR: dashboardDir } });
afterAll(() => {
  rmSync(dashboardDir, { recursive: true, force: true });
  rmSync(outsideFile, { force: true });
});

const page = (pathname: string, headers: Record<string, string> = { accept: "text/html,application/xhtml+xml" }) =>
  fetch(`${runlater.instance.url}${pathname}`, { headers });

describe("serving the dashboard", () => {
  it("answers index.html at / and at any page route, never cached, with a content security policy", async () => {
    for (const pathname of ["/", "/tasks", "/tasks/0190a0b0-0000-7000-8000-000000000000", "/settings/api-keys"]) {
      const response = await page(pathname);
      expect(response.status, pathname).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(await response.text()).toBe(INDEX);
    }
  });

  it("serves hashed assets with a year-long immutable cache, gzipped when the browser accepts it", async () => {
    const plain = await page("/assets/index-abc123.js", { accept: "*/*" });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await plain.text()).toBe(SCRIPT);

    // fetch() decodes gzip by itself; read the raw bytes through a request that asks for it explicitly.
    const { request } = await import("node:http");
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      request(`${runlater.instance.url}/assets/index-abc123.js`, { headers: { "accept-encoding": "gzip" } }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ encoding: response.headers["content-encoding"], body: Buffer.concat(chunks) }));
      })
        .on("error", reject)
        .end();
    });
    expect(raw.encoding).toBe("gzip");
    expect(gunzipSync(raw.body).toString()).toBe(SCRIPT);
  });

  it("answers 304 when the browser already has the file", async () => {
    const first = await page("/");
    const etag = first.headers.get("etag")!;
    expect(etag).toBeTruthy();
    const again = await page("/", { accept: "text/html", "if-none-match": etag });
    expect(again.status).toBe(304);
  });

  it("serves the root page whatever the client accepts (curl localhost:4000 shows the dashboard)", async () => {
    const root = await page("/", { accept: "*/*" });
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toContain("text/html");
  });

  it("answers 404 for a missing asset, for non-HTML requests to unknown paths, and outside the directory", async () => {
    expect((await page("/assets/index-old999.js", { accept: "*/*" })).status).toBe(404);
    const unknown = await page("/nothing-here", { accept: "application/json" });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
    const escaped = await page(`/..%2f${path.basename(outsideFile)}`, { accept: "*/*" });
    expect(escaped.status).toBe(404);
    expect(await escaped.text()).not.toContain("outside");
  });

  it("serves other files of the build (robots.txt) revalidated on every use", async () => {
    const robots = await page("/robots.txt", { accept: "*/*" });
    expect(robots.status).toBe(200);
    expect(robots.headers.get("cache-control")).toBe("no-cache");
  });

  it("leaves the API, GraphiQL and /health to the server", async () => {
    const rest = await fetch(`${runlater.instance.url}/api/v1/tasks`, {
      headers: { accept: "text/html", authorization: `Bearer ${ALICE_KEY}` },
    });
    expect(rest.headers.get("content-type")).toContain("application/json");
    const health = await page("/health");
    expect(await health.json()).toEqual({ status: "ok" });
    const graphiql = await page("/graphql");
    expect(await graphiql.text()).not.toBe(INDEX);
  });
});
