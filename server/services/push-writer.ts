/**
 * Group commit for plain pushes (one-off tasks without dedupe, debounce,
 * throttle or schedule): while `maxStatements` pushes are being written, the
 * pushes that arrive meanwhile wait and go out together, an organisation's in
 * one multi-row statement (insertTasks), as soon as a statement finishes.
 *
 * Why: a single-row INSERT costs PostgreSQL a commit and the server a round
 * trip (two system calls) whatever its size, and under load those, not the
 * rows, bound the push rate. Moreover each push statement notifies the
 * workers in its own transaction, and PostgreSQL commits notifying
 * transactions one at a time (tasks.ts): many pushes per statement keep that
 * from capping the push rate. A quiet server writes each push at once, as
 * before; a push never waits for a batch to fill. Each push is answered only
 * once its own row is committed, so nothing changes for the caller.
 */
import type { Pool } from "../db/pool.js";
import type { TaskSpec } from "./task-input.js";
import { insertTasks, type TaskRow } from "./tasks.js";

/** Rows per statement; together with the bytes below, keeps one statement's parameters small. */
const MAX_ROWS_PER_STATEMENT = 100;
const MAX_BODY_BYTES_PER_STATEMENT = 4 * 1024 * 1024;

interface WaitingPush {
  organizationId: string;
  spec: TaskSpec;
  resolve(task: TaskRow): void;
  reject(error: unknown): void;
}

export class PushWriter {
  private readonly waiting: WaitingPush[] = [];
  private writing = 0;

  constructor(
    private readonly pool: Pool,
    /** Statements in flight at once; the pool keeps its other connections for everything else. */
    private readonly maxStatements: number,
  ) {}

  /** Writes a plain push's task and first attempt; resolves once they are committed. */
  write(organizationId: string, spec: TaskSpec): Promise<TaskRow> {
    return new Promise<TaskRow>((resolve, reject) => {
      this.waiting.push({ organizationId, spec, resolve, reject });
      this.startStatements();
    });
  }

  private startStatements(): void {
    while (this.writing < this.maxStatements && this.waiting.length > 0) {
      const group = this.takeGroup();
      this.writing += 1;
      void this.writeGroup(group).finally(() => {
        this.writing -= 1;
        this.startStatements();
      });
    }
  }

  /** The oldest waiting push and the other waiting pushes of its organisation, in arrival order, within the limits. */
  private takeGroup(): WaitingPush[] {
    const organizationId = (this.waiting[0] as WaitingPush).organizationId;
    const group: WaitingPush[] = [];
    const rest: WaitingPush[] = [];
    let bodyBytes = 0;
    for (const push of this.waiting) {
      const size = push.spec.body?.length ?? 0;
      const fits =
        push.organizationId === organizationId &&
        group.length < MAX_ROWS_PER_STATEMENT &&
        (group.length === 0 || bodyBytes + size <= MAX_BODY_BYTES_PER_STATEMENT);
      if (fits) {
        group.push(push);
        bodyBytes += size;
      } else {
        rest.push(push);
      }
    }
    this.waiting.splice(0, this.waiting.length, ...rest);
    return group;
  }

  private async writeGroup(group: WaitingPush[]): Promise<void> {
    const organizationId = (group[0] as WaitingPush).organizationId;
    try {
      const tasks = await insertTasks(
        this.pool,
        organizationId,
        group.map((push) => push.spec),
      );
      for (const [index, push] of group.entries()) push.resolve(tasks[index] as TaskRow);
    } catch (error) {
      if (group.length === 1) {
        (group[0] as WaitingPush).reject(error);
        return;
      }
      // The statement is atomic, so none of its rows was written. Each push is tried again on its own, so a push
      // that cannot be written fails alone and the others succeed.
      await Promise.all(
        group.map((push) =>
          insertTasks(this.pool, organizationId, [push.spec]).then(([task]) => push.resolve(task as TaskRow), push.reject),
        ),
      );
    }
  }
}
