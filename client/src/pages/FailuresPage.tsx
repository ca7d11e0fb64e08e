/**
 * The failure inbox: tasks that ended FAILED, most recent first, with the
 * last attempt's answer. Select some and retry them (in batches, with
 * progress), or retry every failed task at once.
 */
import { useSearchParams } from "@solidjs/router";
import { createMutation, createQuery } from "@urql/solid";
import { createEffect, createSignal, For, on, Show } from "solid-js";
import { ConfirmDialog } from "../components/Dialog";
import { EmptyState, ErrorNotice, LoadingRows } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { RelativeTime } from "../components/RelativeTime";
import { HttpStatus } from "../components/StatusBadge";
import { TaskCell } from "../components/TaskCell";
import { notify } from "../components/Toasts";
import { describeError } from "../graphql/errors";
import { FAILED_TASKS, RETRY_ALL_FAILED, RETRY_TASKS } from "../graphql/failures";
import { QUEUES } from "../graphql/queues";
import { formatCount, pluralize, taskLabel } from "../lib/format";

const PAGE_SIZE = 50;
/** Retries are sent in batches so a long selection shows progress and one bad id does not undo the rest. */
const RETRY_BATCH = 25;

export function FailuresPage() {
  const [params, setParams] = useSearchParams<{ queue?: string }>();
  const [cursors, setCursors] = createSignal<string[]>([]);
  createEffect(
    on(
      () => params.queue,
      () => setCursors([]),
      { defer: true },
    ),
  );
  const [failed, refetch] = createQuery({
    query: FAILED_TASKS,
    variables: () => ({ queue: params.queue, first: PAGE_SIZE, after: cursors().at(-1) }),
  });
  const [queues] = createQuery({ query: QUEUES });
  const [selected, setSelected] = createSignal<Set<string>>(new Set());
  const [progress, setProgress] = createSignal<{ done: number; total: number } | null>(null);
  const [confirmAll, setConfirmAll] = createSignal(false);
  const [, retryTasks] = createMutation(RETRY_TASKS);
  const [retryAllState, retryAll] = createMutation(RETRY_ALL_FAILED);

  const rows = () => failed.data?.failedTasks.edges.map((edge) => edge.node) ?? [];
  const allSelected = () => rows().length > 0 && rows().every((row) => selected().has(row.id));
  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  async function retrySelected() {
    const ids = [...selected()];
    setProgress({ done: 0, total: ids.length });
    let retried = 0;
    const problems: string[] = [];
    for (let start = 0; start < ids.length; start += RETRY_BATCH) {
      const batch = ids.slice(start, start + RETRY_BATCH);
      const result = await retryTasks({ ids: batch });
      if (result.error) problems.push(describeError(result.error)?.message ?? "failed");
      else retried += batch.length;
      setProgress({ done: Math.min(ids.length, start + batch.length), total: ids.length });
    }
    setProgress(null);
    setSelected(new Set<string>());
    refetch({ requestPolicy: "network-only" });
    if (problems.length) notify("error", `${pluralize(retried, "task")} retried; ${problems.join("; ")}`);
    else notify("success", `${pluralize(retried, "task")} retried`);
  }

  async function retryEverything() {
    const result = await retryAll({ queue: params.queue });
    setConfirmAll(false);
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not retry");
    setSelected(new Set<string>());
    refetch({ requestPolicy: "network-only" });
    notify("success", `${pluralize(result.data?.retryAllFailed ?? 0, "task")} retried`);
  }

  return (
    <div class="page">
      <PageHeader
        title="Failures"
        description="Tasks whose retries ran out, or that got an answer retrying cannot fix. Fix the cause, then retry them: each starts over with its full retry budget."
        actions={
          <Show when={(failed.data?.failedTasks.totalCount ?? 0) > 0}>
            <button type="button" class="button" onClick={() => setConfirmAll(true)}>
              <Icon name="refresh" /> Retry all {params.queue ? `in ${params.queue}` : ""}
            </button>
          </Show>
        }
      />
      <div class="toolbar">
        <select
          aria-label="Queue"
          value={params.queue ?? ""}
          onChange={(event) => setParams({ queue: event.currentTarget.value || undefined })}
        >
          <option value="">All queues</option>
          <For each={queues.data?.queues ?? []}>{(queue) => <option value={queue.name}>{queue.name}</option>}</For>
        </select>
        <Show when={selected().size > 0}>
          <section class="bulk-bar" aria-label="Selection">
            <span>{pluralize(selected().size, "task")} selected</span>
            <button type="button" class="button button-primary button-small" disabled={!!progress()} onClick={retrySelected}>
              {progress() ? "Retrying…" : "Retry selected"}
            </button>
            <button
              type="button"
              class="button button-ghost button-small"
              disabled={!!progress()}
              onClick={() => setSelected(new Set<string>())}
            >
              Clear
            </button>
          </section>
        </Show>
      </div>
      <Show when={progress()}>
        {(current) => (
          <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={current().total} aria-valuenow={current().done}>
            <div class="progress-bar" style={{ width: `${(current().done / Math.max(1, current().total)) * 100}%` }} />
            <span class="progress-label">
              Retrying {formatCount(current().done)} of {formatCount(current().total)}
            </span>
          </div>
        )}
      </Show>
      <ErrorNotice error={failed.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load failures" />
      <div class="card card-flush">
        <table class="table">
          <thead>
            <tr>
              <th class="check-cell">
                <input
                  type="checkbox"
                  aria-label="Select all on this page"
                  checked={allSelected()}
                  onChange={() => setSelected(allSelected() ? new Set<string>() : new Set(rows().map((row) => row.id)))}
                />
              </th>
              <th>Task</th>
              <th>Last answer</th>
              <th class="hide-small">Queue</th>
              <th class="numeric hide-small">Attempts</th>
              <th>Failed</th>
            </tr>
          </thead>
          <tbody>
            <Show when={failed.data} fallback={<LoadingRows columns={6} />}>
              <For each={rows()}>
                {(task) => {
                  const last = () => task.executions.edges.at(-1)?.node;
                  return (
                    <tr data-task-id={task.id} classList={{ selected: selected().has(task.id) }}>
                      <td class="check-cell">
                        <input
                          type="checkbox"
                          aria-label={`Select ${taskLabel(task)}`}
                          checked={selected().has(task.id)}
                          onChange={() => toggle(task.id)}
                        />
                      </td>
                      <TaskCell task={task} />
                      <td class="cell-error">
                        <Show when={last()?.responseStatus}>
                          <HttpStatus status={last()?.responseStatus} />{" "}
                        </Show>
                        <span class="text-muted truncate">{last()?.error ?? ""}</span>
                      </td>
                      <td class="hide-small">{task.queue ?? <span class="text-muted">—</span>}</td>
                      <td class="numeric hide-small">{task.attempts}</td>
                      <td>
                        <RelativeTime value={task.completedAt} />
                      </td>
                    </tr>
                  );
                }}
              </For>
            </Show>
          </tbody>
        </table>
        <Show when={failed.data && rows().length === 0}>
          <EmptyState icon="check" title="No failures">
            Every task that ran out of retries lands here, with its last answer, ready to retry once you have fixed the cause.
          </EmptyState>
        </Show>
        <Show when={rows().length > 0}>
          <Pagination
            pageInfo={failed.data?.failedTasks.pageInfo}
            shown={rows().length}
            total={failed.data?.failedTasks.totalCount}
            canGoBack={cursors().length > 0}
            onPrevious={() => setCursors((current) => current.slice(0, -1))}
            onNext={() => {
              const end = failed.data?.failedTasks.pageInfo.endCursor;
              if (end) setCursors((current) => [...current, end]);
            }}
            noun="failed tasks"
          />
        </Show>
      </div>
      <ConfirmDialog
        open={confirmAll()}
        title="Retry every failed task?"
        confirmLabel={retryAllState.fetching ? "Retrying…" : `Retry ${formatCount(failed.data?.failedTasks.totalCount ?? 0)} tasks`}
        busy={retryAllState.fetching}
        onClose={() => setConfirmAll(false)}
        onConfirm={retryEverything}
      >
        <p>
          {pluralize(failed.data?.failedTasks.totalCount ?? 0, "failed task")}
          {params.queue ? ` in ${params.queue}` : ""} will run again now, each with its full retry budget.
        </p>
      </ConfirmDialog>
    </div>
  );
}
