/**
 * The benchmark harness (`npm run bench`): its arithmetic, and one real quick run of two scenarios end to end — a
 * server and a worker started as a user would, driven over HTTP, each figure beside its baseline from the same run,
 * the machine recorded, the JSON written. Figures are not asserted against targets here: speed lives in the
 * benchmark; this only keeps the harness working and its correctness checks honest.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { deliveryCheck, type Sink } from "../../bench/http.js";
import { type PlanSummary, usesIndex } from "../../bench/query-plans.js";
import { percentile, type Row, ratio, renderTable, summarize } from "../../bench/report.js";
import { projectPath } from "../../server/project-root.js";

describe("the harness's arithmetic", () => {
  it("takes percentiles by nearest rank", () => {
    const values = Array.from({ length: 200 }, (_, index) => 200 - index);
    expect(summarize(values)).toEqual({ count: 200, p50: 100, p99: 198, max: 200 });
    expect(percentile([7], 99)).toBe(7);
    expect(summarize([])).toEqual({ count: 0, p50: null, p99: null, max: null });
  });

  it("gives no ratio without a baseline", () => {
    expect(ratio(30, 60)).toBe(0.5);
    expect(ratio(30, 0)).toBeNull();
    expect(ratio(null, 60)).toBeNull();
    expect(ratio(30, undefined)).toBeNull();
  });

  it("counts losses and duplicates against the ids pushed", () => {
    const delivery = (attempt: number) => ({ executionId: `e${attempt}`, attempt, wallMs: 0, perfMs: 0 });
    const deliveries = new Map([
      ["a", [delivery(1)]],
      ["b", [delivery(1), delivery(1), delivery(2)]],
      ["stray", [delivery(1)]],
    ]);
    expect(deliveryCheck({ url: "", deliveries } as unknown as Sink, ["a", "b", "c"])).toEqual({ expected: 3, lost: 1, duplicates: 2 });
  });

  it("calls a plan indexed only when it reads an index and scans no large table whole", () => {
    const plan = (indexes: string[], rowsRead: number) => ({ indexes, seqScans: [{ relation: "executions", rowsRead }] }) as PlanSummary;
    expect(usesIndex(plan(["executions_pkey"], 12))).toBe(true);
    expect(usesIndex(plan(["executions_pkey"], 50_000))).toBe(false);
    expect(usesIndex(plan([], 0))).toBe(false);
  });

  it("prints PASS, FAIL, n/a and unmeasured figures with their notes", () => {
    const rows: Row[] = [
      { scenario: "4 latency", figure: "p99", value: 12.345, unit: "ms", baseline: 6, ratio: 2.06, target: "≤ 30 ms", pass: true },
      { scenario: "4 latency", figure: "ratio", value: 2.06, unit: "", target: "≤ 1.5", pass: false, note: "twice pg-boss" },
      { scenario: "9 memory", figure: "server RSS", value: null, unit: "MiB", target: "≤ 300 MiB", pass: null, note: "needs 1 or 3" },
    ];
    const table = renderTable(rows).split("\n");
    expect(table[2]).toMatch(/\| 4 latency +\| p99: 12\.3 ms +\| 6 ms +\| 2\.06 +\| ≤ 30 ms +\| PASS +\|/);
    expect(table[3]).toMatch(/\| ratio: 2\.06 .*\| FAIL +\|/);
    expect(table[4]).toMatch(/\| server RSS: needs 1 or 3 .*\| n\/a +\|/);
    expect(table.slice(-2)).toEqual(["notes:", "  4 latency / ratio: twice pg-boss"]);
  });
});

describe("a quick run", () => {
  it("runs scenarios 4 and 5 against a real server and worker, and writes the table and the JSON", async () => {
    const resultsDir = await mkdtemp(path.join(os.tmpdir(), "runlater-bench-"));
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        // --no-build: the global setup built dist/, which other test files run while this one does.
        ["--import", "tsx", projectPath("bench", "run.ts"), "--quick", "--only=4,5", "--no-build"],
        {
          cwd: projectPath(),
          env: { ...process.env, DATABASE_URL: inject("adminDatabaseUrl"), BENCH_RESULTS_DIR: resultsDir },
          maxBuffer: 16 * 1024 * 1024,
          timeout: 240_000,
        },
      );
      expect(stdout).toMatch(/^machine: \d+ cores/m);
      expect(stdout).toMatch(/^postgres: .*synchronous_commit=/m);
      expect(stdout).toMatch(/^\| 4 dispatch latency +\| p99 push → delivery: .* ms +\| .* ms \(pg-boss send → work\) +\|/m);

      const [file] = await readdir(resultsDir);
      const result = JSON.parse(await readFile(path.join(resultsDir, file as string), "utf8")) as {
        mode: string;
        only: number[];
        machine: { cpus: number; memoryGiB: number; postgres: { version: string; settings: Record<string, string> } };
        rows: Row[];
      };
      expect(result).toMatchObject({ mode: "quick", only: [4, 5] });
      expect(result.machine.cpus).toBeGreaterThan(0);
      expect(result.machine.memoryGiB).toBeGreaterThan(0);
      expect(result.machine.postgres.version).toMatch(/^PostgreSQL \d+/);
      expect(result.machine.postgres.settings).toHaveProperty("synchronous_commit");

      // No scenario failed to run, and each figure stands beside its baseline from the same run.
      expect(result.rows.filter((row) => row.figure === "error")).toEqual([]);
      const figure = (scenario: string, name: string) => result.rows.find((row) => row.scenario === scenario && row.figure === name);
      for (const name of ["p50 push → delivery", "p99 push → delivery"]) {
        const row = figure("4 dispatch latency", name);
        expect(row?.value).toBeGreaterThan(0);
        expect(row?.baseline).toBeGreaterThan(0);
        expect(row?.ratio).toBeCloseTo((row?.value ?? 0) / (row?.baseline ?? 1), 6);
        expect(typeof row?.pass).toBe("boolean");
      }
      // Correctness is checked while measuring: everything pushed was delivered, once, and never early.
      for (const scenario of ["4 dispatch latency", "5 delayed lateness"]) {
        expect(figure(scenario, "lost + duplicated")).toMatchObject({ value: 0, pass: true });
      }
      expect(figure("5 delayed lateness", "delivered early")).toMatchObject({ value: 0, pass: true });
      expect(figure("5 delayed lateness", "p99 received − due")?.value).toBeGreaterThanOrEqual(0);
    } finally {
      await rm(resultsDir, { recursive: true, force: true });
    }
  }, 300_000);
});
