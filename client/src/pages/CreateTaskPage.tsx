/**
 * Create a task: the request (URL, method, headers, body), when it runs (now,
 * after a delay, at a time, or on a cron schedule with its next runs
 * previewed) and delivery options. The server validates everything; its
 * refusals appear at the field they name. `?from=<task id>` duplicates a task.
 */
import { A, useNavigate, useSearchParams } from "@solidjs/router";
import { createMutation, createQuery } from "@urql/solid";
import { createSignal, For, Index, Match, Show, Switch } from "solid-js";
import { createStore } from "solid-js/store";
import { browserTimeZone, CronField } from "../components/CronField";
import { ErrorNotice, PageLoading } from "../components/Feedback";
import { Field } from "../components/Field";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { notify } from "../components/Toasts";
import { fieldErrors } from "../graphql/errors";
import {
  HTTP_METHODS,
  type HttpMethod,
  PUSH_TASK,
  type PushTaskVariables,
  TASK_DETAIL,
  type TaskDetail,
  UPDATE_TASK,
  type UpdateTaskVariables,
} from "../graphql/tasks";
import { formatDateTime } from "../lib/format";

/** When the task runs; "keep" (editing only) leaves its due time as it is. */
export type ScheduleMode = "keep" | "now" | "delay" | "runAt" | "cron";

export interface TaskFormValues {
  name: string;
  url: string;
  method: HttpMethod;
  queue: string;
  headers: Array<{ name: string; value: string }>;
  bodyKind: BodyKind;
  body: string;
  mode: ScheduleMode;
  delay: string;
  runAt: string;
  cron: string;
  timezone: string;
  retries: string;
  timeoutSeconds: string;
  priority: string;
  callbackUrl: string;
}

/** How the body box is read: a JSON document, text sent as typed, or bytes written in base64. */
type BodyKind = "json" | "text" | "base64";
const BODY_KINDS: Record<BodyKind, { label: string; hint: string; placeholder: string }> = {
  json: { label: "JSON", hint: "Sent as application/json.", placeholder: '{\n  "invoiceId": 42\n}' },
  text: { label: "Text", hint: "Sent exactly as typed.", placeholder: "Any text" },
  base64: { label: "Base64", hint: "Bytes that are not text, in base64: sent decoded.", placeholder: "AAECAwQ=" },
};
/**
 * What the server accepts as bodyBase64: standard or URL-safe alphabet, padding optional, line breaks, tabs and spaces
 * ignored. No backtracking pattern: a pasted file of megabytes must not run out of stack.
 */
function isBase64(text: string): boolean {
  const compact = text.replace(/[\r\n\t ]/g, "");
  const data = compact.replace(/={1,2}$/, "");
  return /^[A-Za-z0-9+/_-]*$/.test(data) && data.length % 4 !== 1 && (data === compact || compact.length % 4 === 0);
}

export function emptyTaskForm(): TaskFormValues {
  return {
    name: "",
    url: "",
    method: "POST",
    queue: "",
    headers: [],
    bodyKind: "json",
    body: "",
    mode: "now",
    delay: "5m",
    runAt: "",
    cron: "",
    timezone: browserTimeZone(),
    retries: "3",
    timeoutSeconds: "30",
    priority: "0",
    callbackUrl: "",
  };
}

/** A form filled with an existing task's request and schedule (Duplicate). */
export function taskFormFrom(task: TaskDetail): TaskFormValues {
  const isJson = task.bodyEncoding === "JSON";
  let body = task.body ?? "";
  if (isJson && body) {
    try {
      body = JSON.stringify(JSON.parse(body), null, 2);
    } catch {
      // Kept as stored.
    }
  }
  return {
    ...emptyTaskForm(),
    name: task.name ? `${task.name} (copy)` : "",
    url: task.url,
    method: task.method,
    queue: task.queue ?? "",
    headers: Object.entries(task.headers ?? {}).map(([name, value]) => ({ name, value: String(value) })),
    bodyKind: task.bodyEncoding === "BASE64" ? "base64" : isJson || !task.body ? "json" : "text",
    body,
    mode: task.cron ? "cron" : "now",
    cron: task.cron ?? "",
    timezone: task.timezone ?? "UTC",
    retries: String(task.retries),
    timeoutSeconds: String(Math.round(task.timeoutMs / 1000)),
    priority: String(task.priority),
    callbackUrl: task.callbackUrl ?? "",
  };
}

/** A form holding a task as it is, to edit it before it starts. */
export function taskFormForEdit(task: TaskDetail): TaskFormValues {
  return { ...taskFormFrom(task), name: task.name ?? "", mode: "keep" };
}

/** Checks what can be checked without the server; returns errors by field. */
export function validateTaskForm(values: TaskFormValues): Record<string, string> {
  const errors: Record<string, string> = {};
  const url = values.url.trim();
  if (!url) errors["url"] = "Enter the URL to call.";
  else if (!/^https?:\/\/\S+$/i.test(url)) errors["url"] = "Use an http:// or https:// URL.";
  values.headers.forEach((header, index) => {
    if (!header.name.trim() && header.value.trim()) errors[`headers.${index}`] = "Give this header a name.";
    else if (header.name.trim() && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header.name.trim()))
      errors[`headers.${index}`] = "Not a valid header name.";
  });
  if (values.bodyKind === "json" && values.body.trim()) {
    try {
      JSON.parse(values.body);
    } catch (error) {
      errors["body"] = `Not valid JSON: ${(error as Error).message}. Choose "Text" to send it as it is.`;
    }
  }
  if (values.bodyKind === "base64" && !isBase64(values.body)) errors["body"] = "Not valid base64.";
  if (values.mode === "delay" && !values.delay.trim()) errors["delay"] = 'Enter a delay such as "30s", "5m", "2h" or "1d".';
  if (values.mode === "runAt") {
    if (!values.runAt) errors["runAt"] = "Pick the date and time to run at.";
    else if (Number.isNaN(new Date(values.runAt).getTime())) errors["runAt"] = "Not a valid date and time.";
  }
  if (values.mode === "cron" && !values.cron.trim()) errors["cron"] = "Enter a cron expression, e.g. */5 * * * *.";
  return errors;
}

/** The pushTask variables the form's values stand for. */
export function pushVariables(values: TaskFormValues): PushTaskVariables {
  const headers = Object.fromEntries(
    values.headers.filter((header) => header.name.trim()).map((header) => [header.name.trim(), header.value]),
  );
  const variables: PushTaskVariables = { url: values.url.trim(), method: values.method };
  if (values.name.trim()) variables.name = values.name.trim();
  if (values.queue.trim()) variables.queue = values.queue.trim();
  if (Object.keys(headers).length) variables.headers = headers;
  if (values.body.trim()) {
    if (values.bodyKind === "base64") variables.bodyBase64 = values.body.trim();
    else variables.body = values.bodyKind === "json" ? JSON.parse(values.body) : values.body;
  }
  if (values.mode === "delay") variables.delay = values.delay.trim();
  // datetime-local has no zone: it is the browser's local time.
  if (values.mode === "runAt") variables.runAt = new Date(values.runAt).toISOString();
  if (values.mode === "cron") {
    variables.cron = values.cron.trim();
    variables.timezone = values.timezone;
  }
  const integer = (text: string) => (text.trim() === "" ? undefined : Number(text));
  const retries = integer(values.retries);
  if (retries !== undefined) variables.retries = retries;
  const timeout = integer(values.timeoutSeconds);
  if (timeout !== undefined) variables.timeoutMs = Math.round(timeout * 1000);
  const priority = integer(values.priority);
  if (priority !== undefined && priority !== 0) variables.priority = priority;
  if (values.callbackUrl.trim()) variables.callbackUrl = values.callbackUrl.trim();
  return variables;
}

const CREATE_MODES: ReadonlyArray<readonly [ScheduleMode, string]> = [
  ["now", "Now"],
  ["delay", "After a delay"],
  ["runAt", "At a time"],
  ["cron", "On a schedule"],
];
/** A one-off task stays one-off: no cron when editing. */
const EDIT_MODES: ReadonlyArray<readonly [ScheduleMode, string]> = [
  ["keep", "Keep its time"],
  ["now", "Now"],
  ["delay", "After a delay"],
  ["runAt", "At a time"],
];

/** The updateTask variables: the request as edited, and a due time only when it changes. */
export function updateVariables(id: string, values: TaskFormValues): UpdateTaskVariables {
  const {
    queue: _queue,
    cron: _cron,
    timezone: _timezone,
    callbackUrl: _callbackUrl,
    delay,
    runAt,
    ...request
  } = pushVariables({
    ...values,
    mode: values.mode === "keep" ? "now" : values.mode,
  });
  const timing = values.mode === "keep" ? {} : values.mode === "now" ? { delay: "0s" } : { delay, runAt };
  // Headers replace the task's: an empty set removes them all.
  return { id, ...request, headers: request.headers ?? {}, ...timing };
}

/** Server fields that the form shows under another name. */
const FIELD_ALIASES: Record<string, string> = { timeoutMs: "timeoutSeconds" };

/**
 * The task form. With `editing`, it edits that task before it starts (updateTask): the queue and callback stay as
 * pushed, and its due time stays unless changed.
 */
export function TaskForm(props: {
  initial: TaskFormValues;
  onCreated: (task: { id: string }) => void;
  submitLabel?: string;
  editing?: { id: string; runAt: string };
}) {
  const [values, setValues] = createStore<TaskFormValues>(structuredClone(props.initial));
  const [errors, setErrors] = createSignal<Record<string, string>>({});
  const [general, setGeneral] = createSignal<string | null>(null);
  const [showAdvanced, setShowAdvanced] = createSignal(false);
  const [pushState, pushTask] = createMutation(PUSH_TASK);
  const [updateState, updateTask] = createMutation(UPDATE_TASK);
  const busy = () => pushState.fetching || updateState.fetching;
  const error = (field: string) => errors()[field] ?? null;

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    setGeneral(null);
    const local = validateTaskForm(values);
    setErrors(local);
    if (Object.keys(local).length) return focusFirstError();
    const result = props.editing ? await updateTask(updateVariables(props.editing.id, values)) : await pushTask(pushVariables(values));
    if (result.error) {
      const { fields, general } = fieldErrors(result.error);
      const mapped: Record<string, string> = {};
      for (const [field, message] of Object.entries(fields)) {
        const name = FIELD_ALIASES[field] ?? field.split(/[.[]/)[0]!;
        if (["retries", "timeoutSeconds", "priority", "callbackUrl"].includes(name)) setShowAdvanced(true);
        mapped[name] = message;
      }
      setErrors(mapped);
      // A refusal about a field the form does not show is still shown, above the form.
      const unplaced = Object.keys(mapped).filter((field) => !FORM_FIELDS.has(field));
      setGeneral(general ?? (unplaced.length ? unplaced.map((field) => mapped[field]).join(" ") : null));
      return focusFirstError();
    }
    const task = result.data && ("updateTask" in result.data ? result.data.updateTask : result.data.pushTask);
    if (task) props.onCreated(task);
  }

  function focusFirstError() {
    queueMicrotask(() =>
      document.querySelector<HTMLElement>(".field-invalid input, .field-invalid textarea, .field-invalid select")?.focus(),
    );
  }

  return (
    <form class="task-form" onSubmit={submit} novalidate>
      <ErrorNotice error={general()} title={props.editing ? "The task was not changed" : "The task was not created"} />
      <section class="card form-section">
        <h2>Request</h2>
        <div class="field-row field-row-url">
          <Field label="Method" for="method" error={error("method")}>
            <select id="method" value={values.method} onChange={(event) => setValues("method", event.currentTarget.value as HttpMethod)}>
              <For each={HTTP_METHODS}>{(method) => <option value={method}>{method}</option>}</For>
            </select>
          </Field>
          <Field label="URL" for="url" error={error("url")}>
            <input
              id="url"
              type="url"
              class="mono"
              placeholder="https://api.example.com/webhooks/send-invoice"
              value={values.url}
              aria-invalid={!!error("url")}
              aria-describedby={error("url") ? "url-error" : undefined}
              onInput={(event) => setValues("url", event.currentTarget.value)}
            />
          </Field>
        </div>
        <div class="field-row">
          <Field label="Name" for="name" optional error={error("name")} hint="A label for people; shown in lists.">
            <input id="name" value={values.name} onInput={(event) => setValues("name", event.currentTarget.value)} />
          </Field>
          <Field
            label="Queue"
            for="queue"
            optional
            error={error("queue")}
            hint={
              props.editing
                ? "Fixed once pushed: it decides where the task waits."
                : "Tasks of a queue run in order, within its concurrency."
            }
          >
            <input
              id="queue"
              value={values.queue}
              disabled={!!props.editing}
              onInput={(event) => setValues("queue", event.currentTarget.value)}
            />
          </Field>
        </div>
        <div class="field">
          <span class="label">Headers</span>
          <Show when={error("headers")}>
            <div class="field-error" role="alert">
              {error("headers")}
            </div>
          </Show>
          <Index each={values.headers}>
            {(header, index) => (
              <div class="header-row" classList={{ "field-invalid": !!error(`headers.${index}`) }}>
                <input
                  aria-label={`Header ${index + 1} name`}
                  class="mono"
                  placeholder="Authorization"
                  value={header().name}
                  onInput={(event) => setValues("headers", index, "name", event.currentTarget.value)}
                />
                <input
                  aria-label={`Header ${index + 1} value`}
                  class="mono"
                  placeholder="Bearer …"
                  value={header().value}
                  onInput={(event) => setValues("headers", index, "value", event.currentTarget.value)}
                />
                <button
                  type="button"
                  class="icon-button"
                  aria-label={`Remove header ${index + 1}`}
                  onClick={() => setValues("headers", (headers) => headers.filter((_, position) => position !== index))}
                >
                  <Icon name="x" />
                </button>
                <Show when={error(`headers.${index}`)}>
                  <div class="field-error">{error(`headers.${index}`)}</div>
                </Show>
              </div>
            )}
          </Index>
          <button
            type="button"
            class="button button-small button-ghost add-header"
            onClick={() => setValues("headers", values.headers.length, { name: "", value: "" })}
          >
            <Icon name="plus" /> Add header
          </button>
        </div>
        <Field label="Body" for="body" optional error={error("body")} hint={BODY_KINDS[values.bodyKind].hint}>
          <fieldset class="segmented" aria-label="Body format">
            <For each={Object.keys(BODY_KINDS) as BodyKind[]}>
              {(kind) => (
                <label classList={{ active: values.bodyKind === kind }}>
                  <input type="radio" name="bodyKind" checked={values.bodyKind === kind} onChange={() => setValues("bodyKind", kind)} />
                  {BODY_KINDS[kind].label}
                </label>
              )}
            </For>
          </fieldset>
          <textarea
            id="body"
            class="mono body-editor"
            rows={8}
            spellcheck={false}
            placeholder={BODY_KINDS[values.bodyKind].placeholder}
            value={values.body}
            onInput={(event) => setValues("body", event.currentTarget.value)}
            onKeyDown={(event) => {
              // Tab indents instead of leaving the editor.
              if (event.key !== "Tab" || event.shiftKey) return;
              event.preventDefault();
              const target = event.currentTarget;
              const { selectionStart, selectionEnd } = target;
              const next = `${target.value.slice(0, selectionStart)}  ${target.value.slice(selectionEnd)}`;
              setValues("body", next);
              target.value = next;
              target.setSelectionRange(selectionStart + 2, selectionStart + 2);
            }}
          />
          <Show when={values.bodyKind === "json" && values.body.trim()}>
            <button
              type="button"
              class="button button-small button-ghost"
              onClick={() => {
                try {
                  setValues("body", JSON.stringify(JSON.parse(values.body), null, 2));
                } catch {
                  setErrors({ ...errors(), body: "Not valid JSON, so it cannot be formatted." });
                }
              }}
            >
              Format JSON
            </button>
          </Show>
        </Field>
      </section>

      <section class="card form-section">
        <h2>When</h2>
        <fieldset class="segmented segmented-wide" aria-label="When to run">
          <For each={props.editing ? EDIT_MODES : CREATE_MODES}>
            {([mode, label]) => (
              <label classList={{ active: values.mode === mode }}>
                <input type="radio" name="mode" checked={values.mode === mode} onChange={() => setValues("mode", mode)} />
                {label}
              </label>
            )}
          </For>
        </fieldset>
        <Switch>
          <Match when={values.mode === "keep" && props.editing}>
            {(editing) => (
              <p class="text-muted">
                Due <RelativeTime value={editing().runAt} /> ({formatDateTime(editing().runAt)}).
              </p>
            )}
          </Match>
          <Match when={values.mode === "now"}>
            <p class="text-muted">The first attempt starts as soon as a worker is free.</p>
          </Match>
          <Match when={values.mode === "delay"}>
            <Field label="Delay" for="delay" error={error("delay")} hint='"30s", "5m", "2h", "1d", or seconds; up to 365 days.'>
              <input id="delay" class="mono" value={values.delay} onInput={(event) => setValues("delay", event.currentTarget.value)} />
            </Field>
          </Match>
          <Match when={values.mode === "runAt"}>
            <Field label="Run at" for="runAt" error={error("runAt")} hint={`Your local time (${browserTimeZone()}).`}>
              <input
                id="runAt"
                type="datetime-local"
                step="1"
                value={values.runAt}
                onInput={(event) => setValues("runAt", event.currentTarget.value)}
              />
            </Field>
          </Match>
          <Match when={values.mode === "cron"}>
            <CronField
              cron={values.cron}
              timezone={values.timezone}
              onCronChange={(value) => setValues("cron", value)}
              onTimezoneChange={(value) => setValues("timezone", value)}
              cronError={error("cron")}
              timezoneError={error("timezone")}
            />
          </Match>
        </Switch>
      </section>

      <section class="card form-section">
        <button type="button" class="section-toggle" aria-expanded={showAdvanced()} onClick={() => setShowAdvanced(!showAdvanced())}>
          <Icon name={showAdvanced() ? "chevronDown" : "chevronRight"} />
          <h2>Delivery options</h2>
          <span class="text-muted">retries, timeout, priority, callback</span>
        </button>
        <Show when={showAdvanced()}>
          <div class="field-row field-row-3">
            <For
              each={
                [
                  ["retries", "Retries", 0, 20, "After the first attempt, 0–20."],
                  ["timeoutSeconds", "Timeout (seconds)", 1, 300, "Per attempt, 1–300."],
                  ["priority", "Priority", -1000, 1000, "Higher runs first in its queue."],
                ] as const
              }
            >
              {([field, label, min, max, hint]) => (
                <Field label={label} for={field} error={error(field)} hint={hint}>
                  <input
                    id={field}
                    type="number"
                    min={min}
                    max={max}
                    value={values[field]}
                    onInput={(event) => setValues(field, event.currentTarget.value)}
                  />
                </Field>
              )}
            </For>
          </div>
          <Field
            label="Callback URL"
            for="callbackUrl"
            optional
            error={error("callbackUrl")}
            hint="Receives a signed summary when the task finishes."
          >
            <input
              id="callbackUrl"
              type="url"
              class="mono"
              disabled={!!props.editing}
              value={values.callbackUrl}
              onInput={(event) => setValues("callbackUrl", event.currentTarget.value)}
            />
          </Field>
        </Show>
      </section>

      <div class="form-actions form-actions-sticky">
        <A href="/tasks" class="button button-ghost">
          Cancel
        </A>
        <button type="submit" class="button button-primary" disabled={busy()}>
          {busy() ? (props.editing ? "Saving…" : "Creating…") : (props.submitLabel ?? "Create task")}
        </button>
      </div>
    </form>
  );
}

const FORM_FIELDS = new Set([
  "url",
  "method",
  "name",
  "queue",
  "headers",
  "body",
  "delay",
  "runAt",
  "cron",
  "timezone",
  "retries",
  "timeoutSeconds",
  "priority",
  "callbackUrl",
]);

export function CreateTaskPage() {
  const [params] = useSearchParams<{ from?: string }>();
  const navigate = useNavigate();
  const [source] = createQuery({ query: TASK_DETAIL, variables: () => ({ id: params.from ?? "" }), pause: () => !params.from });
  const created = (task: { id: string }) => {
    notify("success", "Task created");
    navigate(`/tasks/${task.id}`);
  };
  return (
    <div class="page page-narrow">
      <PageHeader
        eyebrow={
          <A href="/tasks" class="back-link">
            ← Tasks
          </A>
        }
        title={params.from ? "Duplicate task" : "New task"}
        description="Runlater sends this HTTP request when it is due, retries it with backoff if it fails, and records every attempt."
      />
      <Switch>
        <Match when={!params.from}>
          <TaskForm initial={emptyTaskForm()} onCreated={created} />
        </Match>
        <Match when={source.error}>
          <ErrorNotice error={source.error} title="Could not load the task to duplicate" />
        </Match>
        <Match when={source.data}>
          {(data) => <TaskForm initial={taskFormFrom(data().task)} onCreated={created} submitLabel="Create copy" />}
        </Match>
        <Match when={true}>
          <PageLoading />
        </Match>
      </Switch>
    </div>
  );
}
