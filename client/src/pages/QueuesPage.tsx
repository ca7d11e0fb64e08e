/**
 * Queues: depth by state (live through queueStats), concurrency, rate limit,
 * pause/resume and settings. A queue exists once a task names it (or its
 * settings are saved).
 */
import { A } from "@solidjs/router";
import { createMutation, createQuery, createSubscription } from "@urql/solid";
import { createSignal, For, Show } from "solid-js";
import { ConfirmDialog, Dialog } from "../components/Dialog";
import { EmptyState, ErrorNotice, LoadingRows } from "../components/Feedback";
import { Field } from "../components/Field";
import { FormActions } from "../components/FormActions";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import { describeError, errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";
import { CANCEL_QUEUED_TASKS, PAUSE_QUEUE, QUEUE_STATS, QUEUES, type QueueRow, RESUME_QUEUE, UPDATE_QUEUE } from "../graphql/queues";
import { formatCount, pluralize } from "../lib/format";

export function QueuesPage() {
  const [queues, refetch] = createQuery({ query: QUEUES });
  const [editing, setEditing] = createSignal<QueueRow | "new" | null>(null);
  return (
    <div class="page">
      <PageHeader
        title="Queues"
        description="Tasks of a queue start in order, at most its concurrency at a time and within its rate limit. Pause a queue to hold its tasks."
        actions={
          <button type="button" class="button" onClick={() => setEditing("new")}>
            <Icon name="plus" /> New queue
          </button>
        }
      />
      <ErrorNotice error={queues.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load queues" />
      <div class="card card-flush">
        <table class="table">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Depth</th>
              <th class="numeric">Waiting</th>
              <th class="numeric">Running</th>
              <th class="numeric hide-small">Failed</th>
              <th class="hide-small">Concurrency</th>
              <th class="hide-small">Rate limit</th>
              <th class="actions-cell">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <Show when={queues.data} fallback={<LoadingRows columns={8} />}>
              <For each={queues.data?.queues ?? []}>{(queue) => <QueueLine queue={queue} onEdit={() => setEditing(queue)} />}</For>
            </Show>
          </tbody>
        </table>
        <Show when={queues.data && queues.data.queues.length === 0}>
          <EmptyState icon="queues" title="No queues yet">
            Give a task a <code>queue</code> name and the queue appears here. Queues run their tasks in order, with a concurrency and rate
            limit you set.
          </EmptyState>
        </Show>
      </div>
      <QueueSettingsDialog queue={editing()} onClose={() => setEditing(null)} />
    </div>
  );
}

function QueueLine(props: { queue: QueueRow; onEdit: () => void }) {
  // Depth as it changes; the fetched row until the first event.
  const [stats] = createSubscription({ query: QUEUE_STATS, variables: () => ({ name: props.queue.name }) });
  const queue = () => {
    const live = stats.data?.queueStats;
    return live && live.name === props.queue.name ? { ...props.queue, ...live } : props.queue;
  };
  const [pauseState, pause] = createMutation(PAUSE_QUEUE);
  const [resumeState, resume] = createMutation(RESUME_QUEUE);
  const [cancelState, cancelQueued] = createMutation(CANCEL_QUEUED_TASKS);
  const [confirmCancel, setConfirmCancel] = createSignal(false);
  const total = () => Math.max(1, queue().depth.scheduled + queue().depth.running + queue().depth.failed);

  async function togglePause() {
    const { name, paused } = queue();
    const result = paused ? await resume({ name }) : await pause({ name });
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not change the queue");
    notify("success", paused ? `Queue ${name} resumed` : `Queue ${name} paused: its tasks wait until you resume it`);
  }

  return (
    <tr data-queue={queue().name}>
      <td>
        <A href={`/tasks?queue=${encodeURIComponent(queue().name)}`} class="task-name">
          {queue().name}
        </A>
        <Show when={queue().paused}>
          {" "}
          <StatusBadge status="PAUSED" />
        </Show>
      </td>
      <td class="depth-cell">
        <div class="depth-bar" aria-hidden="true">
          <span class="depth-running" style={{ width: `${(queue().depth.running / total()) * 100}%` }} />
          <span class="depth-scheduled" style={{ width: `${(queue().depth.scheduled / total()) * 100}%` }} />
          <span class="depth-failed" style={{ width: `${(queue().depth.failed / total()) * 100}%` }} />
        </div>
      </td>
      <td class="numeric" data-depth="scheduled">
        {formatCount(queue().depth.scheduled)}
      </td>
      <td class="numeric" data-depth="running">
        {formatCount(queue().depth.running)}
      </td>
      <td class="numeric hide-small">
        <Show when={queue().depth.failed} fallback="0">
          <A href={`/failures?queue=${encodeURIComponent(queue().name)}`} class="text-danger">
            {formatCount(queue().depth.failed)}
          </A>
        </Show>
      </td>
      <td class="hide-small">{queue().concurrency === 1 ? "1 (FIFO)" : queue().concurrency}</td>
      <td class="hide-small">
        {queue().rateLimit ? (
          `${formatCount(queue().rateLimit ?? 0)} / ${queue().ratePeriodSeconds} s`
        ) : (
          <span class="text-muted">none</span>
        )}
      </td>
      <td class="actions-cell">
        <div class="button-row">
          <button type="button" class="button button-small" disabled={pauseState.fetching || resumeState.fetching} onClick={togglePause}>
            <Icon name={queue().paused ? "play" : "pause"} /> {queue().paused ? "Resume" : "Pause"}
          </button>
          <button type="button" class="button button-small button-ghost" onClick={() => props.onEdit()}>
            Settings
          </button>
          <Show when={queue().depth.scheduled > 0}>
            <button type="button" class="button button-small button-danger-ghost" onClick={() => setConfirmCancel(true)}>
              Cancel waiting
            </button>
          </Show>
        </div>
        <ConfirmDialog
          open={confirmCancel()}
          title={`Cancel the waiting tasks of ${queue().name}?`}
          confirmLabel="Cancel waiting tasks"
          danger
          busy={cancelState.fetching}
          onClose={() => setConfirmCancel(false)}
          onConfirm={async () => {
            const result = await cancelQueued({ queue: queue().name });
            setConfirmCancel(false);
            if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not cancel");
            notify("success", `${pluralize(result.data?.cancelQueuedTasks ?? 0, "task")} cancelled`);
          }}
        >
          <p>
            {pluralize(queue().depth.scheduled, "task")} that have not started will be cancelled. Tasks in flight finish. This cannot be
            undone.
          </p>
        </ConfirmDialog>
      </td>
    </tr>
  );
}

function QueueSettingsDialog(props: { queue: QueueRow | "new" | null; onClose: () => void }) {
  return (
    <Dialog open={props.queue !== null} title={props.queue === "new" ? "New queue" : `Queue settings`} onClose={props.onClose}>
      <Show when={props.queue} keyed>
        {(queue) => <QueueSettingsForm queue={queue === "new" ? null : queue} onDone={props.onClose} />}
      </Show>
    </Dialog>
  );
}

function QueueSettingsForm(props: { queue: QueueRow | null; onDone: () => void }) {
  const [name, setName] = createSignal(props.queue?.name ?? "");
  const [concurrency, setConcurrency] = createSignal(String(props.queue?.concurrency ?? 1));
  const [rateLimit, setRateLimit] = createSignal(props.queue?.rateLimit ? String(props.queue.rateLimit) : "");
  const [period, setPeriod] = createSignal(String(props.queue?.ratePeriodSeconds ?? 1));
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const [state, update] = createMutation(UPDATE_QUEUE);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    if (!name().trim()) return setErrors({ fields: { name: "Name the queue." }, general: null });
    const result = await update({
      name: name().trim(),
      concurrency: Number(concurrency()),
      ...(rateLimit().trim() ? { rateLimit: Number(rateLimit()), ratePeriodSeconds: Number(period()) } : { removeRateLimit: true }),
    });
    if (result.error) return setErrors(fieldErrors(result.error));
    notify("success", `Queue ${name().trim()} saved`);
    props.onDone();
  }

  return (
    <form class="stack" onSubmit={submit} novalidate>
      <ErrorNotice error={errors().general} title="Not saved" />
      <Field label="Name" for="queue-name" error={errorFor(errors(), "name")}>
        <input id="queue-name" value={name()} disabled={!!props.queue} onInput={(event) => setName(event.currentTarget.value)} />
      </Field>
      <Field
        label="Concurrency"
        for="queue-concurrency"
        error={errorFor(errors(), "concurrency")}
        hint="Tasks in flight at once, 1–1000. 1 is strict first-in, first-out."
      >
        <input
          id="queue-concurrency"
          type="number"
          min="1"
          max="1000"
          value={concurrency()}
          onInput={(event) => setConcurrency(event.currentTarget.value)}
        />
      </Field>
      <div class="field-row">
        <Field
          label="Rate limit"
          for="queue-rate"
          optional
          error={errorFor(errors(), "rateLimit")}
          hint="Task starts per period; empty for none."
        >
          <input id="queue-rate" type="number" min="1" value={rateLimit()} onInput={(event) => setRateLimit(event.currentTarget.value)} />
        </Field>
        <Field label="Per (seconds)" for="queue-period" error={errorFor(errors(), "ratePeriodSeconds")}>
          <input
            id="queue-period"
            type="number"
            min="1"
            value={period()}
            disabled={!rateLimit().trim()}
            onInput={(event) => setPeriod(event.currentTarget.value)}
          />
        </Field>
      </div>
      <FormActions busy={state.fetching} busyLabel="Saving…" label="Save" />
    </form>
  );
}
