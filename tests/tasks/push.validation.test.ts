/** Every push field and limit: refused with a status, a stable code and the field's name. */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();

const url = "https://example.com/hook";
type ErrorAnswer = { error: { code: string; message: string; field?: string } };

const cases: Array<[string, Record<string, unknown>, number, string, string]> = [
  ["missing url", {}, 400, "BAD_REQUEST", "url"],
  ["url not http", { url: "ftp://example.com/file" }, 422, "VALIDATION_FAILED", "url"],
  ["url not a URL", { url: "not a url" }, 422, "VALIDATION_FAILED", "url"],
  ["unknown method", { url, method: "TRACE" }, 400, "BAD_REQUEST", "method"],
  ["headers not an object", { url, headers: ["a"] }, 400, "BAD_REQUEST", "headers"],
  ["header value not a string", { url, headers: { "X-A": 1 } }, 422, "VALIDATION_FAILED", "headers.X-A"],
  ["invalid header name", { url, headers: { "bad header": "x" } }, 422, "VALIDATION_FAILED", "headers.bad header"],
  ["reserved header", { url, headers: { Host: "evil.example" } }, 422, "VALIDATION_FAILED", "headers.Host"],
  ["Runlater- header", { url, headers: { "Runlater-Signature": "forged" } }, 422, "VALIDATION_FAILED", "headers.Runlater-Signature"],
  // Values and names the HTTP client would refuse when sending: every attempt would fail the same way.
  ["header value beyond Latin-1", { url, headers: { "X-City": "東京" } }, 422, "VALIDATION_FAILED", "headers.X-City"],
  ["header value with a control character", { url, headers: { "X-A": "a\u0001b" } }, 422, "VALIDATION_FAILED", "headers.X-A"],
  ["Expect header", { url, headers: { Expect: "100-continue" } }, 422, "VALIDATION_FAILED", "headers.Expect"],
  ["header given twice in two cases", { url, headers: { "X-A": "1", "x-a": "2" } }, 422, "VALIDATION_FAILED", "headers.x-a"],
  [
    "too many headers",
    { url, headers: Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`X-H${index}`, "v"])) },
    422,
    "VALIDATION_FAILED",
    "headers",
  ],
  ["body over 256 KiB", { url, body: "x".repeat(256 * 1024 + 1) }, 413, "PAYLOAD_TOO_LARGE", "body"],
  ["NUL character in a text body", { url, body: "a\u0000b" }, 422, "VALIDATION_FAILED", "body"],
  ["body and bodyBase64", { url, body: "text", bodyBase64: "AAEC" }, 422, "VALIDATION_FAILED", "bodyBase64"],
  ["bodyBase64 not base64", { url, bodyBase64: "not base64!" }, 422, "VALIDATION_FAILED", "bodyBase64"],
  ["bodyBase64 of a wrong length", { url, bodyBase64: "AAECA" }, 422, "VALIDATION_FAILED", "bodyBase64"],
  ["bodyBase64 padding inside", { url, bodyBase64: "AB=C" }, 422, "VALIDATION_FAILED", "bodyBase64"],
  ["bodyBase64 padding short of a group", { url, bodyBase64: "AB=" }, 422, "VALIDATION_FAILED", "bodyBase64"],
  ["bodyBase64 not a string", { url, bodyBase64: 12 }, 400, "BAD_REQUEST", "bodyBase64"],
  [
    "bodyBase64 over 256 KiB decoded",
    { url, bodyBase64: Buffer.alloc(256 * 1024 + 1).toString("base64") },
    413,
    "PAYLOAD_TOO_LARGE",
    "bodyBase64",
  ],
  ["bad delay", { url, delay: "soon" }, 422, "VALIDATION_FAILED", "delay"],
  ["negative delay", { url, delay: -5 }, 422, "VALIDATION_FAILED", "delay"],
  ["delay over 365 days", { url, delay: "366d" }, 422, "VALIDATION_FAILED", "delay"],
  ["runAt not ISO", { url, runAt: "tomorrow" }, 422, "VALIDATION_FAILED", "runAt"],
  ["runAt without zone", { url, runAt: "2030-01-01T10:00:00" }, 422, "VALIDATION_FAILED", "runAt"],
  // Days that do not exist (in the past, so nothing but the calendar refuses them): not moved into the next month.
  ["runAt on 31 September", { url, runAt: "2026-09-31T09:00:00Z" }, 422, "VALIDATION_FAILED", "runAt"],
  ["runAt on 29 February of a common year", { url, runAt: "2025-02-29T09:00:00+01:00" }, 422, "VALIDATION_FAILED", "runAt"],
  ["runAt over 365 days", { url, runAt: new Date(Date.now() + 400 * 86_400_000).toISOString() }, 422, "VALIDATION_FAILED", "runAt"],
  ["delay and runAt", { url, delay: "5m", runAt: new Date().toISOString() }, 422, "VALIDATION_FAILED", "runAt"],
  ["retries above 20", { url, retries: 21 }, 422, "VALIDATION_FAILED", "retries"],
  ["retries negative", { url, retries: -1 }, 422, "VALIDATION_FAILED", "retries"],
  ["retries not a number", { url, retries: "three" }, 400, "BAD_REQUEST", "retries"],
  ["retries beyond a 32-bit integer", { url, retries: 10_000_000_000 }, 400, "BAD_REQUEST", "retries"],
  ["method in lower case", { url, method: "post" }, 400, "BAD_REQUEST", "method"],
  ["name not a string", { url, name: 42 }, 400, "BAD_REQUEST", "name"],
  ["timeoutMs below 1000", { url, timeoutMs: 999 }, 422, "VALIDATION_FAILED", "timeoutMs"],
  ["timeoutMs above 300000", { url, timeoutMs: 300_001 }, 422, "VALIDATION_FAILED", "timeoutMs"],
  ["empty name", { url, name: "  " }, 422, "VALIDATION_FAILED", "name"],
  ["name too long", { url, name: "n".repeat(201) }, 422, "VALIDATION_FAILED", "name"],
  ["queue with spaces", { url, queue: "my queue" }, 422, "VALIDATION_FAILED", "queue"],
  // Text PostgreSQL cannot store (was a 500 from the database).
  ["NUL in the name", { url, name: "a\u0000b" }, 422, "VALIDATION_FAILED", "name"],
  ["NUL in the URL", { url: `${url}/a\u0000b` }, 422, "VALIDATION_FAILED", "url"],
  ["NUL in a callback URL", { url, callbackUrl: "https://example.com/\u0000" }, 422, "VALIDATION_FAILED", "callbackUrl"],
  ["unpaired surrogate in a header", { url, headers: { "X-A": "\ud800" } }, 422, "VALIDATION_FAILED", "headers.X-A"],
  ["unpaired surrogate in a throttle key", { url, throttleKey: "k\udc00", throttleWindow: "1m" }, 422, "VALIDATION_FAILED", "throttleKey"],
];

describe("push validation over REST", () => {
  it.each(cases)("%s", async (_label, body, status, code, field) => {
    const answer = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "POST", "/tasks", body);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code, field });
    expect(answer.body.error.message.length).toBeGreaterThan(5);
  });

  it("accepts every limit at its bound", async () => {
    const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url,
      method: "DELETE",
      headers: Object.fromEntries(Array.from({ length: 50 }, (_, index) => [`X-H${index}`, "v"])),
      body: "x".repeat(256 * 1024),
      delay: "365d",
      retries: 20,
      timeoutMs: 300_000,
      name: "n".repeat(200),
      queue: "queue-1.a:b_c",
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ method: "DELETE", retries: 20, timeoutMs: 300_000, queue: "queue-1.a:b_c" });
    // 256 KiB of bytes, URL-safe and unpadded, wrapped as `base64` wraps its output.
    const bytes = Buffer.alloc(256 * 1024, 0xfb);
    const wrapped = bytes.toString("base64url").replace(/.{76}/g, "$&\n");
    const binary = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url, bodyBase64: wrapped });
    expect(binary.status).toBe(201);
    expect(binary.body).toMatchObject({ body: bytes.toString("base64"), bodyEncoding: "BASE64" });
  });

  it.each([
    ["30s", 30_000],
    ["5m", 300_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    [90, 90_000],
  ])("parses delay %s", async (delay, expectedMs) => {
    const before = Date.now();
    const answer = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url, delay });
    expect(answer.status).toBe(201);
    const offset = new Date(answer.body.runAt as string).getTime() - before;
    expect(offset).toBeGreaterThanOrEqual(expectedMs);
    expect(offset).toBeLessThan(expectedMs + 5000);
  });

  it("refuses malformed JSON with 400", async () => {
    const answer = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "POST", "/tasks", "{not json");
    expect(answer.status).toBe(400);
  });

  it("refuses a request body over 1 MiB with 413 before parsing it", async () => {
    const answer = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "POST", "/tasks", { url, body: "x".repeat(1024 * 1024 + 10) });
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("answers 404 for an unknown or malformed task id", async () => {
    for (const id of ["0190b6a0-0000-7000-8000-000000000000", "not-a-uuid"]) {
      const answer = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe("NOT_FOUND");
    }
  });
});

describe("push validation over GraphQL", () => {
  it("returns the same code and field in extensions", async () => {
    const answer = await graphql(runlater.instance, ALICE_KEY, `mutation { pushTask(url: "${url}", retries: 99) { id } }`);
    expect(answer.status).toBe(200);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "retries" });
    const tooLarge = await graphql(runlater.instance, ALICE_KEY, `mutation($body: JSON) { pushTask(url: "${url}", body: $body) { id } }`, {
      body: "y".repeat(256 * 1024 + 1),
    });
    expect(tooLarge.errors?.[0]?.extensions).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "body" });
    // Megabytes of base64 (GraphQL and batch requests may be 32 MiB): refused by size, not by a failing parser.
    const megabytes = "QUJD".repeat(1_500_000);
    const hugeBase64 = await graphql(
      runlater.instance,
      ALICE_KEY,
      `mutation($bytes: String) { pushTask(url: "${url}", bodyBase64: $bytes) { id } }`,
      { bytes: megabytes },
    );
    expect(hugeBase64.errors?.[0]?.extensions).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "bodyBase64" });
    const hugeInBatch = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks: [{ url, bodyBase64: megabytes }],
    });
    expect(hugeInBatch.status).toBe(413);
    expect(hugeInBatch.body.error.field).toMatch(/bodyBase64$/);
    const wrongType = await graphql(
      runlater.instance,
      ALICE_KEY,
      `mutation($retries: Int) { pushTask(url: "${url}", retries: $retries) { id } }`,
      {
        retries: "many",
      },
    );
    expect(wrongType.errors?.[0]?.extensions).toMatchObject({ code: "BAD_REQUEST", field: "retries" });
  });

  it("refuses text the database cannot store wherever it comes: literals, variables, a batch, a list filter", async () => {
    const literal = await graphql(runlater.instance, ALICE_KEY, `mutation { pushTask(url: "${url}", name: "a\\u0000b") { id } }`);
    expect(literal.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "name" });
    const search = await graphql(
      runlater.instance,
      ALICE_KEY,
      "query($search: String) { tasks(filter: { search: $search }) { totalCount } }",
      {
        search: "\ud800",
      },
    );
    expect(search.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "search" });
    const batch = await rest<ErrorAnswer>(runlater.instance, ALICE_KEY, "POST", "/tasks/batch", {
      tasks: [{ url }, { url, name: "b\u0000" }],
    });
    expect(batch.status).toBe(422);
    expect(batch.body.error).toMatchObject({ code: "VALIDATION_FAILED", field: "tasks[1].name" });
  });
});
