/**
 * Heartbeat monitors: the list with each monitor's state (live through
 * monitorUpdated, LATE as soon as a ping is overdue), and the form that
 * creates or edits one (an interval, or a cron expression in a time zone,
 * and a grace period).
 */
import { useNavigate } from "@solidjs/router";
import { createMutation, createQuery, createSubscription } from "@urql/solid";
import { createSignal, For, onCleanup, Show } from "solid-js";
import { CronField } from "../components/CronField";
import { Dialog } from "../components/Dialog";
import { EmptyState, ErrorNotice, LoadingRows } from "../components/Feedback";
import { Field } from "../components/Field";
import { FormActions } from "../components/FormActions";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import { errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";
import { CREATE_MONITOR, MONITOR_UPDATED, MONITORS, type MonitorRow, UPDATE_MONITOR } from "../graphql/monitors";
import { formatDuration } from "../lib/format";
import { createLiveRows } from "../lib/live-rows";
import { DURATION_UNITS, describeSchedule, describeSeconds, monitorStatusAt, splitSeconds } from "../lib/monitor-schedule";
import { now } from "../lib/now";

export function MonitorsPage() {
  const navigate = useNavigate();
  const [monitors, refetch] = createQuery({ query: MONITORS });
  const [creating, setCreating] = createSignal(false);
  const live = createLiveRows<MonitorRow>();
  const rows = () => (monitors.data?.monitors ?? []).map((monitor) => live.current(monitor));

  // A monitor not on the list (created elsewhere) makes the list refetch, once per burst.
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(refreshTimer));
  createSubscription({ query: MONITOR_UPDATED, variables: {} }, (_previous, event) => {
    const monitor = event.monitorUpdated;
    live.update(monitor);
    if (!monitors.data?.monitors.some((row) => row.id === monitor.id) && !refreshTimer) {
      refreshTimer = setTimeout(() => {
        refreshTimer = undefined;
        refetch({ requestPolicy: "network-only" });
      }, 300);
    }
    return event;
  });

  return (
    <div class="page">
      <PageHeader
        title="Monitors"
        description="Heartbeat monitors watch jobs that run elsewhere: the job pings its URL each time it runs, and a missing ping raises an alert."
        actions={
          <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" /> New monitor
          </button>
        }
      />
      <ErrorNotice error={monitors.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load monitors" />
      <div class="card card-flush">
        <table class="table table-clickable">
          <thead>
            <tr>
              <th>Monitor</th>
              <th>Status</th>
              <th class="hide-small">Last ping</th>
              <th class="hide-small">Next ping expected</th>
              <th class="numeric hide-small">Last duration</th>
            </tr>
          </thead>
          <tbody>
            <Show when={monitors.data} fallback={<LoadingRows columns={5} />}>
              <For each={rows()}>
                {(monitor) => (
                  <tr data-monitor-id={monitor.id} onClick={() => navigate(`/monitors/${monitor.id}`)}>
                    <td class="cell-task">
                      <a href={`/monitors/${monitor.id}`} class="task-name" onClick={(event) => event.preventDefault()}>
                        {monitor.name}
                      </a>
                      <span class="task-url">
                        {describeSchedule(monitor)}, {describeSeconds(monitor.graceSeconds)} grace
                      </span>
                    </td>
                    <td>
                      <StatusBadge status={monitorStatusAt(monitor, now())} />
                    </td>
                    <td class="hide-small">
                      <RelativeTime value={monitor.lastPingAt} fallback="never" />
                    </td>
                    <td class="hide-small">
                      <RelativeTime value={monitor.expectedAt} fallback={monitor.paused ? "paused" : "after the first ping"} />
                    </td>
                    <td class="numeric hide-small">{formatDuration(monitor.lastDurationMs)}</td>
                  </tr>
                )}
              </For>
            </Show>
          </tbody>
        </table>
        <Show when={monitors.data && rows().length === 0}>
          <EmptyState
            icon="heartbeat"
            title="No monitors yet"
            action={
              <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
                <Icon name="plus" /> Create your first monitor
              </button>
            }
          >
            Create a monitor, then make your backup or cron job call its ping URL each time it runs.
          </EmptyState>
        </Show>
      </div>
      <Dialog open={creating()} title="New monitor" onClose={() => setCreating(false)} wide>
        <MonitorForm
          onSaved={(monitor) => {
            setCreating(false);
            navigate(`/monitors/${monitor.id}`);
          }}
        />
      </Dialog>
    </div>
  );
}

type ScheduleKind = "interval" | "cron";

/** Creates a monitor, or edits `monitor`'s name and schedule. */
export function MonitorForm(props: { monitor?: MonitorRow; onSaved: (monitor: MonitorRow) => void }) {
  const interval = splitSeconds(props.monitor?.intervalSeconds ?? 86_400);
  const grace = splitSeconds(props.monitor?.graceSeconds ?? 3600);
  const [name, setName] = createSignal(props.monitor?.name ?? "");
  const [kind, setKind] = createSignal<ScheduleKind>(props.monitor?.cron ? "cron" : "interval");
  const [intervalAmount, setIntervalAmount] = createSignal(String(interval.amount));
  const [intervalUnit, setIntervalUnit] = createSignal(interval.unit);
  const [cron, setCron] = createSignal(props.monitor?.cron ?? "");
  const [timezone, setTimezone] = createSignal(props.monitor?.timezone ?? "UTC");
  const [graceAmount, setGraceAmount] = createSignal(String(grace.amount));
  const [graceUnit, setGraceUnit] = createSignal(grace.unit);
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const [createState, create] = createMutation(CREATE_MONITOR);
  const [updateState, update] = createMutation(UPDATE_MONITOR);

  /** The form's values as the API takes them, or the errors that stop it from being sent. */
  function read():
    | { values: { name: string; intervalSeconds?: number; cron?: string; timezone?: string; graceSeconds: number } }
    | FormErrors {
    const fields: Record<string, string> = {};
    if (!name().trim()) fields.name = "Name the monitor, after the job it watches.";
    const wholeNumber = (text: string) => (/^\d+$/.test(text.trim()) ? Number(text) : Number.NaN);
    const intervalSeconds = wholeNumber(intervalAmount()) * intervalUnit();
    if (kind() === "interval" && !(intervalSeconds >= 1)) fields.intervalSeconds = "Enter how often the job runs, as a whole number.";
    if (kind() === "cron" && !cron().trim()) fields.cron = "Enter when the job runs, as a cron expression.";
    const graceSeconds = wholeNumber(graceAmount()) * graceUnit();
    if (!(graceSeconds >= 0)) fields.graceSeconds = "Enter how late a ping may be, as a whole number (0 for none).";
    if (Object.keys(fields).length) return { fields, general: null };
    const schedule = kind() === "interval" ? { intervalSeconds } : { cron: cron().trim(), timezone: timezone() };
    return { values: { name: name().trim(), ...schedule, graceSeconds } };
  }

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const form = read();
    if (!("values" in form)) return setErrors(form);
    setErrors(noErrors());
    const result = props.monitor ? await update({ id: props.monitor.id, ...form.values }) : await create(form.values);
    if (result.error) return setErrors(fieldErrors(result.error));
    const saved = result.data && ("createMonitor" in result.data ? result.data.createMonitor : result.data.updateMonitor);
    if (!saved) return;
    notify("success", props.monitor ? `Monitor ${saved.name} saved` : `Monitor ${saved.name} created: point your job at its ping URL`);
    props.onSaved(saved);
  }

  return (
    <form class="stack" onSubmit={submit} novalidate>
      <ErrorNotice error={errors().general} title="Not saved" />
      <Field label="Name" for="monitor-name" error={errorFor(errors(), "name")}>
        <input id="monitor-name" placeholder="Nightly backup" value={name()} onInput={(event) => setName(event.currentTarget.value)} />
      </Field>
      <fieldset class="segmented" aria-label="Schedule">
        <For
          each={
            [
              ["interval", "Every interval"],
              ["cron", "Cron schedule"],
            ] as const
          }
        >
          {([value, label]) => (
            <label classList={{ active: kind() === value }}>
              <input type="radio" name="monitor-schedule" checked={kind() === value} onChange={() => setKind(value)} />
              {label}
            </label>
          )}
        </For>
      </fieldset>
      <Show
        when={kind() === "cron"}
        fallback={
          <DurationField
            id="monitor-interval"
            label="Expected every"
            amount={intervalAmount()}
            unit={intervalUnit()}
            onAmount={setIntervalAmount}
            onUnit={setIntervalUnit}
            error={errorFor(errors(), "intervalSeconds")}
            hint="How often the job runs, so how often a ping should arrive."
          />
        }
      >
        <CronField
          cron={cron()}
          timezone={timezone()}
          onCronChange={setCron}
          onTimezoneChange={setTimezone}
          cronError={errorFor(errors(), "cron")}
          timezoneError={errorFor(errors(), "timezone")}
        />
      </Show>
      <DurationField
        id="monitor-grace"
        label="Grace period"
        amount={graceAmount()}
        unit={graceUnit()}
        onAmount={setGraceAmount}
        onUnit={setGraceUnit}
        error={errorFor(errors(), "graceSeconds")}
        hint="How late a ping may be before the monitor goes DOWN and alerts are sent."
      />
      <FormActions
        busy={createState.fetching || updateState.fetching}
        busyLabel="Saving…"
        label={props.monitor ? "Save monitor" : "Create monitor"}
      />
    </form>
  );
}

/** A whole number and its unit (seconds to days). */
function DurationField(props: {
  id: string;
  label: string;
  amount: string;
  unit: number;
  onAmount: (value: string) => void;
  onUnit: (value: number) => void;
  error?: string;
  hint: string;
}) {
  return (
    <Field label={props.label} for={props.id} error={props.error} hint={props.hint}>
      <div class="duration-input">
        <input
          id={props.id}
          type="number"
          min="0"
          step="1"
          inputmode="numeric"
          value={props.amount}
          aria-invalid={props.error ? "true" : undefined}
          aria-describedby={props.error ? `${props.id}-error` : undefined}
          onInput={(event) => props.onAmount(event.currentTarget.value)}
        />
        <select
          aria-label={`${props.label} unit`}
          value={String(props.unit)}
          onChange={(event) => props.onUnit(Number(event.currentTarget.value))}
        >
          <For each={DURATION_UNITS}>{(unit) => <option value={String(unit.seconds)}>{unit.label}</option>}</For>
        </select>
      </div>
    </Field>
  );
}
