import { describe, expect, it } from "vitest";
import { bobsWaitBehindAlicesFlood, useFloodableInstance } from "../helpers/fairness.js";

const runlater = useFloodableInstance();

describe("organisation fairness above the workers' concurrency, through a queue", () => {
  // Her queue admits no more than a batch ahead of bob's job, not the 1,000 it has room for.
  it("starts bob's task within seconds while alice floods every place of the worker from a queue with room for 1,000", async () => {
    expect(await bobsWaitBehindAlicesFlood(runlater, "bulk")).toBeLessThan(3000);
  });
});
