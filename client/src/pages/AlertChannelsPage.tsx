/**
 * Alert channels: where a monitor going DOWN, a task failing or an endpoint's
 * forwards failing is announced (Slack, Discord, a webhook, email). Create,
 * send a test through the same path as real alerts, delete.
 */
import { createMutation, createQuery } from "@urql/solid";
import { createSignal, For, Show } from "solid-js";
import { DeleteButton } from "../components/DeleteButton";
import { Dialog } from "../components/Dialog";
import { EmptyState, ErrorNotice, LoadingRows } from "../components/Feedback";
import { Field } from "../components/Field";
import { FormActions } from "../components/FormActions";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import {
  ALERT_CHANNEL_KINDS,
  ALERT_CHANNELS,
  type AlertChannelKind,
  type AlertChannelRow,
  CREATE_ALERT_CHANNEL,
  DELETE_ALERT_CHANNEL,
  TEST_ALERT_CHANNEL,
} from "../graphql/alerts";
import { describeError, errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";

const KINDS: Record<AlertChannelKind, { label: string; target: string; placeholder: string }> = {
  SLACK: { label: "Slack", target: "Incoming webhook URL", placeholder: "https://hooks.slack.com/services/…" },
  DISCORD: { label: "Discord", target: "Webhook URL", placeholder: "https://discord.com/api/webhooks/…" },
  WEBHOOK: { label: "Webhook", target: "URL (a signed JSON POST)", placeholder: "https://api.example.com/alerts" },
  EMAIL: { label: "Email", target: "Email address", placeholder: "oncall@example.com" },
};

export function AlertChannelsPage() {
  const [channels, refetch] = createQuery({ query: ALERT_CHANNELS });
  const [creating, setCreating] = createSignal(false);
  return (
    <div class="page">
      <PageHeader
        title="Alerts"
        description="Where Runlater tells you that a monitor went down, a task failed after its last retry or an endpoint cannot forward, and when each recovers."
        actions={
          <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" /> New channel
          </button>
        }
      />
      <ErrorNotice error={channels.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load channels" />
      <div class="card card-flush">
        <table class="table">
          <thead>
            <tr>
              <th>Channel</th>
              <th>Kind</th>
              <th class="hide-small">Receives</th>
              <th class="hide-small">Created</th>
              <th class="actions-cell">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <Show when={channels.data} fallback={<LoadingRows columns={5} />}>
              <For each={channels.data?.alertChannels ?? []}>
                {(channel) => <ChannelLine channel={channel} onDeleted={() => refetch({ requestPolicy: "network-only" })} />}
              </For>
            </Show>
          </tbody>
        </table>
        <Show when={channels.data && channels.data.alertChannels.length === 0}>
          <EmptyState
            icon="bell"
            title="No alert channels yet"
            action={
              <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
                <Icon name="plus" /> Add a channel
              </button>
            }
          >
            Until you add one, nobody is told when a monitor goes down.
          </EmptyState>
        </Show>
      </div>
      <Dialog open={creating()} title="New alert channel" onClose={() => setCreating(false)}>
        <AlertChannelForm
          onCreated={() => {
            setCreating(false);
            refetch({ requestPolicy: "network-only" });
          }}
        />
      </Dialog>
    </div>
  );
}

function ChannelLine(props: { channel: AlertChannelRow; onDeleted: () => void }) {
  const [testState, test] = createMutation(TEST_ALERT_CHANNEL);
  const [deleteState, remove] = createMutation(DELETE_ALERT_CHANNEL);

  async function sendTest() {
    const result = await test({ id: props.channel.id });
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not send a test");
    const notification = result.data?.testAlertChannel;
    notify(
      notification?.status === "FAILED" ? "error" : "success",
      notification?.status === "FAILED"
        ? `The test could not be sent: ${notification.error ?? "unknown error"}`
        : `Test sent to ${props.channel.name}`,
    );
  }

  return (
    <tr data-channel-id={props.channel.id}>
      <td class="cell-task">
        <strong>{props.channel.name}</strong>
        <span class="task-url truncate">{props.channel.target}</span>
      </td>
      <td>{KINDS[props.channel.kind]?.label ?? props.channel.kind}</td>
      <td class="hide-small">
        <Show when={props.channel.isDefault} fallback={<span class="text-muted">only resources routed to it</span>}>
          <StatusBadge status="ACTIVE" label="all alerts (default)" />
        </Show>
      </td>
      <td class="hide-small">
        <RelativeTime value={props.channel.createdAt} />
      </td>
      <td class="actions-cell">
        <div class="button-row">
          <button type="button" class="button button-small" disabled={testState.fetching} onClick={sendTest}>
            {testState.fetching ? "Sending…" : "Send test"}
          </button>
          <DeleteButton
            title={`Delete ${props.channel.name}?`}
            confirmLabel="Delete channel"
            busy={deleteState.fetching}
            small
            onConfirm={async () => {
              const result = await remove({ id: props.channel.id });
              if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not delete the channel");
              notify("success", `Channel ${props.channel.name} deleted`);
              // A deletion answers a Boolean, which tells the query cache nothing: read the list again.
              props.onDeleted();
            }}
          >
            <p>Alerts stop going to it, and the record of what it was sent is deleted with it.</p>
          </DeleteButton>
        </div>
      </td>
    </tr>
  );
}

export function AlertChannelForm(props: { onCreated: (channel: AlertChannelRow) => void }) {
  const [name, setName] = createSignal("");
  const [kind, setKind] = createSignal<AlertChannelKind>("SLACK");
  const [target, setTarget] = createSignal("");
  const [isDefault, setIsDefault] = createSignal(true);
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const [state, create] = createMutation(CREATE_ALERT_CHANNEL);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const fields: Record<string, string> = {};
    if (!name().trim()) fields.name = "Name the channel, e.g. after the Slack channel.";
    if (!target().trim()) fields.target = kind() === "EMAIL" ? "Enter the email address." : "Paste the webhook URL.";
    if (Object.keys(fields).length) return setErrors({ fields, general: null });
    setErrors(noErrors());
    const result = await create({ name: name().trim(), kind: kind(), target: target().trim(), isDefault: isDefault() });
    if (result.error) return setErrors(fieldErrors(result.error));
    const channel = result.data?.createAlertChannel;
    if (!channel) return;
    notify("success", `Channel ${channel.name} added: send it a test`);
    props.onCreated(channel);
  }

  return (
    <form class="stack" onSubmit={submit} novalidate>
      <ErrorNotice error={errors().general} title="Not created" />
      <Field label="Name" for="channel-name" error={errorFor(errors(), "name")}>
        <input id="channel-name" placeholder="#ops" value={name()} onInput={(event) => setName(event.currentTarget.value)} />
      </Field>
      <Field label="Kind" for="channel-kind" error={errorFor(errors(), "kind")}>
        <select id="channel-kind" value={kind()} onChange={(event) => setKind(event.currentTarget.value as AlertChannelKind)}>
          <For each={ALERT_CHANNEL_KINDS}>{(value) => <option value={value}>{KINDS[value].label}</option>}</For>
        </select>
      </Field>
      <Field label={KINDS[kind()].target} for="channel-target" error={errorFor(errors(), "target")}>
        <input
          id="channel-target"
          class="mono"
          type={kind() === "EMAIL" ? "email" : "url"}
          placeholder={KINDS[kind()].placeholder}
          value={target()}
          aria-invalid={!!errorFor(errors(), "target")}
          aria-describedby={errorFor(errors(), "target") ? "channel-target-error" : undefined}
          onInput={(event) => setTarget(event.currentTarget.value)}
        />
      </Field>
      <label class="checkbox">
        <input type="checkbox" checked={isDefault()} onChange={(event) => setIsDefault(event.currentTarget.checked)} />
        Default: receives the alerts of every monitor, task and endpoint without a route of its own
      </label>
      <FormActions busy={state.fetching} busyLabel="Adding…" label="Add channel" />
    </form>
  );
}
