/** A modal dialog: Escape and the backdrop close it; focus moves into it when it opens. */
import { createEffect, type JSX, onCleanup, Show } from "solid-js";
import { Portal } from "solid-js/web";
import { Icon } from "./Icon";

export function Dialog(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: JSX.Element;
  footer?: JSX.Element;
  wide?: boolean;
}) {
  let panel: HTMLDivElement | undefined;
  createEffect(() => {
    if (!props.open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") props.onClose();
    };
    document.addEventListener("keydown", onKey);
    onCleanup(() => document.removeEventListener("keydown", onKey));
    queueMicrotask(() => panel?.querySelector<HTMLElement>("input, select, textarea, button:not(.dialog-close)")?.focus());
  });
  return (
    <Show when={props.open}>
      <Portal>
        {/* biome-ignore lint/a11y/useKeyWithClickEvents: Escape closes the dialog from the keyboard (document listener above) */}
        {/* biome-ignore lint/a11y/noStaticElementInteractions: a click outside the dialog closes it, as people expect */}
        <div class="dialog-backdrop" onClick={(event) => event.target === event.currentTarget && props.onClose()}>
          <div
            class="dialog"
            classList={{ "dialog-wide": props.wide }}
            role="dialog"
            aria-modal="true"
            aria-label={props.title}
            ref={panel}
          >
            <div class="dialog-header">
              <h2>{props.title}</h2>
              <button type="button" class="icon-button dialog-close" aria-label="Close" onClick={() => props.onClose()}>
                <Icon name="close" />
              </button>
            </div>
            <div class="dialog-body">{props.children}</div>
            <Show when={props.footer}>
              <div class="dialog-footer">{props.footer}</div>
            </Show>
          </div>
        </div>
      </Portal>
    </Show>
  );
}

/** Asks before a destructive action; the action's own progress shows on the confirm button. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children: JSX.Element;
}) {
  return (
    <Dialog
      open={props.open}
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" class="button button-ghost" onClick={() => props.onClose()}>
            Cancel
          </button>
          <button
            type="button"
            class="button"
            classList={{ "button-danger": props.danger, "button-primary": !props.danger }}
            disabled={props.busy}
            onClick={() => props.onConfirm()}
          >
            {props.busy ? "Working…" : props.confirmLabel}
          </button>
        </>
      }
    >
      {props.children}
    </Dialog>
  );
}
