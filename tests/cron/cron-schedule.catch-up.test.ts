import { describe, expect, it } from "vitest";
import { type CatchUpPolicy, cronLimits, planDueSlots } from "../../server/services/cron-schedule.js";

const plan = (catchUp: CatchUpPolicy, cron: string, nextRunAt: string, now: string) =>
  planDueSlots({ cron, timezone: "UTC", catchUp, nextRunAt: new Date(nextRunAt) }, new Date(now));

const outcomes = (result: ReturnType<typeof planDueSlots>) => result.slots.map((slot) => `${slot.at.toISOString()} ${slot.outcome}`);

describe("planDueSlots", () => {
  it("runs the one due slot and moves to the next, whatever the policy", () => {
    for (const policy of ["SKIP", "LATEST", "ALL"] as const) {
      const result = plan(policy, "*/5 * * * *", "2026-05-01T10:05:00Z", "2026-05-01T10:05:00.300Z");
      expect(outcomes(result)).toEqual(["2026-05-01T10:05:00.000Z run"]);
      expect(result.nextRunAt?.toISOString()).toBe("2026-05-01T10:10:00.000Z");
    }
  });

  it("runs a slot found late within the misfire grace; past it, SKIP records it as missed", () => {
    expect(outcomes(plan("SKIP", "0 * * * *", "2026-05-01T10:00:00Z", "2026-05-01T10:00:59Z"))).toEqual(["2026-05-01T10:00:00.000Z run"]);
    const late = plan("SKIP", "0 * * * *", "2026-05-01T10:00:00Z", "2026-05-01T10:01:01Z");
    expect(outcomes(late)).toEqual(["2026-05-01T10:00:00.000Z missed"]);
    expect(late.slots[0]?.reason).toMatch(/catch-up policy SKIP/);
    expect(outcomes(plan("LATEST", "0 * * * *", "2026-05-01T10:00:00Z", "2026-05-01T10:01:01Z"))).toEqual(["2026-05-01T10:00:00.000Z run"]);
  });

  it("SKIP: every missed slot is MISSED, the next future slot is scheduled", () => {
    const result = plan("SKIP", "0 * * * *", "2026-05-01T07:00:00Z", "2026-05-01T10:30:00Z");
    expect(outcomes(result)).toEqual([
      "2026-05-01T07:00:00.000Z missed",
      "2026-05-01T08:00:00.000Z missed",
      "2026-05-01T09:00:00.000Z missed",
      "2026-05-01T10:00:00.000Z missed",
    ]);
    expect(result.nextRunAt?.toISOString()).toBe("2026-05-01T11:00:00.000Z");
  });

  it("SKIP still runs the latest slot when it is on time (the worker came back just after it)", () => {
    expect(outcomes(plan("SKIP", "0 * * * *", "2026-05-01T08:00:00Z", "2026-05-01T10:00:02Z"))).toEqual([
      "2026-05-01T08:00:00.000Z missed",
      "2026-05-01T09:00:00.000Z missed",
      "2026-05-01T10:00:00.000Z run",
    ]);
  });

  it("LATEST runs the most recent missed slot once", () => {
    expect(outcomes(plan("LATEST", "0 * * * *", "2026-05-01T07:00:00Z", "2026-05-01T10:30:00Z"))).toEqual([
      "2026-05-01T07:00:00.000Z missed",
      "2026-05-01T08:00:00.000Z missed",
      "2026-05-01T09:00:00.000Z missed",
      "2026-05-01T10:00:00.000Z run",
    ]);
  });

  it("ALL runs every missed slot", () => {
    expect(outcomes(plan("ALL", "0 * * * *", "2026-05-01T08:00:00Z", "2026-05-01T10:30:00Z"))).toEqual([
      "2026-05-01T08:00:00.000Z run",
      "2026-05-01T09:00:00.000Z run",
      "2026-05-01T10:00:00.000Z run",
    ]);
  });

  it("ALL runs at most maxCatchUpRuns (the most recent); older ones are MISSED", () => {
    // 150 daily slots missed.
    const result = plan("ALL", "0 0 * * *", "2026-01-01T00:00:00Z", "2026-05-30T12:00:00Z");
    const runs = result.slots.filter((slot) => slot.outcome === "run");
    const missed = result.slots.filter((slot) => slot.outcome === "missed");
    expect(runs).toHaveLength(cronLimits.maxCatchUpRuns);
    expect(runs.at(-1)?.at.toISOString()).toBe("2026-05-30T00:00:00.000Z");
    expect(missed).toHaveLength(50);
    expect(missed[0]?.at.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(result.slots.length).toBe(150);
  });

  it("records at most maxMissedRecorded MISSED slots and says how many more were missed", () => {
    // 300 daily slots missed under SKIP.
    const result = plan("SKIP", "0 0 * * *", "2025-08-04T00:00:00Z", "2026-05-30T12:00:00Z");
    expect(result.slots).toHaveLength(cronLimits.maxMissedRecorded);
    expect(result.slots.every((slot) => slot.outcome === "missed")).toBe(true);
    expect(result.slots.at(-1)?.at.toISOString()).toBe("2026-05-30T00:00:00.000Z");
    expect(result.slots[0]?.reason).toMatch(/at least \d+ earlier slots since 2025-08-04T00:00:00.000Z were missed too/);
    expect(result.nextRunAt?.toISOString()).toBe("2026-05-31T00:00:00.000Z");
  });

  it("counts unrecorded slots exactly when it walked back over all of them", () => {
    // 150 hourly slots under SKIP: 100 recorded, 50 summarised.
    const result = plan("SKIP", "0 * * * *", "2026-05-01T00:00:00Z", "2026-05-07T05:30:00Z");
    expect(result.slots).toHaveLength(100);
    expect(result.slots[0]?.reason).toMatch(/; 50 earlier slots since 2026-05-01T00:00:00.000Z were missed too/);
  });

  it("treats nextRunAt as a due slot even off the schedule (set by an update or by hand)", () => {
    const result = plan("SKIP", "0 0 1 1 *", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00.200Z");
    expect(outcomes(result)).toEqual(["2026-05-01T10:00:00.000Z run"]);
    expect(result.nextRunAt?.toISOString()).toBe("2027-01-01T00:00:00.000Z");
  });

  it("catches up in the task's time zone across a DST change", () => {
    const result = planDueSlots(
      { cron: "30 2 * * *", timezone: "America/New_York", catchUp: "SKIP", nextRunAt: new Date("2026-03-07T07:30:00Z") },
      new Date("2026-03-09T12:00:00Z"),
    );
    expect(outcomes(result)).toEqual([
      "2026-03-07T07:30:00.000Z missed",
      "2026-03-08T07:00:00.000Z missed",
      "2026-03-09T06:30:00.000Z missed",
    ]);
  });
});
