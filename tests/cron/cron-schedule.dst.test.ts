import { describe, expect, it } from "vitest";
import { DomainError } from "../../server/errors.js";
import { nextCronOccurrences, validateCronExpression, validateTimeZone } from "../../server/services/cron-schedule.js";

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

function validationFieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe("VALIDATION_FAILED");
    expect((error as DomainError).status).toBe(422);
    return (error as DomainError).field;
  }
  throw new Error("expected a validation error");
}

describe("nextCronOccurrences", () => {
  it("lists occurrences strictly after `from`", () => {
    expect(iso(nextCronOccurrences("*/15 * * * *", "UTC", new Date("2026-05-01T10:15:00Z"), 3))).toEqual([
      "2026-05-01T10:30:00.000Z",
      "2026-05-01T10:45:00.000Z",
      "2026-05-01T11:00:00.000Z",
    ]);
  });

  it("combines day-of-month and day-of-week as Vixie cron does: OR when both are restricted, AND after a `*`", () => {
    const from = new Date("2026-06-01T12:00:00Z"); // a Monday
    const days = (cron: string, count = 6) => iso(nextCronOccurrences(cron, "UTC", from, count)).map((date) => date.slice(0, 10));
    // Both restricted: the 1st or 15th, or any Monday.
    expect(days("0 0 1,15 * 1", 4)).toEqual(["2026-06-08", "2026-06-15", "2026-06-22", "2026-06-29"]);
    // A step on `*` is a `*` field to Vixie cron: Mondays that fall on odd days only.
    expect(days("0 0 */2 * 1", 3)).toEqual(["2026-06-15", "2026-06-29", "2026-07-13"]);
    // The first week's Sundays, Wednesdays and Saturdays (0, 3, 6).
    expect(days("0 0 1-7 * */3", 3)).toEqual(["2026-06-03", "2026-06-06", "2026-06-07"]);
    expect(days("0 0 * * 1", 2)).toEqual(["2026-06-08", "2026-06-15"]);
  });

  it("evaluates the expression in the task's time zone", () => {
    expect(iso(nextCronOccurrences("0 9 * * 1-5", "Europe/Berlin", new Date("2026-05-01T12:00:00Z"), 2))).toEqual([
      "2026-05-04T07:00:00.000Z", // Monday 09:00 CEST
      "2026-05-05T07:00:00.000Z",
    ]);
  });

  it("runs a 02:30 job once on a spring-forward day, at 03:00 (America/New_York)", () => {
    expect(iso(nextCronOccurrences("30 2 * * *", "America/New_York", new Date("2026-03-07T12:00:00Z"), 3))).toEqual([
      "2026-03-08T07:00:00.000Z", // 03:00 EDT: 02:30 does not exist that day
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
      "2026-03-10T06:30:00.000Z",
    ]);
  });

  it("runs a 02:30 job once on a spring-forward day, at 03:00 (Europe/Berlin)", () => {
    expect(iso(nextCronOccurrences("30 2 * * *", "Europe/Berlin", new Date("2026-03-28T12:00:00Z"), 2))).toEqual([
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
      "2026-03-30T00:30:00.000Z",
    ]);
  });

  it("runs a job whose time occurs twice on a fall-back day once, at the first occurrence", () => {
    expect(iso(nextCronOccurrences("30 1 * * *", "America/New_York", new Date("2026-10-31T12:00:00Z"), 2))).toEqual([
      "2026-11-01T05:30:00.000Z", // 01:30 EDT; 01:30 EST an hour later does not run
      "2026-11-02T06:30:00.000Z",
    ]);
    expect(iso(nextCronOccurrences("30 2 * * *", "Europe/Berlin", new Date("2026-10-24T12:00:00Z"), 2))).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("does not run a fixed-time job twice when asked from between the two occurrences of a repeated hour", () => {
    expect(iso(nextCronOccurrences("30 1 * * *", "America/New_York", new Date("2026-11-01T05:31:00Z"), 1))).toEqual([
      "2026-11-02T06:30:00.000Z",
    ]);
  });

  it("treats lists of hours as fixed times too (Vixie cron): the 02:30 of `30 2,14` runs after the gap", () => {
    expect(iso(nextCronOccurrences("30 2,14 * * *", "America/New_York", new Date("2026-03-08T00:00:00Z"), 2))).toEqual([
      "2026-03-08T07:00:00.000Z",
      "2026-03-08T18:30:00.000Z",
    ]);
  });

  it("keeps interval jobs in real time across DST: the gap is skipped, the repeated hour runs again", () => {
    expect(iso(nextCronOccurrences("*/30 * * * *", "America/New_York", new Date("2026-03-08T06:20:00Z"), 3))).toEqual([
      "2026-03-08T06:30:00.000Z", // 01:30 EST
      "2026-03-08T07:00:00.000Z", // 03:00 EDT (02:00–02:59 do not exist)
      "2026-03-08T07:30:00.000Z",
    ]);
    expect(iso(nextCronOccurrences("0 * * * *", "America/New_York", new Date("2026-11-01T04:30:00Z"), 3))).toEqual([
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T06:00:00.000Z", // 01:00 EST
      "2026-11-01T07:00:00.000Z", // 02:00 EST
    ]);
  });

  it("handles a half-hour DST shift (Australia/Lord_Howe)", () => {
    // 2026-10-04: 02:00 → 02:30; 02:15 does not exist, 02:45 does.
    expect(iso(nextCronOccurrences("15 2 * * *", "Australia/Lord_Howe", new Date("2026-10-03T12:00:00Z"), 1))).toEqual([
      "2026-10-03T15:30:00.000Z", // 02:30 LHDT (+11)
    ]);
  });
});

describe("validateCronExpression", () => {
  it("accepts standard 5-field expressions and normalises spaces", () => {
    expect(validateCronExpression(" 0  12 * * MON-FRI ")).toBe("0 12 * * MON-FRI");
    expect(validateCronExpression("*/5 * * * *")).toBe("*/5 * * * *");
  });

  it.each([["61 * * * *"], ["* * * *"], ["0 * * * * *"], ["not a cron"], ["*/0 * * * *"], ["0 0 30 2 *"], [""], [42]])(
    "refuses %j naming the field cron",
    (cron) => {
      expect(validationFieldOf(() => validateCronExpression(cron))).toBe("cron");
    },
  );
});

describe("validateTimeZone", () => {
  it("accepts IANA names and returns their canonical spelling", () => {
    expect(validateTimeZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(validateTimeZone("america/new_york")).toBe("America/New_York");
    expect(validateTimeZone("UTC")).toBe("UTC");
  });

  it.each([["Mars/Olympus"], ["CEST+2"], [""], [7]])("refuses %j naming the field timezone", (timezone) => {
    expect(validationFieldOf(() => validateTimeZone(timezone))).toBe("timezone");
  });
});
