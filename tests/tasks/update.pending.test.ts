import { beforeAll, describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, eventually, graphql, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
let bob: Persona;

beforeAll(async () => {
  ({ bob } = await createPersonas(runlater.database.url));
});

const requestsFor = (path: string) => runlater.sink.requests.filter((request) => request.path === path);
const UPDATE = `mutation($id: ID!, $url: String, $body: JSON, $headers: JSONObject, $delay: Delay, $name: String, $method: HttpMethod) {
  updateTask(id: $id, url: $url, body: $body, headers: $headers, delay: $delay, name: $name, method: $method) { id name url method runAt status }
}`;

describe("editing a task before it starts", () => {
  it("sends the edited request at the new due time, and never the old one", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/old`,
      delay: "1h",
      name: "Send invoice",
      body: { invoice: 1 },
      headers: { "x-tenant": "acme" },
    });
    const id = pushed.body.id as string;
    const answer = await graphql<{ updateTask: { name: string; url: string; method: string; runAt: string; status: string } }>(
      runlater.instance,
      ALICE_KEY,
      UPDATE,
      { id, url: `${runlater.sink.url}/new`, body: { invoice: 2 }, delay: "1s", method: "PUT" },
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.updateTask).toMatchObject({
      name: "Send invoice",
      url: `${runlater.sink.url}/new`,
      method: "PUT",
      status: "SCHEDULED",
    });
    expect(new Date(answer.data!.updateTask.runAt).getTime() - Date.now()).toBeLessThan(1500);

    await eventually(async () => requestsFor("/new").length === 1, 10_000);
    const [sent] = requestsFor("/new");
    expect(sent).toMatchObject({ method: "PUT", body: '{"invoice":2}' });
    // Unchanged fields kept their value.
    expect(sent!.headers["x-tenant"]).toBe("acme");
    expect(requestsFor("/old")).toEqual([]);
  });

  it("keeps the due time when none is given", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/later`, delay: "2h" });
    const answer = await rest(runlater.instance, ALICE_KEY, "PATCH", `/tasks/${pushed.body.id}`, { name: "renamed over REST" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ name: "renamed over REST", runAt: pushed.body.runAt });
  });

  it("keeps a binary body through an edit of other fields, and takes a new one as bodyBase64", async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x01]);
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/bytes-kept`,
      delay: "1h",
      bodyBase64: bytes.toString("base64"),
    });
    const renamed = await rest(runlater.instance, ALICE_KEY, "PATCH", `/tasks/${pushed.body.id}`, { name: "still bytes", delay: "1s" });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: "still bytes", bodyEncoding: "BASE64", body: bytes.toString("base64") });
    await eventually(async () => requestsFor("/bytes-kept").length === 1, 10_000);
    expect(requestsFor("/bytes-kept")[0]!.bytes.equals(bytes)).toBe(true);

    const other = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/bytes-new`,
      delay: "1h",
      body: "text",
    });
    const edited = await rest(runlater.instance, ALICE_KEY, "PATCH", `/tasks/${other.body.id}`, {
      bodyBase64: bytes.toString("base64"),
      delay: "1s",
    });
    expect(edited.body).toMatchObject({ bodyEncoding: "BASE64", body: bytes.toString("base64") });
    await eventually(async () => requestsFor("/bytes-new").length === 1, 10_000);
    expect(requestsFor("/bytes-new")[0]!.bytes.equals(bytes)).toBe(true);
  });

  it("refuses a task that has run, naming why, and a bad value naming its field", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/done` });
    const id = pushed.body.id as string;
    await eventually(async () => (await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${id}`)).body.status === "SUCCEEDED");
    const finished = await rest<{ error: { code: string; message: string } }>(runlater.instance, ALICE_KEY, "PATCH", `/tasks/${id}`, {
      name: "too late",
    });
    expect(finished.status).toBe(409);
    expect(finished.body.error.message).toMatch(/not started.*duplicate/);

    const waiting = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/waiting`, delay: "1h" });
    const invalid = await graphql(runlater.instance, ALICE_KEY, UPDATE, { id: waiting.body.id, url: "ftp://example.com/file" });
    expect(invalid.errors?.[0]?.extensions).toMatchObject({ field: "url" });
  });

  it("refuses a cron task: its schedule is edited with updateTaskSchedule", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: `${runlater.sink.url}/cron`, cron: "0 3 * * *" });
    const answer = await graphql(runlater.instance, ALICE_KEY, UPDATE, { id: pushed.body.id, name: "nightly" });
    expect(answer.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect(answer.errors?.[0]?.message).toMatch(/updateTaskSchedule/);
  });

  it("never edits another organisation's task", async () => {
    const pushed = await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", {
      url: `${runlater.sink.url}/alice`,
      delay: "1h",
      name: "alice's",
    });
    const answer = await graphql(runlater.instance, bob.apiKey, UPDATE, { id: pushed.body.id, name: "bob was here" });
    expect(answer.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const unchanged = await rest(runlater.instance, ALICE_KEY, "GET", `/tasks/${pushed.body.id}`);
    expect(unchanged.body.name).toBe("alice's");
  });
});
