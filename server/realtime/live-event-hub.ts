/**
 * The live event hub of one server process: PostgreSQL notifications in,
 * GraphQL subscription streams out.
 *
 * Why this shape (measured with bench/realtime.ts):
 *  - Publishing happens in the database (statement-level triggers, migration
 *    `realtime_events`), so every writer — API, worker on another machine,
 *    cron, callbacks — publishes without code of its own, and a batch write
 *    costs one NOTIFY per organisation and 100 rows, not one per row.
 *  - Notifications carry ids and statuses, not rows. Each process holds ONE
 *    dedicated LISTEN connection, which also loads the rows (measured: the
 *    API pool's queue under 100 pushes/s added hundreds of milliseconds);
 *    notifications arriving while a batch is being loaded form the next batch. A batch loads rows once,
 *    skipping those no subscription here could receive (see receivable():
 *    by organisation, kind and, for executionUpdates(status:), status), then
 *    fans them out. A burst
 *    that moves an execution through several states before it is loaded
 *    still yields one event per state: the row is loaded once and emitted
 *    with each notified status in order (its other fields show the latest).
 *  - Topics are typed (LiveTopics) and keyed by organisation, so a filter a
 *    client passes can only narrow what its own organisation publishes.
 *    Yoga's in-memory createPubSub would work across processes only through an
 *    EventTarget fed by this listener; its per-subscriber Repeater buffers with
 *    no bound we choose, so the hub keeps its own bounded streams instead.
 *  - Every subscription has a bounded buffer. A consumer that falls more than
 *    `subscriberBufferSize` events behind (a slow or stalled socket: graphql-ws
 *    waits for each send) has its connection closed with 1013 (try again
 *    later); it reconnects and refetches. Nothing waits on a subscriber.
 *  - When the LISTEN connection drops, notifications may have been lost: on
 *    reconnect (with backoff) every live connection is closed with 1012
 *    (service restart), and clients resubscribe and refetch what they missed.
 *  - Connections are re-authorised when one of their organisation's API keys
 *    is revoked or one of its sessions or memberships ends (triggers notify:
 *    a log-out, a removed member), and every `recheckIntervalMs` (an expired
 *    session), so lost credentials lose their connections promptly.
 */
import pg from "pg";
import type { Pool } from "../db/pool.js";
import type { Monitor, Task } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import type { ApiKeyCache } from "../services/api-key-cache.js";
import type { Principal } from "../services/api-keys.js";
import {
  type ActivityEvent,
  decodeChannelNotification,
  type ExecutionWithTask,
  executionActivity,
  LIVE_CHANNELS,
  type LiveInboundEvent,
  type LiveNotification,
  loadLiveRows,
  taskActivity,
} from "../services/live-events.js";
import { getQueue, type QueueRow, type QueueStats, queueStats } from "../services/queues.js";

export type QueueWithDepth = QueueRow & { depth: QueueStats };

/** What each topic carries. Topics are per organisation; `task` and `queue` also per task id / queue name. */
export interface LiveTopics {
  executions: ExecutionWithTask;
  task: Task;
  activity: ActivityEvent;
  queue: QueueWithDepth;
  /** A monitor after a ping, a state change or a settings change (the latest state once per batch). */
  monitor: Monitor;
  /** A webhook an inbound endpoint received, accepted or rejected. */
  inboundEvent: LiveInboundEvent;
}
type TopicKind = keyof LiveTopics;

/** WebSocket close codes the hub uses; clients (graphql-ws) reconnect after each. */
export const LIVE_CLOSE = {
  slowConsumer: { code: 1013, reason: "subscriber too slow: events were dropped; reconnect and refetch" },
  resync: { code: 1012, reason: "live events were interrupted; reconnect and refetch" },
  shutdown: { code: 1001, reason: "server shutting down" },
  revoked: { code: 4403, reason: "credentials revoked" },
} as const;

/** A live client connection, as the hub needs to see it. */
export interface LiveConnection {
  organizationId: string;
  /** What authenticated it: an API key, or a dashboard session (its cookie). */
  via: Principal["via"];
  /** Re-runs authentication with the connection's credentials. */
  stillAuthorized(): Promise<boolean>;
  close(code: number, reason: string): void;
}

export interface LiveEventHubOptions {
  databaseUrl: string;
  pool: Pool;
  logger: Logger;
  /** Events a subscription may fall behind by before its connection is closed. */
  subscriberBufferSize: number;
  /** How often every connection's credentials are checked again. */
  recheckIntervalMs: number;
  /** At most one queueStats event per queue per this many milliseconds. */
  queueStatsIntervalMs?: number;
  /** Told of revoked keys (before connections are re-authorised), and to forget every key when notifications may have been lost. */
  apiKeys?: ApiKeyCache;
}

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 15_000;
const DEFAULT_QUEUE_STATS_INTERVAL_MS = 250;

interface Subscriber<T> {
  organizationId: string;
  accepts(value: T): boolean;
  /** `executions` only: the statuses `accepts` can let through (all when absent). */
  statuses?: ReadonlySet<string>;
  stream: BoundedStream<T>;
}

export class LiveEventHub {
  private readonly topics = new Map<string, Set<Subscriber<unknown>>>();
  /** Subscriptions per kind and organisation ("kind:organizationId"): what no subscription here can receive is not loaded. */
  private readonly interest = new Map<string, number>();
  /** Subscriptions per organisation: notifications of other organisations are dropped as they arrive. */
  private readonly organizations = new Map<string, number>();
  private readonly connections = new Set<LiveConnection>();
  /** "via:organizationId" of re-checks due at the next turn (recheckSoon). */
  private readonly pendingRechecks = new Set<string>();
  private readonly queueRefreshes = new Map<string, { timer: NodeJS.Timeout | null; lastAt: number }>();
  private listener: pg.Client | null = null;
  private pending: LiveNotification[] = [];
  private flushing: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private recheckTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private requestedRowCount = 0;
  private readonly shutdownSteps: Array<() => Promise<void>> = [];

  constructor(private readonly options: LiveEventHubOptions) {}

  async start(): Promise<void> {
    await this.connectListener();
    this.recheckTimer = setInterval(() => this.recheckConnections(() => true), this.options.recheckIntervalMs);
    this.recheckTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    for (const refresh of this.queueRefreshes.values()) if (refresh.timer) clearTimeout(refresh.timer);
    this.closeConnections(LIVE_CLOSE.shutdown);
    for (const step of this.shutdownSteps)
      await step().catch((error) => this.options.logger.warn({ err: error }, "live events: shutdown step failed"));
    for (const subscribers of this.topics.values()) for (const subscriber of subscribers) subscriber.stream.end();
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
    await this.flushing;
  }

  /** Runs `step` when the hub stops (the WebSocket server closing its connections). */
  onStop(step: () => Promise<void>): void {
    this.shutdownSteps.push(step);
  }

  /** Registers a live connection for re-authorisation and shutdown; returns its unregister function. */
  addConnection(connection: LiveConnection): () => void {
    this.connections.add(connection);
    return () => this.connections.delete(connection);
  }

  /**
   * A stream of `kind` events of one organisation (and one task id or queue
   * name for `task` and `queue`) that pass `accepts`. `onOverflow` runs when
   * the consumer falls `subscriberBufferSize` events behind; the stream ends.
   */
  subscribe<K extends TopicKind>(
    kind: K,
    organizationId: string,
    options: {
      key?: string;
      accepts?: (value: LiveTopics[K]) => boolean;
      /** `executions` only: attempts notified in another status are not loaded for this subscription. */
      statuses?: ReadonlySet<string>;
      onOverflow?: () => void;
    } = {},
  ): AsyncIterableIterator<LiveTopics[K]> {
    const topic = topicName(kind, organizationId, options.key);
    const subscribers = this.topics.get(topic) ?? new Set();
    this.topics.set(topic, subscribers);
    const interestKey = topicName(kind, organizationId);
    count(this.interest, interestKey, +1);
    count(this.organizations, organizationId, +1);
    const subscriber: Subscriber<LiveTopics[K]> = {
      organizationId,
      accepts: options.accepts ?? (() => true),
      statuses: options.statuses,
      stream: new BoundedStream<LiveTopics[K]>(
        this.options.subscriberBufferSize,
        () => {
          subscribers.delete(subscriber as unknown as Subscriber<unknown>);
          if (!subscribers.size) this.topics.delete(topic);
          count(this.interest, interestKey, -1);
          count(this.organizations, organizationId, -1);
        },
        () => options.onOverflow?.(),
      ),
    };
    subscribers.add(subscriber as unknown as Subscriber<unknown>);
    return subscriber.stream;
  }

  /** The queue with its depth as a queueStats subscriber sees it. */
  async loadQueue(organizationId: string, name: string): Promise<QueueWithDepth> {
    const queue = await getQueue(this.options.pool, organizationId, name);
    const depth = (await queueStats(this.options.pool, organizationId, [name])).get(name) as QueueStats;
    return { ...queue, depth };
  }

  /**
   * Ids of executions, tasks, monitors and inbound events that batches on this process have named for loading so far
   * (tasks loaded only as an execution's task are not counted; for tests and metrics).
   */
  get rowsRequested(): number {
    return this.requestedRowCount;
  }

  /** Number of subscriptions open on this process (for tests and metrics). */
  get subscriptionCount(): number {
    let total = 0;
    for (const value of this.organizations.values()) total += value;
    return total;
  }

  private publish<K extends TopicKind>(kind: K, organizationId: string, value: LiveTopics[K], key?: string): void {
    const subscribers = this.topics.get(topicName(kind, organizationId, key)) as unknown as Set<Subscriber<LiveTopics[K]>> | undefined;
    if (!subscribers) return;
    for (const subscriber of subscribers) if (subscriber.accepts(value)) subscriber.stream.push(value);
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, application_name: "runlater-live-events", keepAlive: true });
    client.on("notification", (message) => {
      if (!message.payload) return;
      const notification = decodeChannelNotification(message.channel, message.payload);
      if (notification) this.enqueue(notification);
    });
    const lost = (error?: Error) => {
      if (this.listener !== client) return;
      this.listener = null;
      this.options.apiKeys?.clear();
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.options.logger.warn({ err: error }, "live events: LISTEN connection lost; reconnecting");
      this.scheduleReconnect();
    };
    client.on("error", lost);
    client.on("end", () => lost());
    await client.connect();
    for (const channel of LIVE_CHANNELS) await client.query(`LISTEN ${channel}`);
    this.listener = client;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connectListener().then(
        () => {
          this.reconnectDelayMs = RECONNECT_MIN_MS;
          this.options.logger.info("live events: LISTEN connection restored; asking clients to resynchronise");
          this.closeConnections(LIVE_CLOSE.resync);
        },
        (error: unknown) => {
          this.options.logger.warn({ err: error, retryInMs: this.reconnectDelayMs }, "live events: reconnect failed");
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  private enqueue(notification: LiveNotification): void {
    if (notification.kind === "apiKeyRevoked" || notification.kind === "accessEnded") {
      if (notification.kind === "apiKeyRevoked") this.options.apiKeys?.forget(notification.apiKeyIds);
      this.recheckSoon(notification.organizationId, notification.kind === "apiKeyRevoked" ? "apiKey" : "session");
      return;
    }
    // Only the organisation here: which kinds and statuses are wanted is decided when the batch is loaded, so that a
    // subscription starting meanwhile still receives what arrived just before it.
    if (!this.organizations.has(notification.organizationId)) return;
    this.pending.push(notification);
    // Start on the next turn, so notifications read from the same socket chunk (one commit) form one batch.
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /**
   * Loads and fans out batches until none is pending; notifications arriving
   * meanwhile form the next batch. A batch costs at most four queries (two
   * for executions and tasks), whatever its size and however many
   * organisations it spans.
   */
  private async flush(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.flatMap((notification) => this.receivable(notification) ?? []);
        this.pending = [];
        if (!batch.length) continue;
        const executionIds = new Set<string>();
        const taskIds = new Set<string>();
        const monitorIds = new Set<string>();
        const inboundEventIds = new Set<string>();
        const byOrganization = new Map<string, LiveNotification[]>();
        for (const notification of batch) {
          if (notification.kind === "execution") for (const { id } of notification.executions) executionIds.add(id);
          else if (notification.kind === "task") for (const { id } of notification.tasks) taskIds.add(id);
          else if (notification.kind === "monitor") for (const id of notification.monitorIds) monitorIds.add(id);
          else if (notification.kind === "inboundEvent") for (const id of notification.eventIds) inboundEventIds.add(id);
          const list = byOrganization.get(notification.organizationId) ?? [];
          list.push(notification);
          byOrganization.set(notification.organizationId, list);
        }
        this.requestedRowCount += executionIds.size + taskIds.size + monitorIds.size + inboundEventIds.size;
        try {
          // On the LISTEN connection itself: it is otherwise idle, and the API's pool may be busy with pushes.
          const rows = await loadLiveRows(this.listener ?? this.options.pool, {
            executionIds: [...executionIds],
            taskIds: [...taskIds],
            monitorIds: [...monitorIds],
            inboundEventIds: [...inboundEventIds],
          });
          const executionsById = new Map(rows.executions.map((execution) => [execution.id, execution]));
          const tasksById = new Map(rows.tasks.map((task) => [task.id, task]));
          for (const [organizationId, notifications] of byOrganization) {
            this.deliver(organizationId, notifications, executionsById, tasksById);
          }
          for (const monitor of rows.monitors) this.publish("monitor", monitor.organizationId, monitor);
          for (const event of rows.inboundEvents) this.publish("inboundEvent", event.organizationId, event);
        } catch (error) {
          this.options.logger.error({ err: error }, "live events: could not load a batch; clients refetch when they reconnect");
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /**
   * The part of `notification` some subscription here can receive, or null.
   * The activity feed and queue depths take every task and attempt of their
   * organisation (a queue's name is on the loaded task); without them, a task
   * matters only to its own `task` topic and an attempt only to `executions`
   * subscriptions that accept its notified status.
   */
  private receivable(notification: LiveNotification): LiveNotification | null {
    const { organizationId } = notification;
    const has = (kind: TopicKind) => this.interest.has(topicName(kind, organizationId));
    if (notification.kind === "queue" || notification.kind === "monitor" || notification.kind === "inboundEvent") {
      return has(notification.kind) ? notification : null;
    }
    // Revocations and ended sessions are handled as they arrive (enqueue) and load nothing.
    if (notification.kind === "apiKeyRevoked" || notification.kind === "accessEnded") return null;
    if (has("activity") || has("queue")) return notification;
    if (notification.kind === "task") {
      if (!has("task")) return null;
      const tasks = notification.tasks.filter((task) => this.topics.has(topicName("task", organizationId, task.id)));
      if (!tasks.length) return null;
      return tasks.length === notification.tasks.length ? notification : { ...notification, tasks };
    }
    const subscribers = this.topics.get(topicName("executions", organizationId));
    if (!subscribers) return null;
    const wanted = (status: string) => {
      for (const subscriber of subscribers) if (!subscriber.statuses || subscriber.statuses.has(status)) return true;
      return false;
    };
    const executions = notification.executions.filter((execution) => wanted(execution.status));
    if (!executions.length) return null;
    return executions.length === notification.executions.length ? notification : { ...notification, executions };
  }

  private deliver(
    organizationId: string,
    notifications: LiveNotification[],
    executionsById: Map<string, ExecutionWithTask>,
    tasksById: Map<string, Task>,
  ): void {
    const queueNames = new Set<string>();
    for (const notification of notifications) {
      if (notification.kind === "queue") for (const name of notification.queues) queueNames.add(name);
    }
    // In notification order, creations first: a push writes a task and its first attempt in one statement,
    // whose triggers notify in no set order, and a feed should show the task created before its attempt.
    const isCreation = (notification: LiveNotification) => notification.kind === "task" && notification.tasks.some((task) => task.created);
    const ordered = [...notifications.filter(isCreation), ...notifications.filter((notification) => !isCreation(notification))];
    const publishedTasks = new Set<string>();
    for (const notification of ordered) {
      if (notification.kind === "execution") {
        for (const change of notification.executions) {
          const row = executionsById.get(change.id);
          if (row?.organizationId !== organizationId) continue;
          const execution = { ...row, status: change.status as ExecutionWithTask["status"] };
          this.publish("executions", organizationId, execution);
          this.publish("activity", organizationId, executionActivity(execution));
          if (row.task.queue) queueNames.add(row.task.queue);
        }
      } else if (notification.kind === "task") {
        for (const change of notification.tasks) {
          const task = tasksById.get(change.id);
          if (task?.organizationId !== organizationId) continue;
          if (!publishedTasks.has(task.id)) {
            publishedTasks.add(task.id);
            this.publish("task", organizationId, task, task.id);
          }
          const activity = taskActivity(task, change);
          if (activity) this.publish("activity", organizationId, activity);
          if (task.queue) queueNames.add(task.queue);
        }
      }
    }
    for (const name of queueNames) this.refreshQueueSoon(organizationId, name);
  }

  /** Coalesces queue depth events: at most one per queue per queueStatsIntervalMs, the last one always sent. */
  private refreshQueueSoon(organizationId: string, name: string): void {
    const topic = topicName("queue", organizationId, name);
    if (!this.topics.has(topic)) return;
    const interval = this.options.queueStatsIntervalMs ?? DEFAULT_QUEUE_STATS_INTERVAL_MS;
    const refresh = this.queueRefreshes.get(topic) ?? { timer: null, lastAt: 0 };
    this.queueRefreshes.set(topic, refresh);
    if (refresh.timer) return;
    const wait = Math.max(0, refresh.lastAt + interval - Date.now());
    refresh.timer = setTimeout(() => {
      refresh.timer = null;
      refresh.lastAt = Date.now();
      if (!this.topics.has(topic)) {
        this.queueRefreshes.delete(topic);
        return;
      }
      this.loadQueue(organizationId, name).then(
        (queue) => this.publish("queue", organizationId, queue, name),
        (error: unknown) =>
          this.options.logger.error({ err: error, organizationId, queue: name }, "live events: could not load queue depth"),
      );
    }, wait);
    refresh.timer.unref();
  }

  /**
   * Re-checks the organisation's connections made `via` keys or sessions, once for every such notification that
   * arrives within one turn: a sweep of expired sessions or a burst of removals notifies once per statement.
   */
  private recheckSoon(organizationId: string, via: LiveConnection["via"]): void {
    const key = `${via}:${organizationId}`;
    if (this.pendingRechecks.has(key)) return;
    this.pendingRechecks.add(key);
    setImmediate(() => {
      this.pendingRechecks.delete(key);
      this.recheckConnections((connection) => connection.organizationId === organizationId && connection.via === via);
    });
  }

  private recheckConnections(which: (connection: LiveConnection) => boolean): void {
    for (const connection of [...this.connections]) {
      if (!which(connection)) continue;
      connection.stillAuthorized().then(
        (authorized) => {
          if (!authorized) connection.close(LIVE_CLOSE.revoked.code, LIVE_CLOSE.revoked.reason);
        },
        (error: unknown) => this.options.logger.warn({ err: error }, "live events: could not re-check a connection's credentials"),
      );
    }
  }

  private closeConnections(close: { code: number; reason: string }): void {
    for (const connection of [...this.connections]) connection.close(close.code, close.reason);
  }
}

/** Adds `delta` to `key`'s count, forgetting keys that reach zero. */
function count(counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}

function topicName(kind: TopicKind, organizationId: string, key?: string): string {
  return key === undefined ? `${kind}:${organizationId}` : `${kind}:${organizationId}:${key}`;
}

/**
 * An async iterator over pushed values with a bounded buffer: pushing onto a
 * full buffer ends the stream and calls `onOverflow` instead of growing.
 */
export class BoundedStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private ended = false;

  constructor(
    private readonly limit: number,
    private readonly onEnd: () => void,
    private readonly onOverflow: () => void,
  ) {}

  push(value: T): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting({ value, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.end();
      this.onOverflow();
      return;
    }
    this.buffer.push(value);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer.length = 0;
    this.onEnd();
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
