/**
 * The monitor state machine as a pure function of timestamps, across every
 * transition, with fixed clocks.
 */
import { describe, expect, it } from "vitest";
import { type MonitorTimestamps, monitorState } from "../../server/services/monitor-status.js";

const T0 = new Date("2026-11-28T10:00:00Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const hourly: MonitorTimestamps = {
  paused: false,
  intervalSeconds: 3600,
  cron: null,
  timezone: null,
  graceSeconds: 300,
  lastPingAt: null,
  lastPingKind: null,
  lastStartAt: null,
};

describe("interval monitors", () => {
  it("is NEW until its first ping, however long it waits", () => {
    expect(monitorState(hourly, at(10 * 86_400))).toMatchObject({ status: "NEW", alertAfter: null, expectedAt: null });
  });

  it("goes UP → LATE → DOWN as the expected ping and the grace period pass", () => {
    const pinged = { ...hourly, lastPingAt: T0, lastPingKind: "SUCCESS" as const };
    expect(monitorState(pinged, at(0))).toMatchObject({ status: "UP", expectedAt: at(3600), alertAfter: at(3900) });
    expect(monitorState(pinged, at(3599)).status).toBe("UP");
    expect(monitorState(pinged, at(3600)).status).toBe("LATE");
    expect(monitorState(pinged, at(3899)).status).toBe("LATE");
    expect(monitorState(pinged, at(3900))).toMatchObject({ status: "DOWN", alertAfter: null });
  });

  it("comes back UP with the next success ping, from DOWN", () => {
    const recovered = { ...hourly, lastPingAt: at(5000), lastPingKind: "SUCCESS" as const };
    expect(monitorState(recovered, at(5001))).toMatchObject({ status: "UP", alertAfter: at(5000 + 3900) });
  });

  it("is DOWN at once after a failure ping (or a non-zero exit code), until a success", () => {
    const failed = { ...hourly, lastPingAt: T0, lastPingKind: "FAIL" as const };
    expect(monitorState(failed, at(1))).toMatchObject({ status: "DOWN", alertAfter: null });
    expect(monitorState({ ...failed, lastStartAt: at(10) }, at(11)).status).toBe("DOWN");
  });

  it("is PAUSED whatever its timestamps say", () => {
    expect(monitorState({ ...hourly, paused: true, lastPingAt: T0, lastPingKind: "SUCCESS" }, at(99_999))).toMatchObject({
      status: "PAUSED",
      alertAfter: null,
    });
  });

  it("with grace 0 goes straight from UP to DOWN at the expected time", () => {
    const strict = { ...hourly, graceSeconds: 0, lastPingAt: T0, lastPingKind: "SUCCESS" as const };
    expect(monitorState(strict, at(3599)).status).toBe("UP");
    expect(monitorState(strict, at(3600)).status).toBe("DOWN");
  });
});

describe("runs timed with /start", () => {
  it("a run that never finishes goes DOWN when its grace period after the start runs out", () => {
    const started = { ...hourly, lastPingAt: T0, lastPingKind: "SUCCESS" as const, lastStartAt: at(3500) };
    expect(monitorState(started, at(3501))).toMatchObject({ status: "UP", running: true, alertAfter: at(3800) });
    expect(monitorState(started, at(3799)).status).toBe("LATE");
    expect(monitorState(started, at(3800))).toMatchObject({ status: "DOWN", running: true });
  });

  it("a first run that started but never finished goes DOWN after the grace period", () => {
    const started = { ...hourly, lastStartAt: T0 };
    expect(monitorState(started, at(299))).toMatchObject({ status: "UP", running: true, alertAfter: at(300) });
    expect(monitorState(started, at(300)).status).toBe("DOWN");
  });

  it("a finished run is no longer running", () => {
    const finished = { ...hourly, lastStartAt: T0, lastPingAt: at(42), lastPingKind: "SUCCESS" as const };
    expect(monitorState(finished, at(43))).toMatchObject({ status: "UP", running: false, alertAfter: at(42 + 3900) });
  });
});

describe("cron monitors", () => {
  const daily = { ...hourly, intervalSeconds: null, cron: "30 2 * * *", timezone: "Europe/Berlin", graceSeconds: 600 };

  it("expects the ping at the next occurrence after the last ping, in the monitor's time zone", () => {
    // 02:31 Berlin (01:31Z) on 2026-11-28; next run 02:30 Berlin on the 29th = 01:30Z.
    const pinged = { ...daily, lastPingAt: new Date("2026-11-28T01:31:00Z"), lastPingKind: "SUCCESS" as const };
    const expected = new Date("2026-11-29T01:30:00Z");
    expect(monitorState(pinged, new Date("2026-11-29T01:29:59Z"))).toMatchObject({ status: "UP", expectedAt: expected });
    expect(monitorState(pinged, new Date("2026-11-29T01:35:00Z")).status).toBe("LATE");
    expect(monitorState(pinged, new Date("2026-11-29T01:40:00Z")).status).toBe("DOWN");
  });
});
