/**
 * Serves the built dashboard (client/dist) at `/`: hashed files under
 * /assets/ with a year-long immutable cache, index.html with no-cache, and
 * index.html for any other page a browser asks for (the SPA's routes), so a
 * reload of /tasks/123 works. API paths never reach this: the front door
 * routes /graphql, /api/v1 and /health first.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** Compressing these is worth it; images and fonts are compressed already. */
const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt"]);

/**
 * The page itself may only load its own files and talk to its own origin
 * (HTTP and WebSocket); inline style attributes are allowed (the chart sets them).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

const IMMUTABLE = "public, max-age=31536000, immutable";

interface LoadedFile {
  body: Buffer;
  gzipped: Buffer | null;
  etag: string;
  contentType: string;
}

export interface DashboardRequest {
  method: string;
  pathname: string;
  headers: { accept?: string; "accept-encoding"?: string; "if-none-match"?: string };
}

/**
 * Answers dashboard requests from `directory`, or null when the request is not
 * the dashboard's (the caller then answers 404).
 */
export function createDashboardHandler(directory: string): (request: DashboardRequest) => Promise<Response | null> {
  const root = path.resolve(directory);
  // Hashed assets never change under a name, so each is read and compressed once.
  const assetCache = new Map<string, LoadedFile>();

  async function load(file: string): Promise<LoadedFile | null> {
    const cached = assetCache.get(file);
    if (cached) return cached;
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) return null;
      body = await readFile(file);
    } catch {
      return null;
    }
    const extension = path.extname(file);
    const loaded: LoadedFile = {
      body,
      gzipped: COMPRESSIBLE.has(extension) && body.length > 1024 ? gzipSync(body) : null,
      etag: `"${createHash("sha1").update(body).digest("base64url")}"`,
      contentType: CONTENT_TYPES[extension] ?? "application/octet-stream",
    };
    if (file.startsWith(path.join(root, "assets") + path.sep)) assetCache.set(file, loaded);
    return loaded;
  }

  function respond(request: DashboardRequest, file: LoadedFile, headers: Record<string, string>): Response {
    const common = { etag: file.etag, vary: "accept-encoding", "x-content-type-options": "nosniff", ...headers };
    if (request.headers["if-none-match"] === file.etag) return new Response(null, { status: 304, headers: common });
    const gzip = file.gzipped && /\bgzip\b/.test(request.headers["accept-encoding"] ?? "");
    const body = gzip ? file.gzipped! : file.body;
    return new Response(request.method === "HEAD" ? null : new Uint8Array(body), {
      status: 200,
      headers: {
        ...common,
        "content-type": file.contentType,
        "content-length": String(body.length),
        ...(gzip ? { "content-encoding": "gzip" } : {}),
      },
    });
  }

  return async (request) => {
    if (request.method !== "GET" && request.method !== "HEAD") return null;
    let relative: string;
    try {
      relative = decodeURIComponent(request.pathname);
    } catch {
      return null;
    }
    const file = path.resolve(root, `.${path.posix.normalize(relative)}`);
    // A path outside the directory (../) is never served.
    const inside = file === root || file.startsWith(root + path.sep);
    if (inside && file !== root && path.basename(file) !== "index.html") {
      const isAsset = file.startsWith(path.join(root, "assets") + path.sep);
      const loaded = await load(file);
      if (loaded) return respond(request, loaded, { "cache-control": isAsset ? IMMUTABLE : "no-cache" });
      // A missing hashed file is an old build's: a 404, not the page.
      if (isAsset) return null;
    }
    // Deep links are pages only for browsers (an API client gets the 404); the root is the dashboard for anyone.
    if (relative !== "/" && !(request.headers.accept ?? "").includes("text/html")) return null;
    const index = await load(path.join(root, "index.html"));
    if (!index) return dashboardNotBuilt(root);
    return respond(request, index, {
      "cache-control": "no-cache",
      "content-security-policy": CONTENT_SECURITY_POLICY,
      "referrer-policy": "same-origin",
      "x-frame-options": "DENY",
    });
  };
}

function dashboardNotBuilt(root: string): Response {
  const message =
    `The dashboard is not built: ${root} has no index.html. ` +
    "Run `npm run build:client` (npm install does it), or set RUNLATER_DASHBOARD_DIR to a built dashboard.";
  return new Response(`<!doctype html><title>Runlater</title><p>${message}</p><p>The API is up: /graphql, /api/v1.</p>`, {
    status: 503,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
  });
}
