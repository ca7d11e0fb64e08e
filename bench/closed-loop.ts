/**
 * Shared by the standalone API benchmarks: their common options (server,
 * key, request count, concurrency), and a closed loop that keeps
 * `concurrency` requests in flight until `requests` have completed.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses --url, --key, --requests and --concurrency plus `extra`; --key is required. */
export function parseApiBenchArgs(defaults: { requests: string; concurrency: string }, extra: Options) {
  const { values } = parseArgs({
    options: {
      url: { type: "string", default: "http://127.0.0.1:4000" },
      key: { type: "string" },
      requests: { type: "string", default: defaults.requests },
      concurrency: { type: "string", default: defaults.concurrency },
      ...extra,
    },
  }) as { values: Record<string, string | undefined> };
  if (!values.key) throw new Error("--key <API key> is required");
  return { values, requests: Number(values.requests), concurrency: Number(values.concurrency) };
}

/** Runs `send` `requests` times, `concurrency` at once; answers the elapsed seconds and sorted latencies (ms). */
export async function runClosedLoop(requests: number, concurrency: number, send: () => Promise<number>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        latencies.push(await send());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (quantile: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * quantile))] ?? 0;
  return { seconds, latencies, at };
}
