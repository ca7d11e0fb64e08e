/** Uptime per UTC day and over the window, from status changes, with fixed clocks. */
import { describe, expect, it } from "vitest";
import { computeUptime, DAY_MS, formatPercentage } from "../../server/services/uptime.js";

const now = new Date("2026-11-28T12:00:00Z");
const today = Date.parse("2026-11-28T00:00:00Z");

describe("computeUptime", () => {
  it("counts a resource without changes as up from when it was observed, and earlier days as no data", () => {
    const uptime = computeUptime([], new Date(today - DAY_MS), now, 90);
    expect(uptime.days).toHaveLength(90);
    expect(uptime.days[89]).toEqual({ date: new Date(today), observedMs: 12 * 3_600_000, downMs: 0 });
    expect(uptime.days[88]).toEqual({ date: new Date(today - DAY_MS), observedMs: DAY_MS, downMs: 0 });
    expect(uptime.days[87]?.observedMs).toBe(0);
    expect(uptime.percentage).toBe(100);
  });

  it("splits a DOWN period across the days it spans, and carries a state from before the window", () => {
    const changes = [
      { state: "DOWN" as const, at: new Date(today - 100 * DAY_MS) },
      { state: "UP" as const, at: new Date(today - 89 * DAY_MS + 6 * 3_600_000) },
      { state: "DOWN" as const, at: new Date(today - DAY_MS + 23 * 3_600_000) },
      { state: "UP" as const, at: new Date(today + 3_600_000) },
    ];
    const uptime = computeUptime(changes, new Date(today - 200 * DAY_MS), now, 90);
    expect(uptime.days[0]).toMatchObject({ observedMs: DAY_MS, downMs: 6 * 3_600_000 });
    expect(uptime.days[1]?.downMs).toBe(0);
    expect(uptime.days[88]?.downMs).toBe(3_600_000);
    expect(uptime.days[89]?.downMs).toBe(3_600_000);
    const observed = 89 * DAY_MS + 12 * 3_600_000;
    expect(uptime.percentage).toBeCloseTo(((observed - 8 * 3_600_000) / observed) * 100, 10);
  });

  it("counts a DOWN that is still going on until now; nothing observed is no percentage", () => {
    const uptime = computeUptime([{ state: "DOWN", at: new Date(today + 6 * 3_600_000) }], new Date(today), now, 90);
    expect(uptime.days[89]).toMatchObject({ observedMs: 12 * 3_600_000, downMs: 6 * 3_600_000 });
    expect(uptime.percentage).toBe(50);
    expect(computeUptime([], now, now, 90).percentage).toBeNull();
  });
});

describe("formatPercentage", () => {
  it("shows two decimals and never rounds a bad minute up to 100%", () => {
    expect(formatPercentage(100)).toBe("100%");
    expect(formatPercentage(99.9999)).toBe("99.99%");
    expect(formatPercentage(12.345)).toBe("12.34%");
    expect(formatPercentage(null)).toBe("—");
  });
});
