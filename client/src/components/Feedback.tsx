/** Loading, empty and error states: every list and page shows one of these instead of nothing. */
import { A } from "@solidjs/router";
import type { CombinedError } from "@urql/core";
import { type JSX, Show } from "solid-js";
import { describeError } from "../graphql/errors";
import { Icon, type IconName } from "./Icon";

export function Spinner(props: { label?: string; size?: "small" | "large" }) {
  return (
    <span class={`spinner spinner-${props.size ?? "small"}`} role="status">
      <span class="visually-hidden">{props.label ?? "Loading"}</span>
    </span>
  );
}

export function PageLoading(props: { label?: string }) {
  return (
    <div class="page-loading">
      <Spinner size="large" label={props.label} />
    </div>
  );
}

/** Placeholder rows while a table loads, so the layout does not jump. */
export function LoadingRows(props: { columns: number; rows?: number }) {
  return (
    <>
      {Array.from({ length: props.rows ?? 5 }, () => (
        <tr class="skeleton-row">
          {Array.from({ length: props.columns }, () => (
            <td>
              <span class="skeleton" aria-hidden="true" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

export function EmptyState(props: { icon?: IconName; title: string; children?: JSX.Element; action?: JSX.Element }) {
  return (
    <div class="empty-state">
      <div class="empty-icon">
        <Icon name={props.icon ?? "tasks"} size={22} />
      </div>
      <h3>{props.title}</h3>
      <Show when={props.children}>
        <p>{props.children}</p>
      </Show>
      <Show when={props.action}>
        <div class="empty-action">{props.action}</div>
      </Show>
    </div>
  );
}

export function ErrorNotice(props: { error: CombinedError | string | undefined | null; onRetry?: () => void; title?: string }) {
  const message = () => (typeof props.error === "string" ? props.error : describeError(props.error)?.message);
  return (
    <Show when={message()}>
      <div class="notice notice-danger" role="alert">
        <Icon name="failures" />
        <div class="notice-body">
          <strong>{props.title ?? "Something went wrong"}</strong>
          <span>{message()}</span>
        </div>
        <Show when={props.onRetry}>
          <button type="button" class="button button-small" onClick={() => props.onRetry?.()}>
            Try again
          </button>
        </Show>
      </div>
    </Show>
  );
}

/** A detail page whose resource could not be loaded: "does not exist" for NOT_FOUND, otherwise why, with a retry; and the way back. */
export function DetailLoadError(props: {
  error: CombinedError | undefined;
  /** "task", "monitor", "endpoint". */
  noun: string;
  backHref: string;
  backLabel: string;
  onRetry: () => void;
}) {
  const notFound = () => props.error?.graphQLErrors[0]?.extensions?.code === "NOT_FOUND";
  return (
    <div class="page">
      <ErrorNotice
        error={props.error}
        title={notFound() ? `This ${props.noun} does not exist` : `Could not load the ${props.noun}`}
        onRetry={props.onRetry}
      />
      <A href={props.backHref}>← {props.backLabel}</A>
    </div>
  );
}
