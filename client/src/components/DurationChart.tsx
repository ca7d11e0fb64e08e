/**
 * How long a monitor's recent runs took: one bar per finishing ping that a
 * /start timed, oldest on the left, red for failures. Plain SVG scaled to its
 * card (a few dozen bars need no chart library), each bar titled with its
 * duration and time for a hover or a screen reader.
 */
import { createMemo, For, Show } from "solid-js";
import type { MonitorPing } from "../graphql/monitors";
import { formatDateTime, formatDuration } from "../lib/format";

const WIDTH = 600;
const HEIGHT = 160;
const AXIS = 18;

export function DurationChart(props: { pings: MonitorPing[] }) {
  const runs = createMemo(() =>
    props.pings
      .filter((ping): ping is MonitorPing & { durationMs: number } => ping.durationMs !== null && ping.kind !== "START")
      .slice()
      .reverse(),
  );
  const longest = () => Math.max(1, ...runs().map((run) => run.durationMs));
  const slot = () => WIDTH / Math.max(runs().length, 10);
  const average = () => runs().reduce((sum, run) => sum + run.durationMs, 0) / Math.max(1, runs().length);
  return (
    <Show
      when={runs().length}
      fallback={
        <p class="chart-empty text-muted">
          No timed runs yet: ping <code>/start</code> when the job begins and the finishing ping records how long it took.
        </p>
      }
    >
      <figure class="duration-chart" data-testid="duration-chart">
        <svg viewBox={`0 0 ${WIDTH} ${HEIGHT + AXIS}`} preserveAspectRatio="none" role="img" aria-label="Run durations">
          <line x1="0" x2={WIDTH} y1={HEIGHT} y2={HEIGHT} class="chart-axis" />
          <For each={runs()}>
            {(run, index) => {
              const height = () => Math.max(2, (run.durationMs / longest()) * (HEIGHT - 8));
              return (
                <rect
                  x={index() * slot() + slot() * 0.15}
                  y={HEIGHT - height()}
                  width={slot() * 0.7}
                  height={height()}
                  rx="2"
                  class={run.kind === "FAIL" ? "chart-bar-failed" : "chart-bar"}
                >
                  <title>
                    {formatDuration(run.durationMs)} · {run.kind === "FAIL" ? "failed" : "succeeded"} · {formatDateTime(run.receivedAt)}
                  </title>
                </rect>
              );
            }}
          </For>
        </svg>
        <figcaption class="chart-caption text-muted">
          <span>
            longest {formatDuration(longest())}, average {formatDuration(average())}
          </span>
          <span>
            {runs().length} run{runs().length === 1 ? "" : "s"}
          </span>
        </figcaption>
      </figure>
    </Show>
  );
}
