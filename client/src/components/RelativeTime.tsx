/** "3 min. ago", kept current, with the exact time on hover. */
import { formatDateTime, formatRelative } from "../lib/format";
import { now } from "../lib/now";

export function RelativeTime(props: { value: string | null | undefined; fallback?: string }) {
  return (
    <>
      {props.value ? (
        <time dateTime={props.value} title={formatDateTime(props.value)}>
          {/* The shared clock ticks every few seconds; never show a time that just passed as still to come. */}
          {formatRelative(props.value, Math.max(now(), Date.now()))}
        </time>
      ) : (
        <span class="text-muted">{props.fallback ?? "—"}</span>
      )}
    </>
  );
}
