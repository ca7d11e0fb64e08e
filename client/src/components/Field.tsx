/** A labelled form control with its hint and, when the server or the form refuses the value, the error under it. */
import { type JSX, Show } from "solid-js";

export function Field(props: {
  label: string;
  for: string;
  hint?: JSX.Element;
  error?: string | null;
  children: JSX.Element;
  optional?: boolean;
}) {
  return (
    <div class="field" classList={{ "field-invalid": !!props.error }}>
      <label for={props.for}>
        {props.label}
        <Show when={props.optional}>
          {" "}
          <span class="optional">optional</span>
        </Show>
      </label>
      {props.children}
      <Show when={props.error} fallback={<Show when={props.hint}>{<div class="field-hint">{props.hint}</div>}</Show>}>
        <div class="field-error" id={`${props.for}-error`} role="alert">
          {props.error}
        </div>
      </Show>
    </div>
  );
}
