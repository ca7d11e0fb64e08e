/**
 * Callbacks: Runlater telling a task's owner how its attempts went.
 *
 * - `callbackUrl` receives a summary of every attempt (`callbackOn:
 *   EVERY_ATTEMPT`) or only of the last one (`FINAL`, the default): the one
 *   after which nothing is retried, whether the task SUCCEEDED, FAILED or was
 *   cancelled while the attempt was in flight.
 * - `onFailureUrl` receives the same summary once, when the final attempt
 *   fails (for a one-off task: when the task ends FAILED), never per attempt.
 *
 * Each delivery is an ordinary task of type CALLBACK (POST, JSON body,
 * `sourceTaskId` = the task reported on), written in the transaction that
 * records the attempt's outcome: a callback is never lost nor sent for an
 * outcome that was rolled back, and it is signed, retried and recorded like
 * any task. A CALLBACK task never has callbacks of its own, so a failing
 * callback endpoint cannot start a chain of callbacks about callbacks.
 */
import type { PoolClient } from "../db/pool.js";
import type { AttemptVerdict } from "./retry-policy.js";
import type { TaskSpec } from "./task-input.js";
import { insertTasks, type TaskRow } from "./tasks.js";

/** Retries of a callback delivery: 6 attempts over about a minute of backoff. */
export const CALLBACK_RETRIES = 5;
export const CALLBACK_TIMEOUT_MS = 10_000;
/** How much of the reported attempt's response body a callback carries. */
export const CALLBACK_BODY_EXCERPT_BYTES = 1024;

/** What the callback is about: an attempt that finished, or a task that ended FAILED. */
export type CallbackEvent = "attempt.finished" | "task.failed";

/** The JSON body a callback POSTs. */
export interface CallbackPayload {
  event: CallbackEvent;
  /** True when nothing is retried after this attempt. */
  final: boolean;
  task: { id: string; name: string | null; queue: string | null; status: string };
  execution: {
    id: string;
    attempt: number;
    status: string;
    scheduledFor: string;
    startedAt: string | null;
    finishedAt: string | null;
    durationMs: number | null;
  };
  status: string;
  responseStatus: number | null;
  durationMs: number | null;
  /** The first 1 KiB of the response body (cut at a character boundary). */
  bodyExcerpt: string | null;
  error: string | null;
}

/** An attempt whose outcome settleAttempt has just written (task and execution rows updated). */
export interface SettledAttempt {
  executionId: string;
  /** The task as it was claimed: its callback settings. */
  task: TaskRow;
  verdict: AttemptVerdict;
  /** The task was cancelled while the attempt was in flight: nothing is retried. */
  cancelled: boolean;
}

/**
 * Creates the CALLBACK tasks an attempt's outcome calls for, on `client`, in
 * the caller's transaction. Costs nothing (no query) for tasks without
 * callbacks.
 */
export async function scheduleCallbacks(client: PoolClient, settled: SettledAttempt): Promise<void> {
  const { task, verdict, cancelled } = settled;
  if (task.type === "CALLBACK" || (!task.callbackUrl && !task.onFailureUrl)) return;
  const final = verdict.kind !== "retry" || cancelled;
  const deliveries: Array<{ url: string; event: CallbackEvent }> = [];
  if (task.callbackUrl && (final || task.callbackOn === "EVERY_ATTEMPT")) {
    deliveries.push({ url: task.callbackUrl, event: "attempt.finished" });
  }
  if (task.onFailureUrl && verdict.kind === "failed" && !cancelled) {
    deliveries.push({ url: task.onFailureUrl, event: "task.failed" });
  }
  if (deliveries.length === 0) return;

  const summary = await readAttemptSummary(client, settled.executionId);
  const now = new Date();
  await insertTasks(
    client,
    task.organizationId,
    deliveries.map(({ url, event }) => ({
      ...callbackRequest(url, { event, final, ...summary }, now),
      type: "CALLBACK" as const,
      sourceTaskId: task.id,
    })),
  );
}

/** The request of a CALLBACK task: a JSON POST, due now, outside any queue. */
function callbackRequest(url: string, payload: CallbackPayload, now: Date): TaskSpec {
  return {
    url,
    method: "POST",
    headers: {},
    body: JSON.stringify(payload),
    bodyEncoding: "JSON",
    runAt: now,
    retries: CALLBACK_RETRIES,
    timeoutMs: CALLBACK_TIMEOUT_MS,
    name: payload.event,
    queue: null,
    callbackUrl: null,
    callbackOn: null,
    onFailureUrl: null,
  };
}

/** The task and execution as settleAttempt left them (so the status is the one just recorded). */
async function readAttemptSummary(client: PoolClient, executionId: string): Promise<Omit<CallbackPayload, "event" | "final">> {
  const { rows } = await client.query<{
    taskId: string;
    name: string | null;
    queue: string | null;
    taskStatus: string;
    attempt: number;
    status: string;
    scheduledFor: Date;
    startedAt: Date | null;
    finishedAt: Date | null;
    durationMs: number | null;
    responseStatus: number | null;
    bodyStart: string | null;
    error: string | null;
  }>(
    `SELECT t.id AS "taskId", t.name, t.queue, t.status AS "taskStatus", e.attempt, e.status,
            e.scheduled_for AS "scheduledFor", e.started_at AS "startedAt", e.finished_at AS "finishedAt",
            e.duration_ms AS "durationMs", e.response_status AS "responseStatus",
            left(e.response_body, $2) AS "bodyStart", e.error
     FROM executions e JOIN tasks t ON t.id = e.task_id
     WHERE e.id = $1`,
    [executionId, CALLBACK_BODY_EXCERPT_BYTES],
  );
  const row = rows[0];
  if (!row) throw new Error(`execution ${executionId} disappeared while its outcome was being recorded`);
  const iso = (value: Date | null) => (value === null ? null : value.toISOString());
  return {
    task: { id: row.taskId, name: row.name, queue: row.queue, status: row.taskStatus },
    execution: {
      id: executionId,
      attempt: row.attempt,
      status: row.status,
      scheduledFor: row.scheduledFor.toISOString(),
      startedAt: iso(row.startedAt),
      finishedAt: iso(row.finishedAt),
      durationMs: row.durationMs,
    },
    status: row.status,
    responseStatus: row.responseStatus,
    durationMs: row.durationMs,
    bodyExcerpt: row.bodyStart === null ? null : utf8Prefix(row.bodyStart, CALLBACK_BODY_EXCERPT_BYTES),
    error: row.error,
  };
}

/** The longest prefix of `text` that is at most `maxBytes` in UTF-8, without splitting a character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  let end = 0;
  let bytes = 0;
  for (const character of text) {
    const size = Buffer.byteLength(character, "utf8");
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}
