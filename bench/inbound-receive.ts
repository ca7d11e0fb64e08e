/**
 * Measures inbound webhook intake against a running Runlater: creates an
 * endpoint forwarding to `--destinations` URLs, then sends `--requests`
 * webhooks of `--size` bytes to /in/{slug}, `--concurrency` at a time, and
 * prints events/s and the latency of the 202 (event and its forwards
 * committed).
 *
 *   node --import tsx bench/inbound-receive.ts --url http://127.0.0.1:4000 --key rl_… [--requests 2000] [--concurrency 16]
 *
 * Run the server alone (`npm run start:server`) to measure intake without a
 * worker delivering the forwards on the same machine.
 */
import { parseApiBenchArgs, runClosedLoop } from "./closed-loop.js";

const { values, requests, concurrency } = parseApiBenchArgs(
  { requests: "2000", concurrency: "16" },
  { destinations: { type: "string", default: "3" }, size: { type: "string", default: "2048" } },
);

const created = await fetch(`${values.url}/api/v1/endpoints`, {
  method: "POST",
  headers: { authorization: `Bearer ${values.key}`, "content-type": "application/json" },
  body: JSON.stringify({
    name: "bench",
    forwardUrls: Array.from({ length: Number(values.destinations) }, (_, index) => `https://example.com/bench/${index}`),
  }),
});
const endpoint = (await created.json()) as { slug?: string };
if (created.status !== 201 || !endpoint.slug)
  throw new Error(`could not create the endpoint: ${created.status} ${JSON.stringify(endpoint)}`);
const body = JSON.stringify({ type: "bench.event", payload: "x".repeat(Math.max(0, Number(values.size) - 40)) });

async function send(): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${values.url}/in/${endpoint.slug}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await response.arrayBuffer();
  if (response.status !== 202) throw new Error(`webhook answered ${response.status}`);
  return performance.now() - started;
}

for (let index = 0; index < 20; index++) await send();
const { seconds, at } = await runClosedLoop(requests, concurrency, send);
console.log(
  `${requests} webhooks of ${body.length} bytes, ${values.destinations} forwards each (concurrency ${concurrency}): ` +
    `${seconds.toFixed(2)} s, ${Math.round(requests / seconds)} events/s; 202 latency p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
);
