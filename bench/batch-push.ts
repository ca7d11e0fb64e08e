/**
 * Measures batch push throughput against a running Runlater: sends
 * `--requests` batches of `--batch` tasks to POST /api/v1/tasks/batch over
 * keep-alive connections, `--concurrency` at a time, and prints tasks/s.
 *
 *   node --import tsx bench/batch-push.ts --url http://127.0.0.1:4000 --key rl_… [--requests 20] [--batch 1000] [--concurrency 1]
 *
 * Tasks are due in an hour (`--delay`), so a worker sharing the database does
 * not compete with the pushes; the numbers are the API's and PostgreSQL's.
 */
import { parseApiBenchArgs, runClosedLoop } from "./closed-loop.js";

const { values, requests, concurrency } = parseApiBenchArgs(
  { requests: "20", concurrency: "1" },
  {
    batch: { type: "string", default: "1000" },
    delay: { type: "string", default: "1h" },
    warmup: { type: "string", default: "2" },
  },
);
const batchSize = Number(values.batch);

const body = JSON.stringify({
  defaults: { url: "https://example.com/bench", delay: values.delay, retries: 2 },
  tasks: Array.from({ length: batchSize }, (_, index) => ({ body: { index, payload: "x".repeat(64) } })),
});

async function pushBatch(): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${values.url}/api/v1/tasks/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${values.key}`, "content-type": "application/json" },
    body,
  });
  const answer = (await response.json()) as { ids?: string[] };
  if (response.status !== 201 || answer.ids?.length !== batchSize)
    throw new Error(`batch failed: ${response.status} ${JSON.stringify(answer).slice(0, 300)}`);
  return performance.now() - started;
}

for (let index = 0; index < Number(values.warmup); index++) await pushBatch();

const { seconds, latencies } = await runClosedLoop(requests, concurrency, pushBatch);
const tasks = requests * batchSize;
console.log(
  `${tasks} tasks in ${requests} batches of ${batchSize} (concurrency ${concurrency}): ${seconds.toFixed(2)} s, ` +
    `${Math.round(tasks / seconds)} tasks/s; batch latency p50 ${latencies[Math.floor(latencies.length / 2)]?.toFixed(0)} ms, ` +
    `max ${latencies[latencies.length - 1]?.toFixed(0)} ms`,
);
