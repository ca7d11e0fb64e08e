import { createEffect, type JSX, Show } from "solid-js";

export function PageHeader(props: {
  title: JSX.Element;
  description?: JSX.Element;
  actions?: JSX.Element;
  eyebrow?: JSX.Element;
  /** The browser tab's title; the heading when it is plain text. */
  documentTitle?: string;
}) {
  createEffect(() => {
    const title = props.documentTitle ?? (typeof props.title === "string" ? props.title : null);
    if (title) document.title = `${title} · Runlater`;
  });
  return (
    <header class="page-header">
      <div class="page-heading">
        <Show when={props.eyebrow}>
          <div class="eyebrow">{props.eyebrow}</div>
        </Show>
        <h1>{props.title}</h1>
        <Show when={props.description}>
          <p class="page-description">{props.description}</p>
        </Show>
      </div>
      <Show when={props.actions}>
        <div class="page-actions">{props.actions}</div>
      </Show>
    </header>
  );
}
