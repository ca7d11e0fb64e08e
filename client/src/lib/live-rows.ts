/**
 * Rows that a subscription changed since the list was fetched: the list shows
 * the newer of the fetched row and the live one, so an event never loses to a
 * stale page and a refetch never loses to an old event.
 */
import { createSignal } from "solid-js";

export function createLiveRows<Row extends { id: string; updatedAt: string }>() {
  const [live, setLive] = createSignal<Record<string, Row>>({});
  return {
    update(row: Row) {
      setLive((current) => {
        const known = current[row.id];
        if (known && known.updatedAt > row.updatedAt) return current;
        return { ...current, [row.id]: row };
      });
    },
    /** The freshest version of a fetched row. */
    current(row: Row): Row {
      const changed = live()[row.id];
      return changed && changed.updatedAt >= row.updatedAt ? { ...row, ...changed } : row;
    },
  };
}
