/**
 * The public status page, rendered on the server as one self-contained HTML
 * document: readable without JavaScript, no external assets, every value
 * escaped. 90 bars per resource, one per UTC day (colour by that day's
 * uptime, the figures in each bar's title), and the 90-day percentage.
 */
import type { PublicResourceView, PublicState, StatusPageRow } from "../services/status-pages.js";
import { formatPercentage, type UptimeDay } from "../services/uptime.js";

export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

const STATE_LABEL: Record<PublicState, string> = {
  UP: "Operational",
  LATE: "Late",
  DOWN: "Down",
  NEW: "Waiting for data",
  PAUSED: "Paused",
};

function dayClass(day: UptimeDay): string {
  if (day.observedMs === 0) return "none";
  const up = (day.observedMs - day.downMs) / day.observedMs;
  if (day.downMs === 0) return "up";
  return up >= 0.99 ? "minor" : "major";
}

function dayTitle(day: UptimeDay): string {
  const date = day.date.toISOString().slice(0, 10);
  if (day.observedMs === 0) return `${date}: no data`;
  const percentage = formatPercentage(((day.observedMs - day.downMs) / day.observedMs) * 100);
  const downMinutes = Math.round(day.downMs / 60_000);
  return `${date}: ${percentage} up${downMinutes > 0 ? `, down ${downMinutes} min` : ""}`;
}

function renderResource(resource: PublicResourceView): string {
  const bars = resource.uptime.days
    .map((day) => `<span class="bar ${dayClass(day)}" title="${escapeHtml(dayTitle(day))}"></span>`)
    .join("");
  return `<section class="resource">
  <div class="head"><h2>${escapeHtml(resource.name)}</h2><span class="state ${resource.state.toLowerCase()}">${STATE_LABEL[resource.state]}</span></div>
  <div class="bars" role="img" aria-label="uptime of the last ${resource.uptime.days.length} days">${bars}</div>
  <div class="legend"><span>${resource.uptime.days.length} days ago</span><span>${formatPercentage(resource.uptime.percentage)} uptime</span><span>today</span></div>
</section>`;
}

function overall(resources: PublicResourceView[]): { text: string; className: string } {
  if (resources.some((resource) => resource.state === "DOWN")) return { text: "Some systems are down", className: "down" };
  if (resources.some((resource) => resource.state === "LATE")) return { text: "Some systems are degraded", className: "late" };
  return { text: "All systems operational", className: "up" };
}

export function renderStatusPage(page: StatusPageRow, resources: PublicResourceView[], now: Date): string {
  const summary = overall(resources);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)} status</title>
<style>
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2329}
main{max-width:860px;margin:0 auto;padding:32px 16px}
h1{font-size:1.8rem;margin:0 0 4px}
.summary{padding:14px 18px;border-radius:8px;color:#fff;font-weight:600;margin:20px 0}
.summary.up{background:#2e7d32}.summary.down{background:#c62828}.summary.late{background:#b7791f}
.resource{background:#fff;border:1px solid #e2e5e9;border-radius:8px;padding:16px 18px;margin:12px 0}
.head{display:flex;justify-content:space-between;align-items:baseline;gap:12px}
h2{font-size:1.05rem;margin:0;overflow-wrap:anywhere}
.state{font-weight:600;white-space:nowrap}.state.up{color:#2e7d32}.state.down{color:#c62828}.state.late{color:#b7791f}.state.new,.state.paused{color:#6b7280}
.bars{display:flex;gap:2px;height:34px;margin:12px 0 6px}
.bar{flex:1;border-radius:2px}.bar.up{background:#43a047}.bar.minor{background:#f9a825}.bar.major{background:#e53935}.bar.none{background:#d5d9de}
.legend{display:flex;justify-content:space-between;color:#6b7280;font-size:.8rem}
footer{color:#6b7280;font-size:.8rem;margin-top:24px}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(page.title)}</h1>
${page.description ? `<p>${escapeHtml(page.description)}</p>` : ""}
<div class="summary ${summary.className}">${summary.text}</div>
${resources.length === 0 ? "<p>Nothing to show yet.</p>" : resources.map(renderResource).join("\n")}
<footer>Updated ${escapeHtml(now.toISOString().replace("T", " ").slice(0, 16))} UTC · Powered by Runlater</footer>
</main>
</body>
</html>
`;
}
