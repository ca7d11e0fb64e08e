/**
 * The dispatcher's wake-ups: a wake for work (a notification, a timer) is
 * never lost, while a wake for room (an attempt left a stage while the loop
 * was busy) is dropped once the loop knows nothing is left to take, so a
 * caught-up worker does not run an empty take after every attempt.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import { DispatchWakeups } from "../../worker/dispatch-wakeups.js";

// The wake-up logic needs no connection: start() (LISTEN) is not called.
const wakeups = () => new DispatchWakeups("postgres://unused", createLogger({ level: "silent" }));

/** Whether waitForWork resolves within `ms` (its own backstop is 2 s). */
async function wakesWithin(subject: DispatchWakeups, ms: number): Promise<boolean> {
  return Promise.race([subject.waitForWork().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

describe("DispatchWakeups", () => {
  it("keeps a wake for work that arrived while the loop was busy", async () => {
    const subject = wakeups();
    subject.wake();
    subject.forgetRoom();
    expect(await wakesWithin(subject, 200)).toBe(true);
    await subject.stop();
  });

  it("keeps a wake for room until the loop forgets it, and drops it then", async () => {
    const subject = wakeups();
    subject.wakeForRoom();
    expect(await wakesWithin(subject, 200)).toBe(true);

    subject.wakeForRoom();
    subject.forgetRoom();
    expect(await wakesWithin(subject, 200)).toBe(false);
    await subject.stop();
  });

  it("wakes a waiting loop for room at once", async () => {
    const subject = wakeups();
    const woken = wakesWithin(subject, 500);
    subject.wakeForRoom();
    expect(await woken).toBe(true);
    await subject.stop();
  });
});
