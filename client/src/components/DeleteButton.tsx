/** A Delete button that asks first, saying what is lost; the confirm button shows the deletion's progress. */
import { createSignal, type JSX } from "solid-js";
import { ConfirmDialog } from "./Dialog";

export function DeleteButton(props: {
  title: string;
  confirmLabel: string;
  busy: boolean;
  /** Deletes; the dialog closes once it settles (success or failure, which it reports itself). */
  onConfirm: () => Promise<unknown>;
  small?: boolean;
  children: JSX.Element;
}) {
  const [open, setOpen] = createSignal(false);
  return (
    <>
      <button type="button" class="button button-danger-ghost" classList={{ "button-small": props.small }} onClick={() => setOpen(true)}>
        Delete
      </button>
      <ConfirmDialog
        open={open()}
        title={props.title}
        confirmLabel={props.confirmLabel}
        danger
        busy={props.busy}
        onClose={() => setOpen(false)}
        onConfirm={async () => {
          await props.onConfirm();
          setOpen(false);
        }}
      >
        {props.children}
      </ConfirmDialog>
    </>
  );
}
