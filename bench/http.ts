/**
 * HTTP on loopback: a small keep-alive client for Runlater's API, and the sink
 * that Runlater delivers to (answers 200 at once, records every delivery by its
 * `runlater-task-id`, so losses and duplicates are counted).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";

export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** An answer as it came over the wire: its headers and body bytes, unparsed. */
export interface RawApiAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: Buffer;
}

const REQUEST_TIMEOUT_MS = 120_000;

export class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<ApiAnswer> {
    const { status, bytes } = await this.requestRaw(method, path, body);
    const text = bytes.toString("utf8");
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status, body: parsed };
  }

  requestRaw(method: string, path: string, body?: unknown): Promise<RawApiAnswer> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise<RawApiAnswer>((resolve, reject) => {
      const request = http.request(
        `${this.baseUrl}${path}`,
        {
          method,
          agent: this.agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: {
            authorization: `Bearer ${this.apiKey}`,
            ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, bytes: Buffer.concat(chunks) }));
        },
      );
      request.on("timeout", () => request.destroy(new Error(`${method} ${path} timed out`)));
      request.on("error", reject);
      request.end(payload);
    });
  }

  /** GET /health's status, 0 when nothing answers. */
  async health(): Promise<number> {
    try {
      return (await this.request("GET", "/health")).status;
    } catch {
      return 0;
    }
  }

  graphql(query: string): Promise<ApiAnswer> {
    return this.request("POST", "/graphql", { query });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

export interface Delivery {
  executionId: string;
  attempt: number;
  /** Date.now() at arrival (for comparison with due times). */
  wallMs: number;
  /** performance.now() at arrival (for comparison with push start times). */
  perfMs: number;
}

export interface Sink {
  url: string;
  /** Deliveries by task id, in arrival order. */
  deliveries: Map<string, Delivery[]>;
  /** Every delivery, including repeats. */
  total(): number;
  firstPerfMs(): number | null;
  lastPerfMs(): number | null;
  /** Calls `listener` on every delivery (one at a time). */
  onDelivery(listener: (taskId: string, delivery: Delivery) => void): void;
  close(): Promise<void>;
}

/** A loopback endpoint that answers 200 at once, keep-alive. */
export async function startSink(): Promise<Sink> {
  const deliveries = new Map<string, Delivery[]>();
  let total = 0;
  let first: number | null = null;
  let last: number | null = null;
  let listener: ((taskId: string, delivery: Delivery) => void) | null = null;
  const server = http.createServer((request, response) => {
    const perfMs = performance.now();
    const wallMs = Date.now();
    request.resume();
    response.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
    response.end("ok");
    const taskId = header(request, "runlater-task-id");
    if (!taskId) return;
    const delivery: Delivery = {
      executionId: header(request, "runlater-execution-id") ?? "",
      attempt: Number(header(request, "runlater-attempt") ?? 0),
      wallMs,
      perfMs,
    };
    const list = deliveries.get(taskId);
    if (list) list.push(delivery);
    else deliveries.set(taskId, [delivery]);
    total += 1;
    first ??= perfMs;
    last = perfMs;
    listener?.(taskId, delivery);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    total: () => total,
    firstPerfMs: () => first,
    lastPerfMs: () => last,
    onDelivery: (callback) => {
      listener = callback;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Losses (expected ids never delivered) and duplicates (deliveries beyond the first per task). */
export function deliveryCheck(sink: Sink, expectedIds: Iterable<string>): { expected: number; lost: number; duplicates: number } {
  let expected = 0;
  let lost = 0;
  for (const id of expectedIds) {
    expected += 1;
    if (!sink.deliveries.has(id)) lost += 1;
  }
  let duplicates = 0;
  for (const list of sink.deliveries.values()) duplicates += list.length - 1;
  return { expected, lost, duplicates };
}
