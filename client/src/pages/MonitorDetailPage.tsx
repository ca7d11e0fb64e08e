/**
 * One heartbeat monitor: its state (live through monitorUpdated), the ping
 * URL to copy with how to call it, the durations of its recent runs as a
 * chart, and the timeline of its pings with their logs. Actions: pause or
 * resume, edit the schedule, delete.
 */
import { A, useNavigate, useParams } from "@solidjs/router";
import { createMutation, createQuery, createSubscription } from "@urql/solid";
import { createMemo, createSignal, For, Match, onCleanup, Show, Switch } from "solid-js";
import { CodeViewer } from "../components/CodeViewer";
import { CopyButton } from "../components/CopyButton";
import { DeleteButton } from "../components/DeleteButton";
import { Dialog } from "../components/Dialog";
import { DurationChart } from "../components/DurationChart";
import { DetailLoadError, EmptyState, PageLoading } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import { describeError } from "../graphql/errors";
import {
  DELETE_MONITOR,
  MONITOR_DETAIL,
  MONITOR_UPDATED,
  type MonitorPing,
  type MonitorRow,
  PAUSE_MONITOR,
  RESUME_MONITOR,
} from "../graphql/monitors";
import { formatDateTime, formatDuration } from "../lib/format";
import { describeSchedule, describeSeconds, monitorStatusAt } from "../lib/monitor-schedule";
import { now } from "../lib/now";
import { MonitorForm } from "./MonitorsPage";

/** Pings shown in the timeline and the chart. */
const PING_COUNT = 50;
/** A burst of pings refetches the timeline once. */
const REFETCH_DELAY_MS = 250;

export function MonitorDetailPage() {
  const params = useParams<{ id: string }>();
  const [result, refetch] = createQuery({ query: MONITOR_DETAIL, variables: () => ({ id: params.id, pings: PING_COUNT }) });
  const [liveMonitor, setLiveMonitor] = createSignal<MonitorRow | null>(null);

  // Each event is the monitor as it is now; its new ping is read with the timeline.
  let refetchTimer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(refetchTimer));
  createSubscription({ query: MONITOR_UPDATED, variables: () => ({ id: params.id }) }, (_previous, event) => {
    setLiveMonitor(event.monitorUpdated);
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(() => refetch({ requestPolicy: "network-only" }), REFETCH_DELAY_MS);
    return event;
  });

  const monitor = createMemo<MonitorRow | undefined>(() => {
    const fetched = result.data?.monitor;
    if (!fetched) return undefined;
    const live = liveMonitor();
    return live && live.id === fetched.id && live.updatedAt >= fetched.updatedAt ? live : fetched;
  });
  const pings = () => (result.data?.monitorPings.edges ?? []).map((edge) => edge.node);

  return (
    <Switch>
      <Match when={result.error && !result.data}>
        <DetailLoadError
          error={result.error}
          noun="monitor"
          backHref="/monitors"
          backLabel="All monitors"
          onRetry={() => refetch({ requestPolicy: "network-only" })}
        />
      </Match>
      <Match when={!monitor()}>
        <PageLoading label="Loading monitor" />
      </Match>
      <Match when={monitor()}>{(current) => <MonitorView monitor={current()} pings={pings()} />}</Match>
    </Switch>
  );
}

function MonitorView(props: { monitor: MonitorRow; pings: MonitorPing[] }) {
  const status = () => monitorStatusAt(props.monitor, now());
  return (
    <div class="page">
      <PageHeader
        documentTitle={props.monitor.name}
        eyebrow={
          <A href="/monitors" class="back-link">
            ← Monitors
          </A>
        }
        title={
          <span class="title-with-badge">
            {props.monitor.name}
            <StatusBadge status={status()} />
          </span>
        }
        description={`Expected ${describeSchedule(props.monitor)}, with ${describeSeconds(props.monitor.graceSeconds)} of grace.`}
        actions={<MonitorActions monitor={props.monitor} />}
      />
      <section class="card card-padded stack-small">
        <h2>Ping URL</h2>
        <div class="secret-box">
          <code data-testid="ping-url">{props.monitor.pingUrl}</code>
          <CopyButton value={props.monitor.pingUrl} label="Copy URL" />
        </div>
        <p class="text-muted small">
          Call it when the job finishes: <code>curl -fsS -m 10 --retry 3 {props.monitor.pingUrl}</code>. Add <code>/start</code> when it
          starts to time each run, <code>/fail</code> or <code>/&lt;exit code&gt;</code> to report a failure; a POST body is kept as the
          run's log (10 KiB).
        </p>
      </section>
      <div class="stat-grid">
        <div class="stat">
          <span class="stat-label">Status</span>
          <span class="stat-value">
            <StatusBadge status={status()} />
          </span>
          <span class="stat-hint">
            since <RelativeTime value={props.monitor.statusChangedAt} />
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Last ping</span>
          <span class="stat-value">
            <RelativeTime value={props.monitor.lastPingAt} fallback="never" />
          </span>
          <span class="stat-hint">{props.monitor.running ? "a run is in progress" : ""}</span>
        </div>
        <div class="stat">
          <span class="stat-label">Next ping expected</span>
          <span class="stat-value">
            <RelativeTime value={props.monitor.expectedAt} fallback={props.monitor.paused ? "paused" : "—"} />
          </span>
          <span class="stat-hint">
            <Show when={props.monitor.downAt}>
              {(downAt) => (
                <>
                  down <RelativeTime value={downAt()} /> without one
                </>
              )}
            </Show>
          </span>
        </div>
        <div class="stat">
          <span class="stat-label">Last run took</span>
          <span class="stat-value">{formatDuration(props.monitor.lastDurationMs)}</span>
          <span class="stat-hint">timed from /start to the finishing ping</span>
        </div>
      </div>
      <section class="card">
        <div class="card-header">
          <h2>Run durations</h2>
          <span class="text-muted">runs timed with /start, oldest to newest</span>
        </div>
        <DurationChart pings={props.pings} />
      </section>
      <section class="card">
        <div class="card-header">
          <h2>Pings</h2>
          <span class="text-muted">{props.pings.length ? `last ${props.pings.length}, newest first` : ""}</span>
        </div>
        <Show
          when={props.pings.length}
          fallback={
            <EmptyState icon="heartbeat" title="No pings yet">
              The monitor is {props.monitor.paused ? "paused" : "NEW"} until the first ping arrives; it cannot go DOWN before.
            </EmptyState>
          }
        >
          <ol class="timeline" aria-label="Ping timeline">
            <For each={props.pings}>{(ping) => <PingItem ping={ping} />}</For>
          </ol>
        </Show>
      </section>
    </div>
  );
}

const PING_BADGE: Record<string, { status: string; label: string }> = {
  SUCCESS: { status: "SUCCEEDED", label: "success" },
  START: { status: "RUNNING", label: "start" },
  FAIL: { status: "FAILED", label: "fail" },
};

function PingItem(props: { ping: MonitorPing }) {
  const [expanded, setExpanded] = createSignal(false);
  const badge = () => PING_BADGE[props.ping.kind] ?? { status: props.ping.kind, label: props.ping.kind.toLowerCase() };
  return (
    <li class="timeline-item" data-ping-kind={props.ping.kind}>
      <button type="button" class="timeline-summary" aria-expanded={expanded()} onClick={() => setExpanded(!expanded())}>
        <Icon name={expanded() ? "chevronDown" : "chevronRight"} />
        <StatusBadge status={badge().status} label={badge().label} />
        <span class="timeline-title">
          {props.ping.method}
          <Show when={props.ping.exitCode !== null}>
            <span class="text-muted"> · exit code {props.ping.exitCode}</span>
          </Show>
        </span>
        <span class="timeline-meta">
          <Show when={props.ping.durationMs !== null}>
            <span>{formatDuration(props.ping.durationMs)}</span>
          </Show>
          <RelativeTime value={props.ping.receivedAt} />
        </span>
      </button>
      <Show when={expanded()}>
        <div class="timeline-detail">
          <dl class="properties properties-inline">
            <dt>Received</dt>
            <dd>{formatDateTime(props.ping.receivedAt)}</dd>
            <dt>From</dt>
            <dd>{props.ping.sourceIp}</dd>
            <Show when={props.ping.userAgent}>
              <dt>User agent</dt>
              <dd>{props.ping.userAgent}</dd>
            </Show>
          </dl>
          <CodeViewer text={props.ping.body} label="Log" emptyLabel="No log: the ping had no body" />
        </div>
      </Show>
    </li>
  );
}

function MonitorActions(props: { monitor: MonitorRow }) {
  const navigate = useNavigate();
  const [editing, setEditing] = createSignal(false);
  const [pauseState, pause] = createMutation(PAUSE_MONITOR);
  const [resumeState, resume] = createMutation(RESUME_MONITOR);
  const [deleteState, remove] = createMutation(DELETE_MONITOR);

  async function togglePause() {
    const { id, paused } = props.monitor;
    const result = paused ? await resume({ id }) : await pause({ id });
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not change the monitor");
    notify("success", paused ? "Resumed: it is NEW until its next ping" : "Paused: no pings are expected and no alerts sent");
  }

  return (
    <div class="button-row">
      <button type="button" class="button" disabled={pauseState.fetching || resumeState.fetching} onClick={togglePause}>
        <Icon name={props.monitor.paused ? "play" : "pause"} /> {props.monitor.paused ? "Resume" : "Pause"}
      </button>
      <button type="button" class="button" onClick={() => setEditing(true)}>
        <Icon name="edit" /> Edit
      </button>
      <Dialog open={editing()} title="Edit monitor" onClose={() => setEditing(false)} wide>
        <MonitorForm monitor={props.monitor} onSaved={() => setEditing(false)} />
      </Dialog>
      <DeleteButton
        title={`Delete ${props.monitor.name}?`}
        confirmLabel="Delete monitor"
        busy={deleteState.fetching}
        onConfirm={async () => {
          const result = await remove({ id: props.monitor.id });
          if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not delete the monitor");
          notify("success", `Monitor ${props.monitor.name} deleted`);
          navigate("/monitors");
        }}
      >
        <p>Its pings are deleted with it, and its ping URL answers 404 from now on. This cannot be undone.</p>
      </DeleteButton>
    </div>
  );
}
