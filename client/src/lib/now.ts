/**
 * One clock for every relative time on the page ("3 min. ago"), so they all
 * move together and only one timer runs.
 */
import { createRoot, createSignal, onCleanup } from "solid-js";

const TICK_MS = 5000;

export const now = createRoot(() => {
  const [current, setCurrent] = createSignal(Date.now());
  const timer = setInterval(() => setCurrent(Date.now()), TICK_MS);
  onCleanup(() => clearInterval(timer));
  return current;
});
