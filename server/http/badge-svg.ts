/**
 * SVG badges in the familiar flat style (label on grey, value on a colour):
 * `status.svg` shows the current state, `uptime.svg` the 90-day uptime.
 */
import type { PublicResourceView } from "../services/status-pages.js";
import { formatPercentage } from "../services/uptime.js";
import { escapeHtml } from "./status-page-html.js";

const COLOURS = { green: "#4c1", yellow: "#dfb317", red: "#e05d44", grey: "#9f9f9f" } as const;

/** Verdana 11px is about 6.5 px per character on average; badges need not be pixel-exact. */
function textWidth(text: string): number {
  return Math.round([...text].length * 6.5 + 10);
}

function renderBadge(label: string, value: string, colour: string): string {
  const labelWidth = textWidth(label);
  const valueWidth = textWidth(value);
  const width = labelWidth + valueWidth;
  const safeLabel = escapeHtml(label);
  const safeValue = escapeHtml(value);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="20" role="img" aria-label="${safeLabel}: ${safeValue}">
<title>${safeLabel}: ${safeValue}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="${width}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="${labelWidth}" height="20" fill="#555"/><rect x="${labelWidth}" width="${valueWidth}" height="20" fill="${colour}"/><rect width="${width}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="${labelWidth / 2}" y="15" fill="#010101" fill-opacity=".3">${safeLabel}</text><text x="${labelWidth / 2}" y="14">${safeLabel}</text>
<text x="${labelWidth + valueWidth / 2}" y="15" fill="#010101" fill-opacity=".3">${safeValue}</text><text x="${labelWidth + valueWidth / 2}" y="14">${safeValue}</text>
</g>
</svg>
`;
}

const STATE_BADGE = {
  UP: ["up", COLOURS.green],
  LATE: ["late", COLOURS.yellow],
  DOWN: ["down", COLOURS.red],
  NEW: ["new", COLOURS.grey],
  PAUSED: ["paused", COLOURS.grey],
} as const;

export function statusBadge(resource: PublicResourceView): string {
  const [value, colour] = STATE_BADGE[resource.state];
  return renderBadge(resource.name, value, colour);
}

export function uptimeBadge(resource: PublicResourceView): string {
  const percentage = resource.uptime.percentage;
  const colour = percentage === null ? COLOURS.grey : percentage >= 99 ? COLOURS.green : percentage >= 95 ? COLOURS.yellow : COLOURS.red;
  return renderBadge(`${resource.name} uptime`, formatPercentage(percentage), colour);
}
