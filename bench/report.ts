/**
 * What a run produces: one row per figure (value, its baseline from the same
 * run, the ratio, the target and whether it holds), printed as one table and
 * written as JSON with the machine and PostgreSQL settings it ran on.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { projectRoot, withClient } from "./harness.js";

export interface Row {
  scenario: string;
  figure: string;
  /** null: not measured (see note). */
  value: number | null;
  unit: string;
  baseline?: number | null;
  baselineLabel?: string;
  /** value / baseline, when both exist. */
  ratio?: number | null;
  target?: string;
  /** true / false when a target applies and was measured; null otherwise. */
  pass?: boolean | null;
  note?: string;
}

/** The first line of an error's message: what a table row or a log line says of a failure. */
export function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? error.message) : String(error);
}

/** Percentile by nearest rank of an ascending array; null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

export function summarize(values: number[]): { count: number; p50: number | null; p99: number | null; max: number | null } {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? null };
}

export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (value === null || value === undefined || baseline === null || baseline === undefined || baseline === 0) return null;
  return value / baseline;
}

function formatNumber(value: number | null | undefined, unit = ""): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit ? `${text} ${unit}` : text;
}

export function renderTable(rows: Row[]): string {
  const header = ["scenario", "figure", "baseline", "ratio", "target", "pass/fail"];
  const clip = (text: string) => (text.length > 160 ? `${text.slice(0, 157)}…` : text);
  const cells = rows.map((row) => [
    row.scenario,
    clip(row.value === null ? `${row.figure}: ${row.note ?? "not measured"}` : `${row.figure}: ${formatNumber(row.value, row.unit)}`),
    row.baseline === undefined ? "" : `${formatNumber(row.baseline, row.unit)}${row.baselineLabel ? ` (${row.baselineLabel})` : ""}`,
    row.ratio === undefined || row.ratio === null ? "" : formatNumber(row.ratio),
    row.target ?? "",
    row.pass === undefined || row.pass === null ? (row.target ? "n/a" : "") : row.pass ? "PASS" : "FAIL",
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => (line[column] ?? "").length)));
  const line = (values: string[]) => `| ${values.map((value, column) => value.padEnd(widths[column] ?? 0)).join(" | ")} |`;
  const separator = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`;
  const notes = rows
    .filter((row) => row.value !== null && row.note)
    .map((row) => `  ${row.scenario} / ${row.figure}: ${clip(row.note ?? "")}`);
  return [line(header), separator, ...cells.map(line), ...(notes.length ? ["", "notes:", ...notes] : [])].join("\n");
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: number[];
  platform: string;
  node: string;
  postgres: { version: string; embedded: boolean; settings: Record<string, string> };
}

const POSTGRES_SETTINGS = ["shared_buffers", "synchronous_commit", "max_connections", "fsync", "wal_level", "work_mem", "max_wal_size"];

export async function describeMachine(databaseUrl: string, embedded: boolean): Promise<MachineInfo> {
  const postgres = await withClient(databaseUrl, async (client) => {
    const { rows } = await client.query<{ version: string }>("SELECT version()");
    const settings: Record<string, string> = {};
    for (const name of POSTGRES_SETTINGS) {
      const { rows: value } = await client.query<{ setting: string }>(`SELECT current_setting($1) AS setting`, [name]);
      settings[name] = value[0]?.setting ?? "?";
    }
    return { version: rows[0]?.version ?? "?", embedded, settings };
  });
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
  };
}

export function renderMachine(machine: MachineInfo): string {
  const settings = Object.entries(machine.postgres.settings)
    .map(([name, value]) => `${name}=${value}`)
    .join(", ");
  return [
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, load ${machine.loadAverage.join(" ")}, ${machine.platform}`,
    `node ${machine.node}; ${machine.postgres.version.split(",")[0]}${machine.postgres.embedded ? " (embedded)" : ""}`,
    `postgres: ${settings}`,
  ].join("\n");
}

/** Writes a run's JSON under bench/results, or BENCH_RESULTS_DIR when set (the harness's own test does). */
export async function writeResults(result: unknown, startedAt: Date): Promise<string> {
  const directory = process.env.BENCH_RESULTS_DIR ?? path.join(projectRoot, "bench", "results");
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${startedAt.toISOString().replaceAll(":", "-")}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
