/**
 * The task list: filters (status, type, queue, search by name or URL) kept in
 * the address so a filtered list can be shared, cursor pagination, and rows
 * that change live as their executions do.
 */
import { A, useNavigate, useSearchParams } from "@solidjs/router";
import { createQuery, createSubscription } from "@urql/solid";
import { createEffect, createMemo, createSignal, For, on, onCleanup, Show } from "solid-js";
import { EmptyState, ErrorNotice, LoadingRows } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { RelativeTime } from "../components/RelativeTime";
import { StatusBadge } from "../components/StatusBadge";
import { TaskCell } from "../components/TaskCell";
import { QUEUES } from "../graphql/queues";
import {
  EXECUTION_UPDATES,
  TASK_LIST,
  TASK_STATUSES,
  TASK_TYPES,
  type TaskFilter,
  type TaskRow,
  type TaskStatus,
  type TaskType,
} from "../graphql/tasks";
import { createLiveRows } from "../lib/live-rows";

const PAGE_SIZE = 25;
const SEARCH_DEBOUNCE_MS = 300;

export function TasksPage() {
  const [params, setParams] = useSearchParams<{ status?: string; type?: string; queue?: string; q?: string }>();
  const navigate = useNavigate();
  // Cursors of the pages before this one: "previous" pops, "next" pushes.
  const [cursors, setCursors] = createSignal<string[]>([]);
  const [searchText, setSearchText] = createSignal(params.q ?? "");

  const filter = createMemo<TaskFilter>(() => ({
    ...(params.status ? { status: params.status as TaskStatus } : {}),
    ...(params.type ? { type: params.type as TaskType } : {}),
    ...(params.queue ? { queue: params.queue } : {}),
    ...(params.q ? { search: params.q } : {}),
  }));
  // A new filter starts on the first page.
  createEffect(on(filter, () => setCursors([]), { defer: true }));

  const [tasks, refetch] = createQuery({
    query: TASK_LIST,
    variables: () => ({ filter: filter(), first: PAGE_SIZE, after: cursors().at(-1) }),
  });
  const [queues] = createQuery({ query: QUEUES });

  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  function onSearch(value: string) {
    setSearchText(value);
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setParams({ q: value.trim() || undefined }), SEARCH_DEBOUNCE_MS);
  }
  onCleanup(() => clearTimeout(searchTimer));

  const live = createLiveRows<TaskRow>();
  const rows = () => (tasks.data?.tasks.edges ?? []).map((edge) => live.current(edge.node));
  const onFirstPage = () => cursors().length === 0;

  // A task not on this page got an execution: on the first page, that is usually a new task; show it.
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(refreshTimer));
  createSubscription({ query: EXECUTION_UPDATES, variables: () => ({ queue: params.queue }) }, (_previous, event) => {
    const task = event.executionUpdates.task;
    live.update(task);
    const shown = tasks.data?.tasks.edges.some((edge) => edge.node.id === task.id);
    if (!shown && onFirstPage() && !refreshTimer) {
      refreshTimer = setTimeout(() => {
        refreshTimer = undefined;
        refetch({ requestPolicy: "network-only" });
      }, 500);
    }
    return event;
  });

  const filtered = () => Object.keys(filter()).length > 0;

  return (
    <div class="page">
      <PageHeader
        title="Tasks"
        description="Every HTTP request Runlater delivers for you: one-off, delayed and recurring."
        actions={
          <A href="/tasks/new" class="button button-primary">
            <Icon name="plus" /> New task
          </A>
        }
      />
      <div class="toolbar">
        <div class="search-input">
          <Icon name="search" />
          <input
            type="search"
            placeholder="Search name or URL"
            aria-label="Search tasks by name or URL"
            value={searchText()}
            onInput={(event) => onSearch(event.currentTarget.value)}
          />
        </div>
        <select
          aria-label="Status"
          value={params.status ?? ""}
          onChange={(event) => setParams({ status: event.currentTarget.value || undefined })}
        >
          <option value="">All statuses</option>
          <For each={TASK_STATUSES}>{(status) => <option value={status}>{status.toLowerCase()}</option>}</For>
        </select>
        <select
          aria-label="Type"
          value={params.type ?? ""}
          onChange={(event) => setParams({ type: event.currentTarget.value || undefined })}
        >
          <option value="">All types</option>
          <For each={TASK_TYPES}>{(type) => <option value={type}>{type.replace("_", "-").toLowerCase()}</option>}</For>
        </select>
        <select
          aria-label="Queue"
          value={params.queue ?? ""}
          onChange={(event) => setParams({ queue: event.currentTarget.value || undefined })}
        >
          <option value="">All queues</option>
          <For each={queues.data?.queues ?? []}>{(queue) => <option value={queue.name}>{queue.name}</option>}</For>
          <Show when={params.queue && !queues.data?.queues.some((queue) => queue.name === params.queue)}>
            <option value={params.queue}>{params.queue}</option>
          </Show>
        </select>
        <Show when={filtered()}>
          <button
            type="button"
            class="button button-ghost button-small"
            onClick={() => {
              setSearchText("");
              setParams({ status: undefined, type: undefined, queue: undefined, q: undefined });
            }}
          >
            Clear filters
          </button>
        </Show>
      </div>

      <ErrorNotice error={tasks.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load tasks" />

      <div class="card card-flush">
        <table class="table table-clickable">
          <thead>
            <tr>
              <th>Task</th>
              <th>Status</th>
              <th class="hide-small">Schedule</th>
              <th class="hide-small">Queue</th>
              <th class="numeric hide-small">Attempts</th>
              <th class="hide-small">Created</th>
            </tr>
          </thead>
          <tbody>
            <Show when={!tasks.fetching || tasks.data} fallback={<LoadingRows columns={6} />}>
              <For each={rows()}>
                {(task) => (
                  <tr data-task-id={task.id} onClick={() => navigate(`/tasks/${task.id}`)}>
                    <TaskCell task={task} />
                    <td>
                      <StatusBadge status={task.paused && task.status === "SCHEDULED" ? "PAUSED" : task.status} />
                    </td>
                    <td class="hide-small">
                      <Schedule task={task} />
                    </td>
                    <td class="hide-small">{task.queue ?? <span class="text-muted">—</span>}</td>
                    <td class="numeric hide-small">{task.attempts}</td>
                    <td class="hide-small">
                      <RelativeTime value={task.createdAt} />
                    </td>
                  </tr>
                )}
              </For>
            </Show>
          </tbody>
        </table>
        <Show when={tasks.data && rows().length === 0}>
          <Show
            when={filtered()}
            fallback={
              <EmptyState
                title="No tasks yet"
                action={
                  <A href="/tasks/new" class="button button-primary">
                    <Icon name="plus" /> Create your first task
                  </A>
                }
              >
                Create one here, or push one from your code: <code>POST /api/v1/tasks</code> with an API key from Settings.
              </EmptyState>
            }
          >
            <EmptyState icon="search" title="No task matches these filters">
              Try another status or queue, or clear the filters.
            </EmptyState>
          </Show>
        </Show>
        <Show when={rows().length > 0}>
          <Pagination
            pageInfo={tasks.data?.tasks.pageInfo}
            shown={rows().length}
            total={tasks.data?.tasks.totalCount}
            canGoBack={cursors().length > 0}
            onPrevious={() => setCursors((current) => current.slice(0, -1))}
            onNext={() => {
              const end = tasks.data?.tasks.pageInfo.endCursor;
              if (end) setCursors((current) => [...current, end]);
            }}
          />
        </Show>
      </div>
    </div>
  );
}

/** When a task runs: its cron expression and next slot, or its due time. */
function Schedule(props: { task: TaskRow }) {
  return (
    <Show
      when={props.task.type === "CRON"}
      fallback={
        <span>
          <RelativeTime value={props.task.runAt} />
        </span>
      }
    >
      <span class="schedule">
        <code>{props.task.cron}</code>
        <Show when={props.task.nextRunAt} fallback={<span class="text-muted">{props.task.paused ? "paused" : ""}</span>}>
          <span class="text-muted">
            next <RelativeTime value={props.task.nextRunAt} />
          </span>
        </Show>
      </span>
    </Show>
  );
}
