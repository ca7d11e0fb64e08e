import { once } from "node:events";
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { setImmediate } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHttpDeliverer, type DeliveryRequest, type HttpDeliverer } from "../../worker/http-delivery.js";

interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

interface Sink {
  url: string;
  port: number;
  received: ReceivedRequest[];
  connections: number;
  close(): Promise<void>;
}

const openSinks = new Set<Sink>();

/** A real HTTP server on 127.0.0.1 that records what it receives, then answers with `respond`. */
async function startSink(respond: (request: IncomingMessage, response: ServerResponse) => void): Promise<Sink> {
  const received: ReceivedRequest[] = [];
  const listener: RequestListener = (request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      respond(request, response);
    });
  };
  const server: Server = createServer(listener);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const sink: Sink = {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    connections: 0,
    close: async () => {
      openSinks.delete(sink);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on("connection", () => {
    sink.connections += 1;
  });
  openSinks.add(sink);
  return sink;
}

function request(url: string, overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return { url, method: "POST", headers: {}, body: null, timeoutMs: 5_000, ...overrides };
}

let deliverer: HttpDeliverer;

beforeAll(() => {
  deliverer = createHttpDeliverer({ allowPrivateTargets: true, userAgent: "Runlater-test" });
});

afterEach(async () => {
  await Promise.all([...openSinks].map((sink) => sink.close()));
});

afterAll(async () => {
  await deliverer.close();
});

describe("responses", () => {
  it("captures status, headers and body of a 2xx", async () => {
    const sink = await startSink((_request, response) => {
      response.setHeader("X-Multi", ["a", "b"]);
      response.writeHead(201, { "Content-Type": "application/json" }).end('{"ok":true,"café":"☕"}');
    });
    const outcome = await deliverer.deliver(request(`${sink.url}/hook`));
    expect(outcome).toMatchObject({
      kind: "response",
      status: 201,
      body: '{"ok":true,"café":"☕"}',
      bodyTruncated: false,
    });
    if (outcome.kind !== "response") throw new Error("unreachable");
    expect(outcome.headers["content-type"]).toBe("application/json");
    expect(outcome.headers["x-multi"]).toBe("a, b");
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("delivers method, path, query, headers and body as sent", async () => {
    const sink = await startSink((_request, response) => response.writeHead(204).end());
    const body = JSON.stringify({ orderId: 42 });
    await deliverer.deliver(
      request(`${sink.url}/orders/42?source=runlater`, {
        method: "PUT",
        headers: { "Content-Type": "application/json", "Runlater-Signature": "t=1,v1=abc" },
        body,
      }),
    );
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]).toMatchObject({
      method: "PUT",
      url: "/orders/42?source=runlater",
      body,
      headers: {
        "content-type": "application/json",
        "runlater-signature": "t=1,v1=abc",
        "user-agent": "Runlater-test",
      },
    });
  });

  it("keeps a User-Agent the task set itself", async () => {
    const sink = await startSink((_request, response) => response.end());
    await deliverer.deliver(request(sink.url, { method: "GET", headers: { "User-Agent": "custom/1.0" } }));
    expect(sink.received[0]?.headers["user-agent"]).toBe("custom/1.0");
  });

  it("reads at most 64 KiB of a 1 MiB response and marks it truncated", async () => {
    const sink = await startSink((_request, response) => {
      response.writeHead(200, { "Content-Type": "text/plain" }).end("x".repeat(1024 * 1024));
    });
    const outcome = await deliverer.deliver(request(sink.url));
    expect(outcome).toMatchObject({ kind: "response", status: 200, bodyTruncated: true });
    if (outcome.kind !== "response") throw new Error("unreachable");
    expect(outcome.body).toHaveLength(64 * 1024);
  });

  it("stops reading an endless response and drops its connection", async () => {
    let serverSideClosed!: Promise<unknown>;
    const sink = await startSink((_request, response) => {
      serverSideClosed = once(response, "close");
      const chunk = Buffer.alloc(16 * 1024, "y");
      const writeUntilClosed = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once("drain", writeUntilClosed);
      };
      response.writeHead(200);
      writeUntilClosed();
    });
    const outcome = await deliverer.deliver(request(sink.url, { timeoutMs: 2_000 }));
    expect(outcome).toMatchObject({ kind: "response", bodyTruncated: true });
    await serverSideClosed;
  });

  it("does not mark a body of exactly the limit as truncated", async () => {
    const small = createHttpDeliverer({ allowPrivateTargets: true, maxResponseBodyBytes: 10 });
    try {
      const sink = await startSink((_request, response) => response.end("0123456789"));
      expect(await small.deliver(request(sink.url))).toMatchObject({ body: "0123456789", bodyTruncated: false });
    } finally {
      await small.close();
    }
  });

  it("does not follow redirects: a 302 is the outcome", async () => {
    const target = await startSink((_request, response) => response.end("should not be reached"));
    const sink = await startSink((_request, response) => {
      response.writeHead(302, { Location: `${target.url}/elsewhere` }).end();
    });
    const outcome = await deliverer.deliver(request(sink.url));
    expect(outcome).toMatchObject({ kind: "response", status: 302, headers: { location: `${target.url}/elsewhere` } });
    expect(target.received).toHaveLength(0);
  });

  it("reuses one kept-alive socket for sequential requests to an origin", async () => {
    const sink = await startSink((_request, response) => response.end("ok"));
    expect(await deliverer.deliver(request(sink.url))).toMatchObject({ kind: "response", status: 200 });
    // undici frees the socket one tick after the body ends; a request sent in
    // that same tick would find it busy and open a second one.
    await setImmediate();
    expect(await deliverer.deliver(request(sink.url))).toMatchObject({ kind: "response", status: 200 });
    expect(sink.received).toHaveLength(2);
    expect(sink.connections).toBe(1);
  });
});

describe("failures are outcomes", () => {
  it("times out on a target that never answers, within the timeout plus a small margin", async () => {
    const sink = await startSink(() => {});
    const outcome = await deliverer.deliver(request(sink.url, { timeoutMs: 300 }));
    expect(outcome).toMatchObject({ kind: "timeout", error: "timed out after 300 ms" });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(290);
    expect(outcome.durationMs).toBeLessThan(300 + 200);
  });

  it("times out on a body that stalls after the headers: the timeout covers the whole exchange", async () => {
    const sink = await startSink((_request, response) => {
      response.writeHead(200);
      response.write("partial");
    });
    const outcome = await deliverer.deliver(request(sink.url, { timeoutMs: 300 }));
    expect(outcome).toMatchObject({ kind: "timeout", error: "timed out after 300 ms" });
    expect(outcome.durationMs).toBeLessThan(300 + 200);
  });

  it("reports a refused connection as a network error with its code", async () => {
    const sink = await startSink(() => {});
    const { url } = sink;
    await sink.close();
    const outcome = await deliverer.deliver(request(url));
    expect(outcome).toMatchObject({ kind: "network-error", code: "ECONNREFUSED" });
    if (outcome.kind !== "network-error") throw new Error("unreachable");
    expect(outcome.error).toMatch(/ECONNREFUSED 127\.0\.0\.1/);
  });

  it("reports an unknown host as a network error", async () => {
    expect(await deliverer.deliver(request("http://nonexistent.invalid/"))).toMatchObject({
      kind: "network-error",
      code: "ENOTFOUND",
      error: expect.stringMatching(/nonexistent\.invalid/),
    });
  });

  it("reports a connection reset mid-request as a network error", async () => {
    const sink = await startSink((request) => request.socket.destroy());
    expect(await deliverer.deliver(request(sink.url))).toMatchObject({ kind: "network-error" });
  });

  it("reports a graceful-shutdown abort as network error ABORTED, not a timeout", async () => {
    const sink = await startSink(() => {});
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 100);
    const outcome = await deliverer.deliver(request(sink.url, { timeoutMs: 5_000 }), shutdown.signal);
    expect(outcome).toMatchObject({ kind: "network-error", code: "ABORTED", error: "aborted: worker shutting down" });
    expect(outcome.durationMs).toBeLessThan(1_000);
  });

  it("does not start a request when the shutdown signal is already aborted", async () => {
    const sink = await startSink((_request, response) => response.end());
    const outcome = await deliverer.deliver(request(sink.url), AbortSignal.abort());
    expect(outcome).toMatchObject({ kind: "network-error", code: "ABORTED" });
    expect(sink.received).toHaveLength(0);
  });
});

describe("connections per origin", () => {
  it("start an attempt's timeout when it gets its connection, not while it waits behind others to the same host", async () => {
    const sink = await startSink((incoming, response) => {
      setTimeout(() => response.end("ok"), incoming.url === "/slow" ? 1_500 : 10);
    });
    const single = createHttpDeliverer({ allowPrivateTargets: true, connections: 1 });
    try {
      const [slow, queued] = await Promise.all([
        single.deliver(request(`${sink.url}/slow`, { timeoutMs: 5_000 })),
        // Waits ~1.5 s for the only connection, then answers in 10 ms: within its own 1 s.
        single.deliver(request(`${sink.url}/queued`, { timeoutMs: 1_000 })),
      ]);
      expect(slow).toMatchObject({ kind: "response", status: 200 });
      expect(queued).toMatchObject({ kind: "response", status: 200 });
      expect(queued.durationMs).toBeLessThan(1_000);
      expect(sink.received.map((received) => received.url)).toEqual(["/slow", "/queued"]);
    } finally {
      await single.close();
    }
  });

  it("give up waiting for a connection when the worker shuts down", async () => {
    const sink = await startSink(() => {});
    const single = createHttpDeliverer({ allowPrivateTargets: true, connections: 1 });
    const shutdown = new AbortController();
    try {
      const hanging = single.deliver(request(`${sink.url}/hangs`, { timeoutMs: 5_000 }), shutdown.signal);
      const waiting = single.deliver(request(`${sink.url}/waits`, { timeoutMs: 5_000 }), shutdown.signal);
      setTimeout(() => shutdown.abort(), 200);
      expect(await waiting).toMatchObject({ kind: "network-error", code: "ABORTED" });
      expect(await hanging).toMatchObject({ kind: "network-error", code: "ABORTED" });
      expect(sink.received.map((received) => received.url)).toEqual(["/hangs"]);
    } finally {
      await single.close();
    }
  });
});

describe("target policy at connect time (allowPrivateTargets=false)", () => {
  let guarded: HttpDeliverer;

  beforeAll(() => {
    guarded = createHttpDeliverer({ allowPrivateTargets: false });
  });

  afterAll(async () => {
    await guarded.close();
  });

  it.each([
    ["a literal IP, which Node connects to without a lookup", (port: number) => `http://127.0.0.1:${port}/hook`],
    ["localhost, which resolves to 127.0.0.1", (port: number) => `http://localhost:${port}/hook`],
    ["the machine's hostname, which resolves to 127.0.0.1", (port: number) => `http://${hostname()}:${port}/hook`],
    ["an IPv4-mapped IPv6 literal", (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
  ])("refuses %s, and the sink receives nothing", async (_name, urlFor) => {
    const sink = await startSink((_request, response) => response.end("leaked"));
    const outcome = await guarded.deliver(request(urlFor(sink.port)));
    expect(outcome).toMatchObject({
      kind: "target-not-allowed",
      error: expect.stringMatching(/RUNLATER_ALLOW_PRIVATE_TARGETS/),
    });
    expect(sink.received).toHaveLength(0);
    expect(sink.connections).toBe(0);
  });
});
