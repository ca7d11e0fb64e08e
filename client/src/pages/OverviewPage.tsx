/**
 * The overview: how much ran and how well (executions per minute and success
 * rate over the last hour), what is running and failing now, queue depths,
 * and a live feed of what happens in the organisation.
 */
import { A } from "@solidjs/router";
import { createQuery, createSubscription } from "@urql/solid";
import { createMemo, createSignal, For, onCleanup, Show } from "solid-js";
import { ActivityChart } from "../components/ActivityChart";
import { EmptyState, ErrorNotice, PageLoading } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { HttpStatus, StatusBadge } from "../components/StatusBadge";
import { ACTIVITY_STATS, type ActivityEvent, ORG_ACTIVITY, OVERVIEW_COUNTS } from "../graphql/activity";
import { TASK_LIST } from "../graphql/tasks";
import { formatCount, formatDuration, formatPercent, taskLabel } from "../lib/format";
import { useSession } from "../session";

const WINDOW_MINUTES = 60;
const FEED_LENGTH = 50;
/** Counters and the chart follow the feed, at most this often. */
const REFRESH_MS = 3000;

export function OverviewPage() {
  const session = useSession();
  const [stats, refetchStats] = createQuery({ query: ACTIVITY_STATS, variables: { sinceMinutes: WINDOW_MINUTES, bucketMinutes: 1 } });
  const [counts, refetchCounts] = createQuery({ query: OVERVIEW_COUNTS });
  const [recent] = createQuery({ query: TASK_LIST, variables: { first: 8 } });
  const [feed, setFeed] = createSignal<ActivityEvent[]>([]);

  let pending: ReturnType<typeof setTimeout> | undefined;
  function refreshSoon() {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      refetchStats({ requestPolicy: "network-only" });
      refetchCounts({ requestPolicy: "network-only" });
    }, REFRESH_MS);
  }
  // The chart's time axis moves even when nothing happens.
  const timer = setInterval(() => refetchStats({ requestPolicy: "network-only" }), 30_000);
  onCleanup(() => {
    clearInterval(timer);
    clearTimeout(pending);
  });

  createSubscription({ query: ORG_ACTIVITY }, (_previous, event) => {
    setFeed((current) => [event.orgActivity, ...current].slice(0, FEED_LENGTH));
    refreshSoon();
    return event;
  });

  const totals = createMemo(() => {
    const buckets = stats.data?.activityStats ?? [];
    const succeeded = buckets.reduce((sum, bucket) => sum + bucket.succeeded, 0);
    const failed = buckets.reduce((sum, bucket) => sum + bucket.failed, 0);
    return {
      executions: buckets.reduce((sum, bucket) => sum + bucket.total, 0),
      rate: succeeded + failed ? succeeded / (succeeded + failed) : null,
      failed,
    };
  });

  return (
    <div class="page">
      <PageHeader
        title="Overview"
        description={`${session.viewer()?.organization.name ?? ""} — the last ${WINDOW_MINUTES} minutes`}
        actions={
          <A href="/tasks/new" class="button button-primary">
            <Icon name="plus" /> New task
          </A>
        }
      />
      <div class="stat-grid">
        <Stat label="Executions" value={stats.data ? formatCount(totals().executions) : "—"} hint="finished attempts, last hour" />
        <Stat
          label="Success rate"
          value={formatPercent(totals().rate)}
          hint={totals().failed ? `${formatCount(totals().failed)} failed attempts` : "no failed attempts"}
          tone={totals().rate !== null && totals().rate! < 0.9 ? "danger" : undefined}
        />
        <Stat
          label="Running now"
          value={counts.data ? formatCount(counts.data.running.totalCount) : "—"}
          hint={`${formatCount(counts.data?.scheduled.totalCount ?? 0)} scheduled`}
        />
        <Stat
          label="Failing tasks"
          value={counts.data ? formatCount(counts.data.failed.totalCount) : "—"}
          hint={<A href="/failures">open the failure inbox →</A>}
          tone={(counts.data?.failed.totalCount ?? 0) > 0 ? "danger" : undefined}
        />
      </div>
      <div class="overview-grid">
        <section class="card chart-card">
          <div class="card-header">
            <h2>Executions per minute</h2>
          </div>
          <ErrorNotice
            error={stats.error}
            onRetry={() => refetchStats({ requestPolicy: "network-only" })}
            title="Could not load activity"
          />
          <Show when={stats.data} fallback={<PageLoading />}>
            <ActivityChart buckets={stats.data?.activityStats ?? []} bucketMinutes={1} />
          </Show>
        </section>
        <section class="card">
          <div class="card-header">
            <h2>Queues</h2>
            <A href="/queues" class="text-muted">
              All queues →
            </A>
          </div>
          <Show
            when={(counts.data?.queues.length ?? 0) > 0}
            fallback={
              <EmptyState icon="queues" title="No queues yet">
                Tasks pushed with a <code>queue</code> appear here with their depth.
              </EmptyState>
            }
          >
            <ul class="queue-list">
              <For each={(counts.data?.queues ?? []).slice(0, 8)}>
                {(queue) => (
                  <li>
                    <A href={`/tasks?queue=${encodeURIComponent(queue.name)}`}>{queue.name}</A>
                    <Show when={queue.paused}>
                      <StatusBadge status="PAUSED" />
                    </Show>
                    <span class="queue-depth">
                      <span title="waiting">{formatCount(queue.depth.scheduled)} waiting</span>
                      <span title="running" class="text-info">
                        {formatCount(queue.depth.running)} running
                      </span>
                      <Show when={queue.depth.failed}>
                        <span class="text-danger">{formatCount(queue.depth.failed)} failed</span>
                      </Show>
                    </span>
                  </li>
                )}
              </For>
            </ul>
          </Show>
        </section>
      </div>
      <section class="card card-flush">
        <div class="card-header card-header-padded">
          <h2>Live activity</h2>
          <span class="text-muted">{feed().length ? "as it happens" : "latest tasks until something happens"}</span>
        </div>
        <Show
          when={feed().length}
          fallback={
            <Show
              when={recent.data?.tasks.edges.length}
              fallback={
                <EmptyState icon="clock" title="Waiting for activity">
                  Executions starting and finishing show up here the moment they happen. <A href="/tasks/new">Create a task</A> to see one.
                </EmptyState>
              }
            >
              {/* Until something happens, the latest tasks as they are now. */}
              <ul class="feed" aria-label="Latest tasks">
                <For each={recent.data?.tasks.edges ?? []}>
                  {(edge) => (
                    <li class="feed-item">
                      <StatusBadge status={edge.node.status} />
                      <A href={`/tasks/${edge.node.id}`} class="task-name truncate">
                        {taskLabel(edge.node)}
                      </A>
                      <span class="feed-meta">
                        created <RelativeTime value={edge.node.createdAt} />
                      </span>
                    </li>
                  )}
                </For>
              </ul>
            </Show>
          }
        >
          <ul class="feed" aria-label="Live activity">
            <For each={feed()}>
              {(event) => (
                <li class="feed-item">
                  <StatusBadge status={event.execution?.status ?? event.task.status} label={event.kind.replace(/_/g, " ").toLowerCase()} />
                  <A href={`/tasks/${event.task.id}`} class="task-name truncate">
                    {taskLabel(event.task)}
                  </A>
                  <span class="feed-meta">
                    <Show when={event.execution?.responseStatus}>
                      <HttpStatus status={event.execution?.responseStatus} />
                    </Show>
                    <Show when={event.execution?.durationMs !== null && event.execution?.durationMs !== undefined}>
                      <span class="text-muted">{formatDuration(event.execution?.durationMs)}</span>
                    </Show>
                    <RelativeTime value={event.at} />
                  </span>
                </li>
              )}
            </For>
          </ul>
        </Show>
      </section>
    </div>
  );
}

function Stat(props: { label: string; value: string; hint?: unknown; tone?: "danger" }) {
  return (
    <div class="stat card">
      <span class="stat-label">{props.label}</span>
      <span class="stat-value" classList={{ "text-danger": props.tone === "danger" }}>
        {props.value}
      </span>
      <span class="stat-hint text-muted">{props.hint as string}</span>
    </div>
  );
}
