/** A secret (API key, invite link) shown the one time it exists in the browser, with a copy button. */
import { type JSX, Show } from "solid-js";
import { CopyButton } from "./CopyButton";
import { Dialog } from "./Dialog";
import { Icon } from "./Icon";

export function ShownOnce(props: { value: string; warning: string; doneLabel: string; onDone: () => void; testId: string }) {
  return (
    <div class="stack">
      <div class="notice notice-warning">
        <Icon name="key" />
        <span>{props.warning}</span>
      </div>
      <div class="secret-box">
        <code data-testid={props.testId}>{props.value}</code>
        <CopyButton value={props.value} />
      </div>
      <div class="form-actions">
        <button type="button" class="button button-primary" onClick={() => props.onDone()}>
          {props.doneLabel}
        </button>
      </div>
    </div>
  );
}

/** A dialog that asks for what to create (its children, a form), then shows the created secret once in its place. */
export function OneTimeSecretDialog(props: {
  open: boolean;
  title: string;
  revealedTitle: string;
  secret: string | null;
  warning: string;
  doneLabel: string;
  testId: string;
  onClose: () => void;
  children: JSX.Element;
}) {
  return (
    <Dialog open={props.open} title={props.secret ? props.revealedTitle : props.title} onClose={props.onClose}>
      <Show when={props.secret} fallback={props.children}>
        {(secret) => (
          <ShownOnce value={secret()} testId={props.testId} warning={props.warning} doneLabel={props.doneLabel} onDone={props.onClose} />
        )}
      </Show>
    </Dialog>
  );
}
