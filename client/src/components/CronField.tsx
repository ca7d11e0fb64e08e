/**
 * A cron expression with its time zone, described in words (cronstrue) and
 * previewed: the next five runs as the server computes them (nextRuns), shown
 * in the chosen time zone, daylight-saving changes included.
 */
import { createQuery } from "@urql/solid";
import cronstrue from "cronstrue";
import { createEffect, createMemo, createSignal, For, on, onCleanup, Show } from "solid-js";
import { describeError } from "../graphql/errors";
import { NEXT_RUNS } from "../graphql/tasks";
import { formatSlot } from "../lib/format";
import { Spinner } from "./Feedback";
import { Field } from "./Field";

const PREVIEW_DEBOUNCE_MS = 250;

/** Every IANA zone the browser knows, UTC first. */
export const TIME_ZONES: string[] = (() => {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return ["UTC", ...zones.filter((zone) => zone !== "UTC")];
})();

export const browserTimeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** The cron expression in words, or why it cannot be read. */
export function describeCron(expression: string): { text: string | null; error: string | null } {
  const trimmed = expression.trim();
  if (!trimmed) return { text: null, error: null };
  if (trimmed.split(/\s+/).length !== 5) return { text: null, error: "Use 5 fields: minute hour day-of-month month day-of-week." };
  try {
    return { text: cronstrue.toString(trimmed, { use24HourTimeFormat: true, throwExceptionOnParseError: true }), error: null };
  } catch (error) {
    return { text: null, error: String(error).replace(/^Error:\s*/, "") };
  }
}

export function CronField(props: {
  cron: string;
  timezone: string;
  onCronChange: (value: string) => void;
  onTimezoneChange: (value: string) => void;
  cronError?: string | null;
  timezoneError?: string | null;
}) {
  // The preview follows the expression once typing pauses, not on every key.
  const [settled, setSettled] = createSignal({ cron: props.cron.trim(), timezone: props.timezone });
  createEffect(
    on([() => props.cron, () => props.timezone], ([cron, timezone]) => {
      const timer = setTimeout(() => setSettled({ cron: cron.trim(), timezone }), PREVIEW_DEBOUNCE_MS);
      onCleanup(() => clearTimeout(timer));
    }),
  );
  const description = createMemo(() => describeCron(props.cron));
  const [preview] = createQuery({
    query: NEXT_RUNS,
    variables: () => ({ cron: settled().cron, timezone: settled().timezone, count: 5 }),
    pause: () => !settled().cron || !!describeCron(settled().cron).error,
  });
  const previewError = () => (settled().cron && preview.error ? describeError(preview.error)?.message : null);

  return (
    <div class="cron-field">
      <div class="field-row">
        <Field
          label="Cron expression"
          for="cron"
          error={props.cronError ?? description().error ?? previewError()}
          hint="minute hour day-of-month month day-of-week"
        >
          <input
            id="cron"
            class="mono"
            placeholder="*/5 * * * *"
            value={props.cron}
            aria-describedby="cron-description"
            onInput={(event) => props.onCronChange(event.currentTarget.value)}
          />
        </Field>
        <Field label="Time zone" for="timezone" error={props.timezoneError}>
          <select id="timezone" value={props.timezone} onChange={(event) => props.onTimezoneChange(event.currentTarget.value)}>
            <For each={TIME_ZONES}>{(zone) => <option value={zone}>{zone}</option>}</For>
          </select>
        </Field>
      </div>
      <div class="cron-preview" id="cron-description" aria-live="polite">
        <Show when={description().text} fallback={<span class="text-muted">Type an expression to see when it runs.</span>}>
          <strong data-testid="cron-description">{description().text}</strong>
          <span class="text-muted"> ({props.timezone})</span>
          <div class="next-runs">
            <span class="next-runs-label">
              Next runs <Show when={preview.fetching}>{<Spinner />}</Show>
            </span>
            <ol data-testid="next-runs">
              <For each={preview.data?.nextRuns ?? []}>{(slot) => <li>{formatSlot(slot, settled().timezone)}</li>}</For>
            </ol>
          </div>
        </Show>
      </div>
    </div>
  );
}
