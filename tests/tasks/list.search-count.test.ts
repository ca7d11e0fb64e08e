import { beforeAll, describe, expect, it } from "vitest";
import { ALICE_KEY, createPersonas, graphql, type Persona, rest, useTestInstance } from "../helpers/runlater.js";

// No worker: the tasks stay SCHEDULED, so the lists below are stable.
const runlater = useTestInstance({ role: "server" });
let bob: Persona;

const LIST = `query($filter: TaskFilter, $first: Int) {
  tasks(filter: $filter, first: $first) { totalCount edges { node { name url } } }
}`;

type TaskList = { tasks: { totalCount: number; edges: Array<{ node: { name: string | null; url: string } }> } };

beforeAll(async () => {
  ({ bob } = await createPersonas(runlater.database.url));
  const push = `mutation($url: String!, $name: String, $queue: String) { pushTask(url: $url, name: $name, queue: $queue, delay: "1h") { id } }`;
  for (const [url, name, queue] of [
    ["https://billing.example.com/invoices", "Send invoice", "billing"],
    ["https://mail.example.com/welcome", "Welcome e-mail", "mail"],
    ["https://mail.example.com/digest", "Weekly DIGEST", "mail"],
  ] as const) {
    const answer = await graphql(runlater.instance, ALICE_KEY, push, { url, name, queue });
    expect(answer.errors).toBeUndefined();
  }
  await graphql(runlater.instance, bob.apiKey, push, { url: "https://mail.example.com/bob", name: "Bob's digest" });
});

describe("tasks list search and totalCount", () => {
  it("finds tasks by a part of their name or URL, ignoring case", async () => {
    const byName = await graphql<TaskList>(runlater.instance, ALICE_KEY, LIST, { filter: { search: "digest" } });
    expect(byName.data?.tasks.edges.map((edge) => edge.node.name)).toEqual(["Weekly DIGEST"]);
    const byUrl = await graphql<TaskList>(runlater.instance, ALICE_KEY, LIST, { filter: { search: "MAIL.example" } });
    expect(byUrl.data?.tasks.edges.map((edge) => edge.node.name)).toEqual(["Weekly DIGEST", "Welcome e-mail"]);
  });

  it("counts every matching task, not only the page", async () => {
    const page = await graphql<TaskList>(runlater.instance, ALICE_KEY, LIST, { first: 1 });
    expect(page.data?.tasks.edges).toHaveLength(1);
    expect(page.data?.tasks.totalCount).toBe(3);
    const combined = await graphql<TaskList>(runlater.instance, ALICE_KEY, LIST, { filter: { search: "example", queue: "mail" } });
    expect(combined.data?.tasks.totalCount).toBe(2);
  });

  it("never finds or counts another organisation's tasks", async () => {
    const alice = await graphql<TaskList>(runlater.instance, ALICE_KEY, LIST, { filter: { search: "bob" } });
    expect(alice.data?.tasks).toEqual({ totalCount: 0, edges: [] });
    const bobs = await graphql<TaskList>(runlater.instance, bob.apiKey, LIST, { filter: { search: "digest" } });
    expect(bobs.data?.tasks.totalCount).toBe(1);
  });

  it("refuses a malformed cursor, page size or id filter with 422 naming the argument, over GraphQL and REST", async () => {
    for (const [query, field] of [
      ['{ tasks(after: "garbage") { edges { node { id } } } }', "after"],
      ['{ tasks(last: 5, before: "zz") { edges { node { id } } } }', "before"],
      ['{ notifications(resourceId: "1") { edges { node { id } } } }', "resourceId"],
      ['{ notifications(channelId: "not-an-id") { edges { node { id } } } }', "channelId"],
      ["{ tasks(first: -1) { edges { node { id } } } }", "first"],
      ["{ tasks(first: 1) { edges { node { executions(last: -1) { edges { node { id } } } } } } }", "last"],
    ] as const) {
      const answer = await graphql(runlater.instance, ALICE_KEY, query);
      expect(answer.errors?.[0]?.extensions, query).toMatchObject({ code: "VALIDATION_FAILED", field });
    }
    for (const [path, field] of [
      ["/tasks?after=garbage", "after"],
      ["/notifications?channelId=1", "channelId"],
      ["/tasks?first=-1", "first"],
    ] as const) {
      const answer = await rest<{ error: { code: string; field: string } }>(runlater.instance, ALICE_KEY, "GET", path);
      expect(answer.status, path).toBe(422);
      expect(answer.body.error).toMatchObject({ code: "VALIDATION_FAILED", field });
    }
  });
});
