/**
 * One inbound endpoint: its URL to give the sender and its settings, the
 * events it received (new ones appear live through inboundEvents), and the
 * selected event in full: headers, the body (JSON formatted), its forwards
 * with their status, and replay to every destination or to one.
 */
import { A, useNavigate, useParams, useSearchParams } from "@solidjs/router";
import { createMutation, createQuery, createSubscription } from "@urql/solid";
import { createEffect, createMemo, createSignal, For, Match, on, Show, Switch } from "solid-js";
import { CodeViewer, HeaderList } from "../components/CodeViewer";
import { CopyButton } from "../components/CopyButton";
import { DeleteButton } from "../components/DeleteButton";
import { DetailLoadError, EmptyState, ErrorNotice, PageLoading, Spinner } from "../components/Feedback";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import {
  DELETE_ENDPOINT,
  ENDPOINT_DETAIL,
  type EndpointRow,
  INBOUND_EVENT,
  INBOUND_EVENTS_LIVE,
  type InboundDelivery,
  type InboundEventRow,
  type InboundEventStatus,
  REPLAY_EVENT,
} from "../graphql/endpoints";
import { describeError } from "../graphql/errors";
import { TASK_UPDATED } from "../graphql/tasks";
import { formatDateTime, formatDuration, pluralize } from "../lib/format";
import { VERIFICATION_LABELS } from "./EndpointsPage";

const PAGE_SIZE = 50;

export function EndpointDetailPage() {
  const params = useParams<{ id: string }>();
  const [search, setSearch] = useSearchParams<{ event?: string; status?: string }>();
  const status = () => (search.status === "ACCEPTED" || search.status === "REJECTED" ? (search.status as InboundEventStatus) : undefined);
  // Cursors of the pages before this one: "older" pushes, "newer" pops.
  const [cursors, setCursors] = createSignal<string[]>([]);
  createEffect(on(status, () => setCursors([]), { defer: true }));
  const [result, refetch] = createQuery({
    query: ENDPOINT_DETAIL,
    variables: () => ({ id: params.id, first: PAGE_SIZE, after: cursors().at(-1), status: status() }),
  });

  // Events received since the page loaded, newest first; on older pages they only wait for the way back.
  const [arrived, setArrived] = createSignal<InboundEventRow[]>([]);
  createEffect(on([() => params.id, status], () => setArrived([]), { defer: true }));
  createSubscription({ query: INBOUND_EVENTS_LIVE, variables: () => ({ endpointId: params.id }) }, (_previous, event) => {
    const received = event.inboundEvents;
    if (received.endpointId === params.id && (!status() || received.status === status())) {
      setArrived((current) => [received, ...current.filter((row) => row.id !== received.id)].slice(0, PAGE_SIZE));
    }
    return event;
  });

  const events = createMemo(() => {
    const fetched = (result.data?.inboundEvents.edges ?? []).map((edge) => edge.node);
    if (cursors().length) return fetched;
    const known = new Set(fetched.map((row) => row.id));
    return [...arrived().filter((row) => !known.has(row.id)), ...fetched];
  });
  const selectedId = () => search.event ?? events()[0]?.id;

  return (
    <Switch>
      <Match when={result.error && !result.data}>
        <DetailLoadError
          error={result.error}
          noun="endpoint"
          backHref="/endpoints"
          backLabel="All endpoints"
          onRetry={() => refetch({ requestPolicy: "network-only" })}
        />
      </Match>
      <Match when={!result.data}>
        <PageLoading label="Loading endpoint" />
      </Match>
      <Match when={result.data?.endpoint}>
        {(endpoint) => (
          <div class="page">
            <PageHeader
              documentTitle={endpoint().name}
              eyebrow={
                <A href="/endpoints" class="back-link">
                  ← Endpoints
                </A>
              }
              title={endpoint().name}
              description={<EndpointSummary endpoint={endpoint()} />}
              actions={<EndpointActions endpoint={endpoint()} />}
            />
            <section class="card card-padded stack-small">
              <h2>URL for the sender</h2>
              <div class="secret-box">
                <code data-testid="endpoint-url">{endpoint().url}</code>
                <CopyButton value={endpoint().url} label="Copy URL" />
              </div>
              <p class="text-muted small">
                Any method, a body up to 1 MiB, no API key. Runlater answers <code>202</code> once the event is stored
                {endpoint().verification ? " and its signature verified" : ""}.
              </p>
            </section>
            <div class="events-layout">
              <section class="card card-flush">
                <div class="card-header card-header-padded">
                  <h2>Events</h2>
                  <select
                    aria-label="Event status"
                    value={status() ?? ""}
                    onChange={(event) => setSearch({ status: event.currentTarget.value || undefined, event: undefined })}
                  >
                    <option value="">All events</option>
                    <option value="ACCEPTED">Accepted</option>
                    <option value="REJECTED">Rejected</option>
                  </select>
                </div>
                <Show
                  when={events().length}
                  fallback={
                    <EmptyState icon="inbound" title={status() ? "No event with this status" : "No events yet"}>
                      Send one to try it:{" "}
                      <code>
                        curl -X POST -d '{"{"}"hello":"world"{"}"}' {endpoint().url}
                      </code>
                      . It appears here at once.
                    </EmptyState>
                  }
                >
                  <ul class="event-list" aria-label="Events">
                    <For each={events()}>
                      {(row) => (
                        <li>
                          <button
                            type="button"
                            class="event-row"
                            classList={{ selected: row.id === selectedId() }}
                            data-event-id={row.id}
                            aria-current={row.id === selectedId() ? "true" : undefined}
                            onClick={() => setSearch({ event: row.id })}
                          >
                            <StatusBadge status={row.status} />
                            <span class="method">{row.method}</span>
                            <span class="event-size text-muted">{formatBytes(row.bodySize)}</span>
                            <span class="event-time">
                              <RelativeTime value={row.receivedAt} />
                            </span>
                          </button>
                        </li>
                      )}
                    </For>
                  </ul>
                  <div class="pagination">
                    <span class="text-muted">{pluralize(events().length, "event")} shown, newest first</span>
                    <div class="pagination-buttons">
                      <button
                        type="button"
                        class="button button-small"
                        disabled={!cursors().length}
                        onClick={() => setCursors((current) => current.slice(0, -1))}
                      >
                        Newer
                      </button>
                      <button
                        type="button"
                        class="button button-small"
                        disabled={!result.data?.inboundEvents.pageInfo.hasNextPage}
                        onClick={() => {
                          const end = result.data?.inboundEvents.pageInfo.endCursor;
                          if (end) setCursors((current) => [...current, end]);
                        }}
                      >
                        Older
                      </button>
                    </div>
                  </div>
                </Show>
              </section>
              <Show when={selectedId()}>{(id) => <EventDetail id={id()} endpoint={endpoint()} />}</Show>
            </div>
          </div>
        )}
      </Match>
    </Switch>
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function EndpointSummary(props: { endpoint: EndpointRow }) {
  const destinations = () => props.endpoint.forwardUrls.length;
  return (
    <span>
      {destinations() ? `Forwards to ${pluralize(destinations(), "destination")}` : "Stores events without forwarding them"}
      {props.endpoint.ordered ? ", in order" : ""} · {props.endpoint.retries} retries, {formatDuration(props.endpoint.timeoutMs)} timeout ·{" "}
      {props.endpoint.verification ? `verifies ${VERIFICATION_LABELS[props.endpoint.verification.kind]}` : "no sender verification"}
    </span>
  );
}

function EventDetail(props: { id: string; endpoint: EndpointRow }) {
  const [event, refetch] = createQuery({ query: INBOUND_EVENT, variables: () => ({ id: props.id }) });
  const [replayState, replay] = createMutation(REPLAY_EVENT);
  const [replaying, setReplaying] = createSignal<string | null>(null);

  async function replayTo(destination?: string) {
    setReplaying(destination ?? "all");
    const result = await replay({ id: props.id, ...(destination ? { destination } : {}) });
    setReplaying(null);
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not replay the event");
    notify("success", `Replayed to ${destination ?? pluralize(result.data?.replayEvent.length ?? 0, "destination")}`);
    refetch({ requestPolicy: "network-only" });
  }

  return (
    <section class="card event-detail" aria-label="Event">
      <Show when={event.data?.inboundEvent} fallback={<ErrorNotice error={event.error} title="Could not load the event" />}>
        {(current) => (
          <div class="stack">
            <div class="card-header">
              <h2 class="title-with-badge">
                {current().method} {current().path ? `/${current().path.replace(/^\//, "")}` : ""}
                {current().query ? `?${current().query}` : ""}
                <StatusBadge status={current().status} />
              </h2>
              <Show when={props.endpoint.forwardUrls.length}>
                <button type="button" class="button button-small" disabled={replayState.fetching} onClick={() => replayTo()}>
                  <Icon name="refresh" /> {replaying() === "all" ? "Replaying…" : "Replay to all"}
                </button>
              </Show>
            </div>
            <Show when={current().rejectionReason}>
              <div class="notice notice-danger">
                Rejected: {current().rejectionReason}. It was not forwarded; replaying it vouches for it.
              </div>
            </Show>
            <dl class="properties properties-inline">
              <dt>Received</dt>
              <dd>{formatDateTime(current().receivedAt)}</dd>
              <dt>From</dt>
              <dd>{current().sourceIp}</dd>
              <dt>Id</dt>
              <dd>
                <code class="small">{current().id}</code>
              </dd>
            </dl>
            <h3 class="subheading">Headers</h3>
            <HeaderList headers={current().headers} />
            <CodeViewer text={current().body} label="Body" emptyLabel="Empty body" />
            <h3 class="subheading">Forwards</h3>
            <Show when={current().deliveries.length} fallback={<div class="code-empty">Not forwarded</div>}>
              <div class="table-scroll">
                <table class="table">
                  <thead>
                    <tr>
                      <th>Destination</th>
                      <th>Status</th>
                      <th class="actions-cell">
                        <span class="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={current().deliveries}>
                      {(delivery) => (
                        <DeliveryLine
                          delivery={delivery}
                          canReplay={props.endpoint.forwardUrls.includes(delivery.destination)}
                          replaying={replaying() === delivery.destination}
                          disabled={replayState.fetching}
                          onReplay={() => replayTo(delivery.destination)}
                        />
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          </div>
        )}
      </Show>
      <Show when={event.fetching && !event.data}>
        <Spinner label="Loading event" />
      </Show>
    </section>
  );
}

/** One forward: its task's status follows the task live (taskUpdated) until it succeeds or fails. */
function DeliveryLine(props: {
  delivery: InboundDelivery;
  canReplay: boolean;
  replaying: boolean;
  disabled: boolean;
  onReplay: () => void;
}) {
  const [task] = createSubscription({ query: TASK_UPDATED, variables: () => ({ id: props.delivery.taskId }) });
  const status = () => (task.data?.taskUpdated.id === props.delivery.taskId ? task.data.taskUpdated.status : props.delivery.task.status);
  return (
    <tr data-destination={props.delivery.destination} data-task-id={props.delivery.taskId}>
      <td>
        <A href={`/tasks/${props.delivery.taskId}`} class="truncate mono small">
          {props.delivery.destination}
        </A>
        <Show when={props.delivery.replay}>
          {" "}
          <span class="tag">replay</span>
        </Show>
      </td>
      <td>
        <StatusBadge status={status()} />
      </td>
      <td class="actions-cell">
        <Show when={props.canReplay}>
          <button type="button" class="button button-small button-ghost" disabled={props.disabled} onClick={() => props.onReplay()}>
            {props.replaying ? "Replaying…" : "Replay here"}
          </button>
        </Show>
      </td>
    </tr>
  );
}

function EndpointActions(props: { endpoint: EndpointRow }) {
  const navigate = useNavigate();
  const [state, remove] = createMutation(DELETE_ENDPOINT);
  return (
    <div class="button-row">
      <DeleteButton
        title={`Delete ${props.endpoint.name}?`}
        confirmLabel="Delete endpoint"
        busy={state.fetching}
        onConfirm={async () => {
          const result = await remove({ id: props.endpoint.id });
          if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not delete the endpoint");
          notify("success", `Endpoint ${props.endpoint.name} deleted`);
          navigate("/endpoints");
        }}
      >
        <p>Its events are deleted and its URL answers 404 from now on; forwards already made stay as tasks. This cannot be undone.</p>
      </DeleteButton>
    </div>
  );
}
