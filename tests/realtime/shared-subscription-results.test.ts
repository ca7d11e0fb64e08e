// useSharedSubscriptionResults on its own: an in-process Yoga with a small
// schema whose resolvers count their calls, subscribers over server-sent
// events, and one event object handed to all of them (as LiveEventHub does).
import { createSchema, createYoga } from "graphql-yoga";
import { afterEach, describe, expect, it } from "vitest";
import { BoundedStream } from "../../server/realtime/live-event-hub.js";
import { useSharedSubscriptionResults } from "../../server/realtime/shared-subscription-results.js";
import type { Principal } from "../../server/services/api-keys.js";
import { eventually } from "../helpers/runlater.js";

interface Event {
  id: string;
}

const subscribers = new Set<BoundedStream<Event>>();
let labelCalls = 0;

function publish(event: Event): void {
  for (const subscriber of subscribers) subscriber.push(event);
}

function principalOf(organizationId: string, apiKeyId: string): Principal {
  return { via: "apiKey", organizationId, apiKeyId, userId: null, role: null, sessionId: null };
}

const yoga = createYoga<{ principal: Principal }, { optionalPrincipal: Principal }>({
  schema: createSchema<{ principal: Principal; optionalPrincipal: Principal }>({
    typeDefs: /* GraphQL */ `
      type Event {
        id: ID!
        label(prefix: String!): String!
        seenBy: String!
      }
      type Query {
        ok: Boolean
      }
      type Subscription {
        events: Event!
      }
    `,
    resolvers: {
      Event: {
        label: (event: Event, args: { prefix: string }) => {
          labelCalls++;
          return `${args.prefix}${event.id}`;
        },
        seenBy: (_event: Event, _args: unknown, context: { optionalPrincipal: Principal }) => context.optionalPrincipal.organizationId,
      },
      Subscription: {
        events: {
          subscribe: () => {
            const stream: BoundedStream<Event> = new BoundedStream<Event>(
              100,
              () => subscribers.delete(stream),
              () => undefined,
            );
            subscribers.add(stream);
            return stream;
          },
          resolve: (event: Event) => event,
        },
      },
    },
  }),
  context: ({ principal }) => ({ optionalPrincipal: principal }),
  plugins: [useSharedSubscriptionResults()],
});

interface Received {
  data: { events: { id: string; label: string; seenBy: string } };
}

/** A subscription over server-sent events as `principal`, recording each `next` event. */
async function subscribe(principal: Principal, prefix: string) {
  const controller = new AbortController();
  const response = await yoga.fetch(
    "http://runlater.test/graphql",
    {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({
        query: "subscription ($prefix: String!) { events { id label(prefix: $prefix) seenBy } }",
        variables: { prefix },
      }),
      signal: controller.signal,
    },
    { principal },
  );
  expect(response.status).toBe(200);
  const received: Received[] = [];
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  void (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      text += decoder.decode(chunk.value, { stream: true });
      let end = text.indexOf("\n\n");
      while (end >= 0) {
        const message = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (message.startsWith("event: next") && data) received.push(JSON.parse(data) as Received);
        end = text.indexOf("\n\n");
      }
    }
  })();
  return {
    received,
    close: () => {
      reader.cancel().catch(() => undefined);
      controller.abort();
    },
  };
}

const open: Array<{ close(): void }> = [];

afterEach(async () => {
  for (const subscription of open.splice(0)) subscription.close();
  await eventually(async () => (subscribers.size === 0 ? true : undefined));
});

describe("subscription results are executed once per distinct subscription and shared", () => {
  it("gives subscribers with the same caller, document and variables one shared execution of each event", async () => {
    const alice = principalOf("org-alice", "key-alice");
    const first = await subscribe(alice, "a-");
    const second = await subscribe(alice, "a-");
    const third = await subscribe(alice, "a-");
    open.push(first, second, third);
    await eventually(async () => (subscribers.size === 3 ? true : undefined));
    labelCalls = 0;

    publish({ id: "1" });
    publish({ id: "2" });
    await eventually(async () => ([first, second, third].every((s) => s.received.length === 2) ? true : undefined));

    const expected = [
      { data: { events: { id: "1", label: "a-1", seenBy: "org-alice" } } },
      { data: { events: { id: "2", label: "a-2", seenBy: "org-alice" } } },
    ];
    for (const subscription of [first, second, third]) expect(subscription.received).toEqual(expected);
    // Three subscribers, two events: two executions, not six.
    expect(labelCalls).toBe(2);
  });

  it("never shares between different variables, organisations or credentials", async () => {
    const alice = principalOf("org-alice", "key-alice");
    const aliceOtherKey = principalOf("org-alice", "key-alice-2");
    const bob = principalOf("org-bob", "key-bob");
    const aliceA = await subscribe(alice, "a-");
    const aliceB = await subscribe(alice, "b-");
    const aliceWithOtherKey = await subscribe(aliceOtherKey, "a-");
    const bobA = await subscribe(bob, "a-");
    open.push(aliceA, aliceB, aliceWithOtherKey, bobA);
    await eventually(async () => (subscribers.size === 4 ? true : undefined));
    labelCalls = 0;

    // The same event object reaches all four (the worst case: LiveEventHub never hands one organisation's event to another).
    publish({ id: "7" });
    const all = [aliceA, aliceB, aliceWithOtherKey, bobA];
    await eventually(async () => (all.every((s) => s.received.length === 1) ? true : undefined));

    expect(aliceA.received[0]?.data.events).toEqual({ id: "7", label: "a-7", seenBy: "org-alice" });
    expect(aliceB.received[0]?.data.events).toEqual({ id: "7", label: "b-7", seenBy: "org-alice" });
    expect(aliceWithOtherKey.received[0]?.data.events).toEqual({ id: "7", label: "a-7", seenBy: "org-alice" });
    expect(bobA.received[0]?.data.events).toEqual({ id: "7", label: "a-7", seenBy: "org-bob" });
    expect(labelCalls).toBe(4);
  });

  it("executes events that are not shared objects for each subscriber", async () => {
    const alice = principalOf("org-alice", "key-alice");
    const first = await subscribe(alice, "a-");
    const second = await subscribe(alice, "a-");
    open.push(first, second);
    await eventually(async () => (subscribers.size === 2 ? true : undefined));
    labelCalls = 0;

    // Equal but distinct objects (a first value each subscriber loads for itself) are never mixed up.
    let index = 0;
    for (const subscriber of subscribers) subscriber.push({ id: `own-${index++}` });
    await eventually(async () => ([first, second].every((s) => s.received.length === 1) ? true : undefined));
    const labels = [first, second].map((s) => s.received[0]?.data.events.label).sort();
    expect(labels).toEqual(["a-own-0", "a-own-1"]);
    expect(labelCalls).toBe(2);
  });
});
