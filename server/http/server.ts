/**
 * The HTTP front door: /health, then authentication and body limits for the
 * API, then Yoga (GraphQL at /graphql, REST at /api/v1); WebSocket upgrades at
 * /graphql go to graphql-ws (subscriptions.ts). Everything below it is
 * transport-agnostic.
 */
import http from "node:http";
import { DomainError } from "../errors.js";
import type { LiveEventHub } from "../realtime/live-event-hub.js";
import type { Services } from "../runtime.js";
import { authenticate } from "./authenticate.js";
import { clientAddressOf } from "./client-address.js";
import { createDashboardHandler } from "./dashboard.js";
import { errorBody, jsonResponse } from "./errors.js";
import { publicRouteFor } from "./public-routes.js";
import { OPENAPI_PATH, REST_BASE_PATH, SWAGGER_UI_PATH } from "./rest.js";
import { createRestBodyValidator, type RestBodyValidator } from "./rest-validation.js";
import { CSRF_COOKIE, CSRF_HEADER, clearedSessionCookies, isValidCsrfToken, sessionCookies } from "./session-cookies.js";
import { attachGraphQLWebSocket, liveConnection, liveEventStream } from "./subscriptions.js";
import { createGraphQLServer, GRAPHQL_PATH, type ServerContext } from "./yoga.js";

/** Largest API request body; a task body alone may be 256 KiB, plus JSON escaping and other fields. */
export const MAX_API_REQUEST_BYTES = 1024 * 1024;
/** A batch holds up to 1,000 tasks. */
export const MAX_BATCH_REQUEST_BYTES = 32 * 1024 * 1024;
const BATCH_PATH = `${REST_BASE_PATH}/tasks/batch`;
const HEALTH_TIMEOUT_MS = 2000;
/** Methods that change nothing, so need no CSRF token (GraphQL over GET runs queries only). */
const SAFE_METHODS = new Set(["GET", "HEAD"]);
const SOFA_WEBHOOK_PATH = `${REST_BASE_PATH}/webhook`;

class RequestTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** Batches (REST, or pushTasks over GraphQL) may carry up to 1,000 task bodies; other requests one. */
function bodyLimitFor(url: URL): number {
  return url.pathname === BATCH_PATH || url.pathname === GRAPHQL_PATH ? MAX_BATCH_REQUEST_BYTES : MAX_API_REQUEST_BYTES;
}

/** With `live`, GraphQL subscriptions are served over WebSocket at /graphql too. */
export function createHttpServer(services: Services, options: { live?: LiveEventHub } = {}): http.Server {
  const live = options.live ?? null;
  const yoga = createGraphQLServer({ logger: services.logger, isProduction: services.config.isProduction }, services, live);
  const serveDashboard = createDashboardHandler(services.config.dashboardDir);

  let restBodyValidator: Promise<RestBodyValidator> | null = null;
  /** Built from the served OpenAPI document once (about half a second of SOFA and Ajv work); a failed build is forgotten. */
  function loadRestBodyValidator(): Promise<RestBodyValidator> {
    if (restBodyValidator) return restBodyValidator;
    const building = Promise.resolve(yoga.fetch(`http://runlater.local${OPENAPI_PATH}`)).then(async (response) =>
      createRestBodyValidator(await response.json(), REST_BASE_PATH),
    );
    restBodyValidator = building;
    building.catch(() => {
      if (restBodyValidator === building) restBodyValidator = null;
    });
    return building;
  }
  /** Checks the body read from the socket (`bytes`), so the Request's own body stream is not cloned and read twice. */
  async function validateRestBody(request: Request, url: URL, bytes: Buffer | null): Promise<void> {
    if (!["POST", "PUT", "PATCH"].includes(request.method)) return;
    if (!bytes || bytes.length === 0) return;
    let body: unknown;
    try {
      body = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw new DomainError("BAD_REQUEST", "the request body is not valid JSON");
    }
    (await loadRestBodyValidator())(request.method, url.pathname, body);
  }

  async function handle(request: http.IncomingMessage): Promise<Response> {
    const url = new URL(request.url ?? "/", "http://runlater.local");
    if (url.pathname === "/health") return checkHealth(services);
    // Inbound webhooks, pings, status pages and badges: no API key, their own body limits (public-routes.ts).
    const publicRoute = publicRouteFor(url.pathname);
    if (publicRoute) return publicRoute(services, request, url);
    const isGraphQL = url.pathname === GRAPHQL_PATH;
    const isRest = url.pathname === REST_BASE_PATH || url.pathname.startsWith(`${REST_BASE_PATH}/`);
    // SOFA also mounts webhook subscriptions (/webhook): the server would POST events to any URL a caller names,
    // held in memory only. Live updates are served over WebSocket instead.
    const isSofaWebhook = url.pathname === SOFA_WEBHOOK_PATH || url.pathname.startsWith(`${SOFA_WEBHOOK_PATH}/`);
    if (isSofaWebhook) return jsonResponse(404, errorBody("NOT_FOUND", `no route for ${request.method} ${url.pathname}`));
    if (!isGraphQL && !isRest) {
      const page = await serveDashboard({ method: request.method ?? "GET", pathname: url.pathname, headers: request.headers });
      return page ?? jsonResponse(404, errorBody("NOT_FOUND", `no route for ${request.method} ${url.pathname}`));
    }

    const body = await readBody(request, bodyLimitFor(url));
    const fetchRequest = toFetchRequest(yoga.fetchAPI.Request, request, url, body);
    const clientAddress = clientAddressOf(request, services.config.trustProxy);
    if (isPublicApiPage(fetchRequest, url)) {
      return yoga.handleRequest(fetchRequest, { principal: null, clientAddress, responseCookies: [] });
    }

    const authentication = await authenticate(services, {
      authorization: request.headers.authorization,
      cookie: request.headers.cookie,
    });
    // Anonymous GraphQL requests go on: signUp, logIn, setupStatus and viewer are public, every other field refuses them.
    if (authentication.outcome === "rejected" || (authentication.outcome === "anonymous" && !isGraphQL)) {
      const message =
        authentication.outcome === "rejected"
          ? authentication.message
          : "missing API key: send it as the header `Authorization: Bearer <key>` (or sign in for a session cookie)";
      return isGraphQL
        ? jsonResponse(401, { errors: [{ message, extensions: { code: "UNAUTHENTICATED" } }] }, { "www-authenticate": "Bearer" })
        : jsonResponse(401, errorBody("UNAUTHENTICATED", message), { "www-authenticate": "Bearer" });
    }
    const principal = authentication.outcome === "authenticated" ? authentication.principal : null;
    const session = authentication.outcome === "authenticated" ? authentication.session : undefined;
    if (session && !SAFE_METHODS.has(request.method ?? "GET") && !isValidCsrfToken(session.token, fetchRequest.headers.get(CSRF_HEADER))) {
      const message = `a request authenticated by the session cookie needs the header \`X-CSRF-Token\` with the value of the \`${CSRF_COOKIE}\` cookie`;
      return isGraphQL
        ? jsonResponse(403, { errors: [{ message, extensions: { code: "CSRF" } }] })
        : jsonResponse(403, errorBody("CSRF", message));
    }
    if (isRest) {
      try {
        await validateRestBody(fetchRequest, url, body);
      } catch (error) {
        if (error instanceof DomainError) return jsonResponse(error.status, errorBody(error.code, error.message, error.field));
        throw error;
      }
    }
    const context: ServerContext = { principal, clientAddress, responseCookies: [] };
    let answer = await yoga.handleRequest(fetchRequest, context);
    if (live && principal && /^text\/event-stream/.test(answer.headers.get("content-type") ?? "")) {
      const credentials = { authorization: request.headers.authorization, cookie: request.headers.cookie };
      answer = liveEventStream(answer, live, (close) => liveConnection(services, credentials, principal, close));
    }
    // A session that slid forward gets its cookies again with the new lifetime; a dead one has them removed.
    const secure = services.config.isProduction;
    const cookies = context.responseCookies.length
      ? context.responseCookies
      : session?.refreshedUntil
        ? sessionCookies(session.token, session.refreshedUntil, secure)
        : authentication.outcome === "anonymous" && authentication.staleSession
          ? clearedSessionCookies(secure)
          : [];
    return withCookies(answer, cookies);
  }

  const server = http.createServer((request, response) => {
    handle(request)
      .catch((error: unknown) => {
        if (error instanceof RequestTooLarge) {
          return jsonResponse(413, errorBody("PAYLOAD_TOO_LARGE", error.message));
        }
        services.logger.error({ err: error, url: request.url }, "request failed unexpectedly");
        return jsonResponse(500, errorBody("INTERNAL", "internal error"));
      })
      .then((answer) => writeResponse(answer, response))
      .catch((error: unknown) => {
        services.logger.warn({ err: error }, "could not write response");
        response.destroy();
      });
  });
  server.keepAliveTimeout = 65_000;
  // Built as soon as the server listens rather than by the first REST request, which would wait for it. After a
  // failure each REST request with a body tries again (answering 500 while it fails).
  server.once("listening", () => {
    loadRestBodyValidator().catch((error: unknown) => {
      services.logger.warn({ err: error }, "could not build the REST body validator; the next REST request will try again");
    });
  });
  if (live) attachGraphQLWebSocket(server, yoga, services, live);
  return server;
}

/** GraphiQL, the OpenAPI document and Swagger UI need no key: they only describe the API. */
function isPublicApiPage(request: Request, url: URL): boolean {
  if (request.method !== "GET") return false;
  if (url.pathname === OPENAPI_PATH || url.pathname.startsWith(SWAGGER_UI_PATH)) return true;
  return url.pathname === GRAPHQL_PATH && (request.headers.get("accept") ?? "").includes("text/html");
}

function withCookies(answer: Response, cookies: string[]): Response {
  if (!cookies.length) return answer;
  const headers = new Headers(answer.headers);
  for (const value of cookies) headers.append("set-cookie", value);
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers });
}

async function checkHealth(services: Services): Promise<Response> {
  try {
    await Promise.race([
      services.pool.query("SELECT 1"),
      new Promise((_, reject) => setTimeout(() => reject(new Error("database health check timed out")), HEALTH_TIMEOUT_MS).unref()),
    ]);
    return jsonResponse(200, { status: "ok" });
  } catch (error) {
    return jsonResponse(503, { status: "unavailable", error: error instanceof Error ? error.message : String(error) });
  }
}

async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | null> {
  if (request.method === "GET" || request.method === "HEAD") return null;
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > limit) {
    request.resume();
    throw new RequestTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestTooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The Fetch API request Yoga handles, built with Yoga's own Request class: it
 * takes Node's header object and the body's bytes as they are, where Node's
 * global Request copies the headers and wraps the body in a web stream (a
 * tenth of the server's time per push, measured).
 */
function toFetchRequest(RequestClass: typeof Request, request: http.IncomingMessage, url: URL, body: Buffer | null): Request {
  return new RequestClass(url, {
    method: request.method,
    headers: request.headers as Record<string, string>,
    body: body && body.length > 0 ? new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.length) : null,
  });
}

async function writeResponse(answer: Response, response: http.ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  answer.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = answer.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;
  // A JSON answer goes out in one write (headers and body, with a length): a write per chunk plus the chunked
  // encoding's end costs a system call each. Streams (server-sent events, files) are written as they come.
  if (answer.body && /json/.test(answer.headers.get("content-type") ?? "")) {
    const body = Buffer.from(await answer.arrayBuffer());
    headers["content-length"] = String(body.length);
    response.writeHead(answer.status, headers);
    response.end(body);
    return;
  }
  response.writeHead(answer.status, headers);
  if (answer.body) {
    // A client that goes away cancels the stream: a subscription over server-sent events would otherwise run (and
    // write into the closed socket) for ever.
    const chunks = answer.body.getReader();
    response.once("close", () => void chunks.cancel().catch(() => undefined));
    for (let next = await chunks.read(); !next.done; next = await chunks.read()) response.write(next.value);
  }
  response.end();
}
