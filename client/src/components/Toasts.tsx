/** Short confirmations and errors of actions, bottom right, gone after a few seconds. */
import { createSignal, For } from "solid-js";
import { Icon } from "./Icon";

interface Toast {
  id: number;
  kind: "success" | "error";
  message: string;
}

const [toasts, setToasts] = createSignal<Toast[]>([]);
let nextId = 1;

export function notify(kind: Toast["kind"], message: string) {
  const id = nextId++;
  setToasts((current) => [...current.slice(-3), { id, kind, message }]);
  setTimeout(() => setToasts((current) => current.filter((toast) => toast.id !== id)), kind === "error" ? 8000 : 4000);
}

export function Toaster() {
  return (
    <div class="toasts" aria-live="polite">
      <For each={toasts()}>
        {(toast) => (
          <div class={`toast toast-${toast.kind}`} role={toast.kind === "error" ? "alert" : "status"}>
            <Icon name={toast.kind === "success" ? "check" : "failures"} />
            <span>{toast.message}</span>
            <button
              type="button"
              class="icon-button"
              aria-label="Dismiss"
              onClick={() => setToasts((current) => current.filter((item) => item.id !== toast.id))}
            >
              <Icon name="close" size={14} />
            </button>
          </div>
        )}
      </For>
    </div>
  );
}
