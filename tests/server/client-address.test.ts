/**
 * Behind a trusted proxy (RUNLATER_TRUST_PROXY=true) the client's address is the last X-Forwarded-For entry, the one
 * the proxy appended, on every route that records or counts it: earlier entries are whatever the client sent.
 */
import { describe, expect, it } from "vitest";
import { ALICE_KEY, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance({ env: { RUNLATER_TRUST_PROXY: "true" } });
/** A client claiming to be 6.6.6.6, seen by the proxy as 203.0.113.5 (the entry the proxy appended). */
const forged = { "x-forwarded-for": "6.6.6.6, 203.0.113.5" };

describe("the client's address behind a trusted proxy", () => {
  it("is the proxy's own entry for inbound events and monitor pings", async () => {
    const endpoint = await rest<{ slug: string }>(runlater.instance, ALICE_KEY, "POST", "/endpoints", { name: "proxied", forwardUrls: [] });
    const received = await fetch(`${runlater.instance.url}/in/${endpoint.body.slug}`, { method: "POST", headers: forged, body: "{}" });
    const { id } = (await received.json()) as { id: string };
    const event = await rest<{ sourceIp: string }>(runlater.instance, ALICE_KEY, "GET", `/events/${id}`);
    expect(event.body.sourceIp).toBe("203.0.113.5");

    const monitor = await rest<{ id: string; token: string }>(runlater.instance, ALICE_KEY, "POST", "/monitors", {
      name: "proxied",
      intervalSeconds: 3600,
    });
    expect((await fetch(`${runlater.instance.url}/ping/${monitor.body.token}`, { headers: forged })).status).toBe(200);
    const pings = await rest<{ edges: Array<{ node: { sourceIp: string } }> }>(
      runlater.instance,
      ALICE_KEY,
      "GET",
      `/monitors/${monitor.body.id}/pings`,
    );
    expect(pings.body.edges.map((edge) => edge.node.sourceIp)).toEqual(["203.0.113.5"]);
  });
});
