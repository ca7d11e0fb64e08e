/** The row under a form: its submit button, which says what it is doing while the request runs. */
import type { JSX } from "solid-js";

export function FormActions(props: { busy: boolean; label: string; busyLabel: string; disabled?: boolean; children?: JSX.Element }) {
  return (
    <div class="form-actions">
      {props.children}
      <button type="submit" class="button button-primary" disabled={props.busy || props.disabled}>
        {props.busy ? props.busyLabel : props.label}
      </button>
    </div>
  );
}
