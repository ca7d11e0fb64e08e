/**
 * One task: its configuration, the request it sends, and the timeline of its
 * attempts (newest first) updating live, each with the endpoint's answer.
 * Actions: trigger now, cancel, pause/resume (cron), edit schedule (cron),
 * duplicate, replay an attempt.
 */
import { A, useNavigate, useParams } from "@solidjs/router";
import { createMutation, createQuery, createSubscription } from "@urql/solid";
import cronstrue from "cronstrue";
import { createMemo, createSignal, For, type JSX, Match, Show, Switch } from "solid-js";
import { CodeViewer, HeaderList } from "../components/CodeViewer";
import { ConfirmDialog } from "../components/Dialog";
import { DetailLoadError, EmptyState, PageLoading } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { HttpStatus, StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import { describeError } from "../graphql/errors";
import {
  CANCEL_TASK,
  EXECUTION_UPDATES,
  type ExecutionRow,
  isActive,
  isEditable,
  PAUSE_TASK,
  REPLAY_EXECUTION,
  RESUME_TASK,
  TASK_DETAIL,
  TASK_UPDATED,
  type TaskDetail,
  TRIGGER_TASK,
} from "../graphql/tasks";
import { formatDateTime, formatDuration, taskLabel } from "../lib/format";

export function TaskDetailPage() {
  const params = useParams<{ id: string }>();
  const [result, refetch] = createQuery({ query: TASK_DETAIL, variables: () => ({ id: params.id }) });

  // Live changes since the page loaded, merged over the fetched data.
  const [liveTask, setLiveTask] = createSignal<TaskDetail | null>(null);
  const [liveExecutions, setLiveExecutions] = createSignal<Record<string, ExecutionRow>>({});
  createSubscription({ query: TASK_UPDATED, variables: () => ({ id: params.id }) }, (_previous, event) => {
    setLiveTask(event.taskUpdated);
    return event;
  });
  createSubscription({ query: EXECUTION_UPDATES, variables: () => ({ taskId: params.id }) }, (_previous, event) => {
    const { task, ...execution } = event.executionUpdates;
    setLiveExecutions((current) => ({ ...current, [execution.id]: execution }));
    setLiveTask((current) => ({ ...(current ?? (result.data?.task as TaskDetail)), ...task }));
    return event;
  });

  const task = createMemo<TaskDetail | undefined>(() => {
    const fetched = result.data?.task;
    if (!fetched) return undefined;
    const live = liveTask();
    return live && live.id === fetched.id && live.updatedAt >= fetched.updatedAt ? { ...fetched, ...live } : fetched;
  });
  const executions = createMemo(() => {
    const merged = new Map<string, ExecutionRow>();
    for (const edge of result.data?.task.executions.edges ?? []) merged.set(edge.node.id, edge.node);
    for (const execution of Object.values(liveExecutions())) if (execution.taskId === params.id) merged.set(execution.id, execution);
    // Ids are time-ordered UUIDs: newest first.
    return [...merged.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
  });

  return (
    <Switch>
      <Match when={result.error && !result.data}>
        <DetailLoadError
          error={result.error}
          noun="task"
          backHref="/tasks"
          backLabel="All tasks"
          onRetry={() => refetch({ requestPolicy: "network-only" })}
        />
      </Match>
      <Match when={!task()}>
        <PageLoading label="Loading task" />
      </Match>
      <Match when={task()}>{(current) => <TaskView task={current()} executions={executions()} />}</Match>
    </Switch>
  );
}

function TaskView(props: { task: TaskDetail; executions: ExecutionRow[] }) {
  const cronDescription = () => {
    if (!props.task.cron) return null;
    try {
      return cronstrue.toString(props.task.cron, { use24HourTimeFormat: true, verbose: false });
    } catch {
      return null;
    }
  };
  return (
    <div class="page">
      <PageHeader
        documentTitle={taskLabel(props.task)}
        eyebrow={
          <A href="/tasks" class="back-link">
            ← Tasks
          </A>
        }
        title={
          <span class="title-with-badge">
            {taskLabel(props.task)}
            <StatusBadge status={props.task.paused && props.task.status === "SCHEDULED" ? "PAUSED" : props.task.status} />
          </span>
        }
        description={
          <span class="task-url">
            <span class="method">{props.task.method}</span> {props.task.url}
          </span>
        }
        actions={<TaskActions task={props.task} />}
      />
      <div class="detail-grid">
        <section class="card">
          <div class="card-header">
            <h2>Executions</h2>
            <span class="text-muted">{props.executions.length ? `${props.executions.length} shown, newest first` : ""}</span>
          </div>
          <Show
            when={props.executions.length}
            fallback={
              <EmptyState icon="clock" title="No attempts yet">
                {props.task.type === "CRON" ? "The first slot runs at its next time." : "The first attempt starts when the task is due."}
              </EmptyState>
            }
          >
            <ol class="timeline" aria-label="Execution timeline">
              <For each={props.executions}>
                {(execution, index) => <ExecutionItem execution={execution} task={props.task} open={index() === 0} />}
              </For>
            </ol>
          </Show>
        </section>
        <aside class="stack">
          <section class="card">
            <div class="card-header">
              <h2>Configuration</h2>
            </div>
            <dl class="properties">
              <Property label="Type">{props.task.type.replace("_", "-").toLowerCase()}</Property>
              <Show when={props.task.cron}>
                <Property label="Schedule">
                  <code>{props.task.cron}</code>
                  <Show when={cronDescription()}>
                    <div class="text-muted">
                      {cronDescription()} ({props.task.timezone ?? "UTC"})
                    </div>
                  </Show>
                </Property>
                <Property label="Next run">
                  <RelativeTime value={props.task.nextRunAt} fallback={props.task.paused ? "paused" : "—"} />
                </Property>
                <Property label="Overlap / catch-up">
                  {props.task.overlap.toLowerCase().replace(/_/g, " ")} / {props.task.catchUp.toLowerCase()}
                </Property>
              </Show>
              <Show when={props.task.type !== "CRON"}>
                <Property label="Due">
                  <span title={formatDateTime(props.task.runAt)}>
                    <RelativeTime value={props.task.runAt} />
                  </span>
                </Property>
              </Show>
              <Property label="Queue">{props.task.queue ?? "—"}</Property>
              <Property label="Attempts">
                {props.task.attempts} (retries allowed: {props.task.retries})
              </Property>
              <Property label="Timeout">{formatDuration(props.task.timeoutMs)}</Property>
              <Property label="Priority">{props.task.priority}</Property>
              <Show when={props.task.callbackUrl}>
                <Property label="Callback">
                  {props.task.callbackUrl} ({props.task.callbackOn?.toLowerCase().replace("_", " ")})
                </Property>
              </Show>
              <Show when={props.task.onFailureUrl}>
                <Property label="On failure">{props.task.onFailureUrl}</Property>
              </Show>
              <Show when={props.task.sourceTaskId}>
                <Property label="Source task">
                  <A href={`/tasks/${props.task.sourceTaskId}`}>{props.task.sourceTaskId}</A>
                </Property>
              </Show>
              <Property label="Created">
                <RelativeTime value={props.task.createdAt} />
              </Property>
              <Show when={props.task.completedAt}>
                <Property label="Completed">
                  <RelativeTime value={props.task.completedAt} />
                </Property>
              </Show>
              <Property label="Id">
                <code class="small">{props.task.id}</code>
              </Property>
            </dl>
          </section>
          <section class="card">
            <div class="card-header">
              <h2>Request</h2>
            </div>
            <div class="stack-small">
              <HeaderList headers={props.task.headers} />
              <CodeViewer text={props.task.body} label={props.task.bodyEncoding === "BASE64" ? "Body (bytes, in base64)" : "Body"} />
            </div>
          </section>
        </aside>
      </div>
    </div>
  );
}

function Property(props: { label: string; children: JSX.Element }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

/** Statuses of attempts that sent their request and have its outcome; CANCELLED and MISSED ones never sent one. */
const SENT_STATUSES = new Set(["SUCCEEDED", "FAILED", "TIMED_OUT"]);

function notSentLabel(status: string): string {
  if (status === "RUNNING") return "The request is in flight…";
  if (status === "CANCELLED") return "Cancelled before it ran: no request was sent.";
  if (status === "MISSED") return "Missed: no request was sent.";
  return "Not started yet.";
}

function ExecutionItem(props: { execution: ExecutionRow; task: TaskDetail; open: boolean }) {
  const [expanded, setExpanded] = createSignal(props.open);
  const navigate = useNavigate();
  const [replayState, replay] = createMutation(REPLAY_EXECUTION);
  const sent = () => SENT_STATUSES.has(props.execution.status);
  async function replayAttempt() {
    const result = await replay({ id: props.execution.id });
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not replay");
    notify("success", "Replay queued as a new task");
    if (result.data) navigate(`/tasks/${result.data.replayExecution.taskId}`);
  }
  return (
    <li class="timeline-item" data-execution-id={props.execution.id} data-status={props.execution.status}>
      <button type="button" class="timeline-summary" aria-expanded={expanded()} onClick={() => setExpanded(!expanded())}>
        <Icon name={expanded() ? "chevronDown" : "chevronRight"} />
        <StatusBadge status={props.execution.status} />
        <span class="timeline-title">
          Attempt {props.execution.attempt}
          <Show when={props.task.type === "CRON" || props.execution.run > 1}>
            <span class="text-muted"> · run {props.execution.run}</span>
          </Show>
        </span>
        <span class="timeline-meta">
          <Show when={props.execution.responseStatus}>
            <HttpStatus status={props.execution.responseStatus} />
          </Show>
          <Show when={props.execution.durationMs !== null}>
            <span class="text-muted">{formatDuration(props.execution.durationMs)}</span>
          </Show>
          <RelativeTime value={props.execution.startedAt ?? props.execution.scheduledFor} />
        </span>
      </button>
      <Show when={expanded()}>
        <div class="timeline-detail">
          <dl class="properties properties-inline">
            <dt>Due</dt>
            <dd>{formatDateTime(props.execution.scheduledFor)}</dd>
            <Show when={props.execution.startedAt}>
              <dt>Started</dt>
              <dd>{formatDateTime(props.execution.startedAt!)}</dd>
            </Show>
            <Show when={props.execution.finishedAt}>
              <dt>Finished</dt>
              <dd>{formatDateTime(props.execution.finishedAt!)}</dd>
            </Show>
          </dl>
          <Show when={props.execution.waitingReason}>
            <div class="notice notice-warning">{props.execution.waitingReason}</div>
          </Show>
          <Show when={props.execution.error}>
            <div class="notice notice-danger">{props.execution.error}</div>
          </Show>
          <Show when={sent() || props.execution.responseStatus} fallback={<p class="text-muted">{notSentLabel(props.execution.status)}</p>}>
            <h3 class="subheading">
              Response <HttpStatus status={props.execution.responseStatus} />
            </h3>
            <HeaderList headers={props.execution.responseHeaders} />
            <CodeViewer
              text={props.execution.responseBody}
              truncated={props.execution.responseBodyTruncated}
              label="Response body"
              emptyLabel="Empty response body"
            />
            <div class="form-actions">
              <button type="button" class="button button-small" onClick={replayAttempt} disabled={replayState.fetching}>
                <Icon name="refresh" /> {replayState.fetching ? "Replaying…" : "Replay this request"}
              </button>
            </div>
          </Show>
        </div>
      </Show>
    </li>
  );
}

function TaskActions(props: { task: TaskDetail }) {
  const navigate = useNavigate();
  const [confirmCancel, setConfirmCancel] = createSignal(false);
  const [busy, setBusy] = createSignal<string | null>(null);
  const [, trigger] = createMutation(TRIGGER_TASK);
  const [, cancel] = createMutation(CANCEL_TASK);
  const [, pause] = createMutation(PAUSE_TASK);
  const [, resume] = createMutation(RESUME_TASK);

  async function run<Data>(
    name: string,
    action: (variables: { id: string }) => Promise<{ error?: Parameters<typeof describeError>[0]; data?: Data }>,
    success: string,
  ) {
    setBusy(name);
    const result = await action({ id: props.task.id });
    setBusy(null);
    if (result.error) notify("error", describeError(result.error)?.message ?? `Could not ${name}`);
    else notify("success", success);
  }

  return (
    <div class="button-row">
      <Show when={props.task.status === "SCHEDULED" && !props.task.paused}>
        <button type="button" class="button" disabled={!!busy()} onClick={() => run("trigger", trigger, "Triggered: the attempt runs now")}>
          <Icon name="play" /> {busy() === "trigger" ? "Triggering…" : "Trigger now"}
        </button>
      </Show>
      <Show when={props.task.type === "CRON" && isActive(props.task.status)}>
        <Show
          when={props.task.paused}
          fallback={
            <button
              type="button"
              class="button"
              disabled={!!busy()}
              onClick={() => run("pause", pause, "Paused: no slot fires until resumed")}
            >
              <Icon name="pause" /> Pause
            </button>
          }
        >
          <button type="button" class="button" disabled={!!busy()} onClick={() => run("resume", resume, "Resumed from its next slot")}>
            <Icon name="play" /> Resume
          </button>
        </Show>
        <A class="button" href={`/tasks/${props.task.id}/edit`}>
          <Icon name="edit" /> Edit schedule
        </A>
      </Show>
      <Show when={isEditable(props.task)}>
        <A class="button" href={`/tasks/${props.task.id}/edit`}>
          <Icon name="edit" /> Edit
        </A>
      </Show>
      <button type="button" class="button" onClick={() => navigate(`/tasks/new?from=${props.task.id}`)}>
        <Icon name="duplicate" /> Duplicate
      </button>
      <Show when={isActive(props.task.status)}>
        <button type="button" class="button button-danger-ghost" disabled={!!busy()} onClick={() => setConfirmCancel(true)}>
          Cancel task
        </button>
      </Show>
      <ConfirmDialog
        open={confirmCancel()}
        title="Cancel this task?"
        confirmLabel="Cancel task"
        danger
        busy={busy() === "cancel"}
        onClose={() => setConfirmCancel(false)}
        onConfirm={async () => {
          await run("cancel", cancel, "Task cancelled");
          setConfirmCancel(false);
        }}
      >
        <p>Its pending attempt never runs; an attempt in flight finishes but is not retried. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}
