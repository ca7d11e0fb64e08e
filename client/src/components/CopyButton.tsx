import { createSignal } from "solid-js";
import { Icon } from "./Icon";

export function CopyButton(props: { value: string; label?: string }) {
  const [copied, setCopied] = createSignal(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      // Clipboard access can be refused (insecure context): the value stays selectable on screen.
    }
  }
  return (
    <button type="button" class="button button-small button-ghost" onClick={copy} aria-label={props.label ?? "Copy"}>
      <Icon name={copied() ? "check" : "copy"} />
      {copied() ? "Copied" : (props.label ?? "Copy")}
    </button>
  );
}
