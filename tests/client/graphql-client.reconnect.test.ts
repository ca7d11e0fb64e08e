/**
 * The dashboard's GraphQL client against a real graphql-ws server on
 * loopback: when the WebSocket is lost and comes back, every query on screen
 * is fetched again (events missed meanwhile are not replayed), and the live
 * indicator says what happened.
 */
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { gql } from "@urql/core";
import { GraphQLInt, GraphQLObjectType, GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { afterEach, describe, expect, it } from "vitest";
import { pipe, subscribe } from "wonka";
import { createRunlaterClient, type LiveState } from "../../client/src/graphql/client";

// Node's ws by its file, not the browser stub this project's "browser" resolution picks for "ws".
const require = createRequire(`${process.cwd()}/package.json`);
const { WebSocket, WebSocketServer } = require(
  path.join(path.dirname(require.resolve("ws/package.json")), "index.js"),
) as typeof import("ws");

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: "Query", fields: { tick: { type: GraphQLInt } } }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      ping: {
        type: GraphQLInt,
        subscribe: async function* ping() {
          for (let count = 0; ; count++) {
            yield { ping: count };
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        },
      },
    },
  }),
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer() {
  const queries: Array<{ csrf: string | undefined }> = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      queries.push({ csrf: request.headers["x-csrf-token"] as string | undefined });
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ data: { tick: queries.length } }));
    });
  });
  const sockets = new WebSocketServer({ server, path: "/graphql" });
  const graphqlWs = useServer({ schema }, sockets);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () => graphqlWs.dispose(),
    () => new Promise((resolve) => server.close(resolve)),
  );
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries, sockets };
}

async function until(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the dashboard's GraphQL client", () => {
  it("fetches the queries on screen again after the WebSocket reconnects, and shows it was reconnecting", async () => {
    const server = await startServer();
    // biome-ignore lint/suspicious/noDocumentCookie: the server sets this cookie; here the test plays the server
    document.cookie = "runlater_csrf=token-from-cookie";
    const runlater = createRunlaterClient({ origin: server.origin, webSocketImpl: WebSocket });
    cleanups.push(() => runlater.dispose());
    const states: LiveState[] = [];
    const watch = setInterval(() => {
      if (states.at(-1) !== runlater.liveState()) states.push(runlater.liveState());
    }, 5);
    cleanups.push(() => clearInterval(watch));

    const ticks: number[] = [];
    const query = pipe(
      runlater.client.query(gql`{ tick }`, {}),
      subscribe((result) => ticks.push(result.data?.tick)),
    );
    const pings: number[] = [];
    const subscription = pipe(
      runlater.client.subscription(gql`subscription { ping }`, {}),
      subscribe((result) => pings.push(result.data?.ping)),
    );
    cleanups.push(query.unsubscribe, subscription.unsubscribe);

    await until(() => ticks.length === 1 && pings.length > 0 && runlater.liveState() === "live");
    expect(server.queries).toEqual([{ csrf: "token-from-cookie" }]);

    // The connection drops (a server restart, a network change).
    for (const socket of server.sockets.clients) socket.terminate();
    await until(() => server.queries.length === 2 && runlater.liveState() === "live");
    await until(() => ticks.at(-1) === 2);
    expect(states).toContain("reconnecting");
    // Read now, not from the 5 ms sampler, which may not have run since the state last changed.
    expect(runlater.liveState()).toBe("live");
    // Live events flow again on the new connection.
    const before = pings.length;
    await until(() => pings.length > before);
  });
});
