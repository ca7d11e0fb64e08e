/** A request or response body: pretty-printed when it is JSON, raw on demand, copyable. */
import { createMemo, createSignal, Show } from "solid-js";
import { prettyJson } from "../lib/format";
import { CopyButton } from "./CopyButton";

export function CodeViewer(props: { text: string | null | undefined; truncated?: boolean; label?: string; emptyLabel?: string }) {
  const [raw, setRaw] = createSignal(false);
  const formatted = createMemo(() => prettyJson(props.text ?? ""));
  return (
    <Show when={props.text} fallback={<div class="code-empty">{props.emptyLabel ?? "No body"}</div>}>
      <div class="code-viewer">
        <div class="code-toolbar">
          <span class="code-label">
            {props.label ?? "Body"}
            <Show when={formatted().isJson}>
              <span class="tag">JSON</span>
            </Show>
            <Show when={props.truncated}>
              <span class="tag tag-warning" title="Only the first 64 KiB were kept">
                truncated
              </span>
            </Show>
          </span>
          <span class="code-actions">
            <Show when={formatted().isJson}>
              <button type="button" class="button button-small button-ghost" onClick={() => setRaw(!raw())}>
                {raw() ? "Pretty" : "Raw"}
              </button>
            </Show>
            <CopyButton value={props.text ?? ""} />
          </span>
        </div>
        <pre class="code" data-testid="code-body">
          <code>{raw() ? props.text : formatted().text}</code>
        </pre>
      </div>
    </Show>
  );
}

/** Headers as a two-column list. */
export function HeaderList(props: { headers: Record<string, unknown> | null | undefined }) {
  const entries = () => Object.entries(props.headers ?? {});
  return (
    <Show when={entries().length} fallback={<div class="code-empty">No headers</div>}>
      <dl class="header-list">
        {entries().map(([name, value]) => (
          <>
            <dt>{name}</dt>
            <dd>{String(value)}</dd>
          </>
        ))}
      </dl>
    </Show>
  );
}
