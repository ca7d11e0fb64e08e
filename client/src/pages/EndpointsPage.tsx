/**
 * Inbound webhook endpoints: the list, and the form that creates one (where
 * its events are forwarded, and how senders are verified).
 */
import { useNavigate } from "@solidjs/router";
import { createMutation, createQuery } from "@urql/solid";
import { createSignal, For, Index, Show } from "solid-js";
import { Dialog } from "../components/Dialog";
import { EmptyState, ErrorNotice, LoadingRows } from "../components/Feedback";
import { Field } from "../components/Field";
import { FormActions } from "../components/FormActions";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { notify } from "../components/Toasts";
import {
  CREATE_ENDPOINT,
  ENDPOINTS,
  type EndpointInput,
  type EndpointRow,
  INBOUND_VERIFICATIONS,
  type InboundVerification,
} from "../graphql/endpoints";
import { errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";
import { pluralize } from "../lib/format";

export const VERIFICATION_LABELS: Record<InboundVerification, string> = {
  STRIPE: "Stripe (Stripe-Signature)",
  GITHUB: "GitHub (X-Hub-Signature-256)",
  HMAC: "HMAC-SHA256 in a header you name",
};

export function EndpointsPage() {
  const navigate = useNavigate();
  const [endpoints, refetch] = createQuery({ query: ENDPOINTS });
  const [creating, setCreating] = createSignal(false);
  return (
    <div class="page">
      <PageHeader
        title="Endpoints"
        description="Inbound webhooks: give a sender an endpoint's URL; every request is stored, then forwarded to your destinations with retries."
        actions={
          <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" /> New endpoint
          </button>
        }
      />
      <ErrorNotice error={endpoints.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load endpoints" />
      <div class="card card-flush">
        <table class="table table-clickable">
          <thead>
            <tr>
              <th>Endpoint</th>
              <th class="hide-small">Forwards to</th>
              <th class="hide-small">Verification</th>
              <th class="hide-small">Created</th>
            </tr>
          </thead>
          <tbody>
            <Show when={endpoints.data} fallback={<LoadingRows columns={4} />}>
              <For each={endpoints.data?.endpoints ?? []}>
                {(endpoint) => (
                  <tr data-endpoint-id={endpoint.id} onClick={() => navigate(`/endpoints/${endpoint.id}`)}>
                    <td class="cell-task">
                      <a href={`/endpoints/${endpoint.id}`} class="task-name" onClick={(event) => event.preventDefault()}>
                        {endpoint.name}
                      </a>
                      <span class="task-url">{endpoint.url}</span>
                    </td>
                    <td class="hide-small">
                      <Show when={endpoint.forwardUrls.length} fallback={<span class="text-muted">stored only</span>}>
                        <span class="truncate" title={endpoint.forwardUrls.join("\n")}>
                          {endpoint.forwardUrls[0]}
                          <Show when={endpoint.forwardUrls.length > 1}>
                            <span class="text-muted"> +{endpoint.forwardUrls.length - 1}</span>
                          </Show>
                        </span>
                      </Show>
                    </td>
                    <td class="hide-small">{endpoint.verification?.kind.toLowerCase() ?? <span class="text-muted">none</span>}</td>
                    <td class="hide-small">
                      <RelativeTime value={endpoint.createdAt} />
                    </td>
                  </tr>
                )}
              </For>
            </Show>
          </tbody>
        </table>
        <Show when={endpoints.data && endpoints.data.endpoints.length === 0}>
          <EmptyState
            icon="inbound"
            title="No endpoints yet"
            action={
              <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
                <Icon name="plus" /> Create your first endpoint
              </button>
            }
          >
            An endpoint gives Stripe, GitHub or any sender a URL that never drops a webhook, even while your service is down.
          </EmptyState>
        </Show>
      </div>
      <Dialog open={creating()} title="New endpoint" onClose={() => setCreating(false)} wide>
        <EndpointForm
          onCreated={(endpoint) => {
            setCreating(false);
            navigate(`/endpoints/${endpoint.id}`);
          }}
        />
      </Dialog>
    </div>
  );
}

/** Creates an endpoint: its name, destinations (none stores events only) and sender verification. */
export function EndpointForm(props: { onCreated: (endpoint: EndpointRow) => void }) {
  const [name, setName] = createSignal("");
  const [destinations, setDestinations] = createSignal<string[]>([""]);
  const [verification, setVerification] = createSignal<InboundVerification | "">("");
  const [secret, setSecret] = createSignal("");
  const [header, setHeader] = createSignal("");
  const [ordered, setOrdered] = createSignal(false);
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const [state, create] = createMutation(CREATE_ENDPOINT);
  const error = (field: string) => errorFor(errors(), field);

  /** The destinations as sent: blank lines dropped, so a server error's index matches `sentIndexes`. */
  const filled = () =>
    destinations()
      .map((url, index) => ({ url: url.trim(), index }))
      .filter((destination) => destination.url);

  function read(): EndpointInput | FormErrors {
    const fields: Record<string, string> = {};
    if (!name().trim()) fields.name = "Name the endpoint, after its sender.";
    for (const { url, index } of filled()) {
      if (!/^https?:\/\/\S+$/i.test(url)) fields[`forwardUrls.${index}`] = "Enter an http:// or https:// URL.";
    }
    const kind = verification();
    if (kind && !secret().trim()) fields["verify.secret"] = "Paste the signing secret the sender gave you.";
    if (kind === "HMAC" && !header().trim()) fields["verify.header"] = "Name the header that carries the signature.";
    if (Object.keys(fields).length) return { fields, general: null };
    return {
      name: name().trim(),
      forwardUrls: filled().map((destination) => destination.url),
      verify: kind ? { kind, secret: secret().trim(), ...(kind === "HMAC" ? { header: header().trim() } : {}) } : null,
      ordered: ordered(),
    };
  }

  /** The server names a destination `forwardUrls[i]` by its place in the list sent; the form shows it at that line. */
  function fromServer(received: FormErrors): FormErrors {
    const fields: Record<string, string> = {};
    const sent = filled();
    for (const [field, message] of Object.entries(received.fields)) {
      const match = /^forwardUrls\[(\d+)\]$/.exec(field);
      const line = match ? sent[Number(match[1])]?.index : undefined;
      fields[line === undefined ? field : `forwardUrls.${line}`] = message;
    }
    return { fields, general: received.general };
  }

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const input = read();
    if ("fields" in input) return setErrors(input);
    setErrors(noErrors());
    const result = await create(input);
    if (result.error) return setErrors(fromServer(fieldErrors(result.error)));
    const endpoint = result.data?.createEndpoint;
    if (!endpoint) return;
    notify("success", `Endpoint ${endpoint.name} created: give its URL to the sender`);
    props.onCreated(endpoint);
  }

  return (
    <form class="stack" onSubmit={submit} novalidate>
      <ErrorNotice error={errors().general} title="Not created" />
      <Field label="Name" for="endpoint-name" error={error("name")}>
        <input id="endpoint-name" placeholder="Stripe" value={name()} onInput={(event) => setName(event.currentTarget.value)} />
      </Field>
      <div class="field">
        <span class="label">
          Forward to <span class="optional">optional</span>
        </span>
        <Index each={destinations()}>
          {(url, index) => (
            <div class="destination-row" classList={{ "field-invalid": !!error(`forwardUrls.${index}`) }}>
              <input
                aria-label={`Destination ${index + 1}`}
                class="mono"
                type="url"
                placeholder="https://api.example.com/webhooks/stripe"
                value={url()}
                aria-invalid={!!error(`forwardUrls.${index}`)}
                aria-describedby={error(`forwardUrls.${index}`) ? `destination-${index}-error` : undefined}
                onInput={(event) => {
                  const value = event.currentTarget.value;
                  setDestinations((current) => current.map((existing, position) => (position === index ? value : existing)));
                }}
              />
              <button
                type="button"
                class="icon-button"
                aria-label={`Remove destination ${index + 1}`}
                onClick={() => setDestinations((current) => current.filter((_, position) => position !== index))}
              >
                <Icon name="x" />
              </button>
              <Show when={error(`forwardUrls.${index}`)}>
                <div class="field-error" id={`destination-${index}-error`} role="alert">
                  {error(`forwardUrls.${index}`)}
                </div>
              </Show>
            </div>
          )}
        </Index>
        <Show when={error("forwardUrls")}>
          <div class="field-error" role="alert">
            {error("forwardUrls")}
          </div>
        </Show>
        <button
          type="button"
          class="button button-small button-ghost add-header"
          disabled={destinations().length >= 10}
          onClick={() => setDestinations((current) => [...current, ""])}
        >
          <Icon name="plus" /> Add destination
        </button>
        <div class="field-hint">
          Up to 10. Each event is forwarded to every destination as a signed, retried task; none stores events only.
        </div>
      </div>
      <Field label="Verify senders" for="endpoint-verification" error={error("verify.kind")}>
        <select
          id="endpoint-verification"
          value={verification()}
          onChange={(event) => setVerification(event.currentTarget.value as InboundVerification | "")}
        >
          <option value="">No verification: accept every request</option>
          <For each={INBOUND_VERIFICATIONS}>{(kind) => <option value={kind}>{VERIFICATION_LABELS[kind]}</option>}</For>
        </select>
      </Field>
      <Show when={verification()}>
        <div class="field-row">
          <Field
            label="Signing secret"
            for="endpoint-secret"
            error={error("verify.secret")}
            hint="Requests whose signature does not verify are answered 401, stored as rejected, not forwarded."
          >
            <input
              id="endpoint-secret"
              type="password"
              autocomplete="off"
              class="mono"
              value={secret()}
              aria-invalid={!!error("verify.secret")}
              onInput={(event) => setSecret(event.currentTarget.value)}
            />
          </Field>
          <Show when={verification() === "HMAC"}>
            <Field label="Signature header" for="endpoint-header" error={error("verify.header")}>
              <input
                id="endpoint-header"
                class="mono"
                placeholder="X-Signature"
                value={header()}
                aria-invalid={!!error("verify.header")}
                onInput={(event) => setHeader(event.currentTarget.value)}
              />
            </Field>
          </Show>
        </div>
      </Show>
      <label class="checkbox">
        <input type="checkbox" checked={ordered()} onChange={(event) => setOrdered(event.currentTarget.checked)} />
        Deliver in order: one event at a time to each destination, in the order received
      </label>
      <FormActions busy={state.fetching} busyLabel="Creating…" label="Create endpoint">
        <span class="text-muted small">{pluralize(filled().length, "destination")}</span>
      </FormActions>
    </form>
  );
}
