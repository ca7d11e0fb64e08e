/** Previous / next over a cursor connection, with the total when the server counted it. */
import { Show } from "solid-js";
import { formatCount } from "../lib/format";

export function Pagination(props: {
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean } | undefined;
  shown: number;
  total?: number;
  canGoBack: boolean;
  onPrevious: () => void;
  onNext: () => void;
  noun?: string;
}) {
  return (
    <div class="pagination">
      <span class="text-muted">
        <Show when={props.total !== undefined} fallback={`${props.shown} shown`}>
          {formatCount(props.shown)} of {formatCount(props.total ?? 0)} {props.noun ?? "tasks"}
        </Show>
      </span>
      <div class="pagination-buttons">
        <button type="button" class="button button-small" disabled={!props.canGoBack} onClick={() => props.onPrevious()}>
          Previous
        </button>
        <button type="button" class="button button-small" disabled={!props.pageInfo?.hasNextPage} onClick={() => props.onNext()}>
          Next
        </button>
      </div>
    </div>
  );
}
