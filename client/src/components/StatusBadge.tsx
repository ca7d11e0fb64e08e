/** A status as a coloured pill; live states (running, pending) pulse. */
const TONES: Record<string, string> = {
  SUCCEEDED: "success",
  FAILED: "danger",
  TIMED_OUT: "danger",
  RUNNING: "info",
  SCHEDULED: "neutral",
  PENDING: "neutral",
  CANCELLED: "muted",
  MISSED: "warning",
  PAUSED: "warning",
  OWNER: "accent",
  ADMIN: "info",
  MEMBER: "neutral",
  REVOKED: "muted",
  ACTIVE: "success",
  UP: "success",
  LATE: "warning",
  DOWN: "danger",
  NEW: "neutral",
  ACCEPTED: "success",
  REJECTED: "danger",
};

const LIVE = new Set(["RUNNING"]);

export function StatusBadge(props: { status: string; label?: string }) {
  return (
    <span class={`badge badge-${TONES[props.status] ?? "neutral"}`} data-status={props.status}>
      <span class="badge-dot" classList={{ pulsing: LIVE.has(props.status) }} />
      {props.label ?? props.status.replace(/_/g, " ").toLowerCase()}
    </span>
  );
}

/** An HTTP status code, coloured by its class (2xx green, 4xx amber, 5xx red). */
export function HttpStatus(props: { status: number | null | undefined }) {
  const tone = () => {
    const status = props.status ?? 0;
    if (status >= 200 && status < 300) return "success";
    if (status >= 400 && status < 500) return "warning";
    if (status >= 500) return "danger";
    return "muted";
  };
  return <span class={`http-status text-${tone()}`}>{props.status ?? "—"}</span>;
}
