/** Date-times given to the API (runAt, failedTasks' since and until, nextCronRuns' after) are read strictly. */
import { describe, expect, it } from "vitest";
import { parseIsoDateTime } from "../../server/services/task-input.js";

describe("parseIsoDateTime", () => {
  it("reads date-times with a zone, and refuses dates the calendar does not have", () => {
    expect(parseIsoDateTime("2028-02-29T09:00:00Z")?.toISOString()).toBe("2028-02-29T09:00:00.000Z");
    expect(parseIsoDateTime("2026-12-01T10:30+0100")?.toISOString()).toBe("2026-12-01T09:30:00.000Z");
    expect(parseIsoDateTime(" 2026-12-01t09:00:00.5z ")?.toISOString()).toBe("2026-12-01T09:00:00.500Z");
    for (const text of ["2027-02-29T09:00:00Z", "2026-09-31T09:00:00Z", "2026-13-01T09:00:00Z", "2026-12-01T25:00:00Z"]) {
      expect(parseIsoDateTime(text), text).toBeNull();
    }
    expect(parseIsoDateTime("2026-12-01T09:00:00")).toBeNull();
    expect(parseIsoDateTime(20261201)).toBeNull();
  });
});
