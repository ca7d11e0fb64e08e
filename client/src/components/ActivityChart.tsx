/**
 * Executions per bucket (succeeded and failed, stacked bars) and the success
 * rate (a line on its own 0–100 % axis), drawn by uPlot. Resizes with its card.
 */
import { createEffect, onCleanup, onMount } from "solid-js";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ActivityBucket } from "../graphql/activity";

const SUCCESS = "#12a150";
const FAILURE = "#e5484d";
const RATE = "#5b5bd6";
const HEIGHT = 240;

/** uPlot's columns: time (s), failed stacked on succeeded (drawn as the total), succeeded, success rate (%). */
export function chartColumns(buckets: ActivityBucket[]): uPlot.AlignedData {
  const times = buckets.map((bucket) => new Date(bucket.start).getTime() / 1000);
  const succeeded = buckets.map((bucket) => bucket.succeeded);
  const finished = buckets.map((bucket) => bucket.succeeded + bucket.failed);
  const rate = buckets.map((bucket) => {
    const total = bucket.succeeded + bucket.failed;
    return total ? (bucket.succeeded / total) * 100 : null;
  });
  return [times, finished, succeeded, rate];
}

export function ActivityChart(props: { buckets: ActivityBucket[]; bucketMinutes: number }) {
  let container: HTMLDivElement | undefined;
  let chart: uPlot | undefined;

  onMount(() => {
    if (!container) return;
    const bars = uPlot.paths.bars?.({ size: [0.7, 24], gap: 1 });
    chart = new uPlot(
      {
        width: container.clientWidth || 600,
        height: HEIGHT,
        cursor: { points: { show: false }, drag: { x: false, y: false } },
        legend: { show: true, live: true },
        scales: {
          x: { time: true },
          count: { auto: true, range: (_u, _min, max) => [0, Math.max(4, max * 1.1)] },
          rate: { range: [0, 100] },
        },
        axes: [
          // Room for "10:45" labels: about one every 10 minutes on a laptop, fewer on a phone.
          { stroke: "#6b7280", grid: { show: false }, ticks: { show: false }, space: 90 },
          { scale: "count", stroke: "#6b7280", grid: { stroke: "#eef0f3" }, ticks: { show: false }, size: 44 },
          {
            scale: "rate",
            side: 1,
            stroke: "#6b7280",
            grid: { show: false },
            ticks: { show: false },
            values: (_u, values) => values.map((value) => `${value}%`),
            size: 48,
          },
        ],
        series: [
          {
            label: "Time",
            value: (_u, value) => (value ? new Date(value * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "—"),
          },
          {
            label: "Failed",
            scale: "count",
            fill: FAILURE,
            stroke: FAILURE,
            width: 0,
            paths: bars,
            points: { show: false },
            value: (u, _value, _series, index) => `${failedAt(u, index)}`,
          },
          { label: "Succeeded", scale: "count", fill: SUCCESS, stroke: SUCCESS, width: 0, paths: bars, points: { show: false } },
          {
            label: "Success rate",
            scale: "rate",
            stroke: RATE,
            width: 2,
            spanGaps: true,
            points: { show: false },
            value: (_u, value) => (value === null ? "—" : `${value.toFixed(1)}%`),
          },
        ],
      },
      chartColumns(props.buckets),
      container,
    );
    const observer = new ResizeObserver(() => chart?.setSize({ width: container?.clientWidth ?? 600, height: HEIGHT }));
    observer.observe(container);
    onCleanup(() => {
      observer.disconnect();
      chart?.destroy();
    });
  });

  createEffect(() => chart?.setData(chartColumns(props.buckets)));

  return (
    <div
      class="chart"
      ref={container}
      aria-label={`Executions per ${props.bucketMinutes} minute(s), succeeded and failed, with the success rate`}
      role="img"
    />
  );
}

/** The failed count of a bucket: the stacked total minus the succeeded. */
function failedAt(u: uPlot, index: number | null): number {
  if (index === null) return 0;
  return ((u.data[1]?.[index] as number | null) ?? 0) - ((u.data[2]?.[index] as number | null) ?? 0);
}
