/**
 * Tells the dispatcher when to look for work, so that it neither polls in a
 * tight loop nor sleeps through a due attempt:
 *  - a NOTIFY on DISPATCH_CHANNEL (sent when an attempt is enqueued) wakes it
 *    at once, or arms a timer for the attempt's due time;
 *  - after a short take it arms the timer for the next due attempt, which the
 *    take read (covers attempts pushed while this worker was down);
 *  - a slow backstop poll covers a lost LISTEN connection.
 */
import pg from "pg";
import type { Logger } from "../server/logger.js";
import { DISPATCH_CHANNEL } from "../server/services/dispatch-queue.js";

const BACKSTOP_POLL_MS = 2000;
const RECONNECT_DELAY_MS = 1000;
/**
 * When an admitted attempt is due but was not fetched (its organisation is at its
 * concurrency limit, or another worker claimed it a moment ago), look again after this long.
 */
const DUE_BUT_NOT_FETCHED_RETRY_MS = 200;

/** Timers are armed this much after a due time: Node may fire one up to a millisecond before it. */
const TIMER_MARGIN_MS = 1;

/** The longest delay setTimeout honours. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class DispatchWakeups {
  private listener: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private waiter: (() => void) | null = null;
  /** A wake-up for work (notification, timer, backstop) arrived while the loop was busy. */
  private pendingWake = false;
  /** An attempt left a stage while the loop was busy (see wakeForRoom). */
  private pendingRoom = false;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.connectListener();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.wake();
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  /** Resolves at the next wake-up (notification, timer, backstop or stop). */
  async waitForWork(): Promise<void> {
    if (this.pendingWake || this.pendingRoom || this.stopped) {
      this.pendingWake = false;
      this.pendingRoom = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const backstop = setTimeout(() => this.wake(), BACKSTOP_POLL_MS);
      this.waiter = () => {
        clearTimeout(backstop);
        resolve();
      };
    });
  }

  wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter();
    else this.pendingWake = true;
  }

  /**
   * Wakes the loop because an attempt left a stage: room for more, not new work. Unlike a wake for work, one that
   * arrived while the loop was busy can be forgotten (forgetRoom) once the loop knows nothing is left to take.
   */
  wakeForRoom(): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter();
    else this.pendingRoom = true;
  }

  forgetRoom(): void {
    this.pendingRoom = false;
  }

  /** Arms the timer for `dueAt` (epoch ms) unless an earlier one is armed. */
  wakeAt(dueAt: number): void {
    const delay = dueAt - Date.now();
    if (delay <= 0) {
      this.wake();
      return;
    }
    if (dueAt >= this.timerDueAt) return;
    this.clearTimer();
    this.timerDueAt = dueAt;
    // setTimeout fires at once for delays beyond 2^31-1 ms (~24.8 days): a task due next year would
    // otherwise wake the fetch loop in a tight circle. An early wake-up finds nothing and re-arms.
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerDueAt = Number.POSITIVE_INFINITY;
        this.wake();
      },
      Math.min(delay, MAX_TIMER_DELAY_MS),
    );
  }

  /**
   * After a take found less than it asked for: arms the timer for the next attempt due (which the take read, null if
   * none). Says whether that attempt is due already (left unfetched: its organisation is at its limit, or another
   * worker just took it) or later (or never).
   */
  armForNextDue(nextDue: Date | null): "due" | "later" {
    const due = nextDue?.getTime();
    if (due === undefined) return "later";
    const now = Date.now();
    // Not due yet: wake just after its time (a timer may fire up to a millisecond early). Due already but not fetched:
    // look again in a while, not in a tight loop.
    this.wakeAt(due > now ? due + TIMER_MARGIN_MS : now + DUE_BUT_NOT_FETCHED_RETRY_MS);
    return due > now ? "later" : "due";
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDueAt = Number.POSITIVE_INFINITY;
  }

  private async connectListener(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: "runlater-worker-listen" });
    client.on("notification", (message) => {
      const dueAt = Number(message.payload);
      if (Number.isFinite(dueAt)) this.wakeAt(dueAt);
      else this.wake();
    });
    client.on("error", (error) => {
      this.logger.warn({ err: error }, "dispatch LISTEN connection failed; reconnecting");
      this.reconnectLater(client);
    });
    client.on("end", () => this.reconnectLater(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${DISPATCH_CHANNEL}`);
      this.listener = client;
      // Anything enqueued while we were not listening is found by a fetch.
      this.wake();
    } catch (error) {
      this.logger.warn({ err: error }, "could not LISTEN for dispatch wake-ups; polling until it can");
      this.reconnectLater(client);
    }
  }

  private readonly abandonedClients = new WeakSet<pg.Client>();

  private reconnectLater(client: pg.Client): void {
    // 'error' and 'end' both fire for one failure: reconnect once per client.
    if (this.stopped || this.abandonedClients.has(client)) return;
    this.abandonedClients.add(client);
    if (this.listener === client) this.listener = null;
    client.removeAllListeners("end");
    client.end().catch(() => undefined);
    setTimeout(() => void this.connectListener(), RECONNECT_DELAY_MS).unref();
  }
}
