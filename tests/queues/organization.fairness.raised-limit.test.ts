import { describe, expect, it } from "vitest";
import { bobsWaitBehindAlicesFlood, useFloodableInstance } from "../helpers/fairness.js";

const runlater = useFloodableInstance();

describe("organisation fairness above the workers' concurrency", () => {
  // Admitted at the next fair top-up, then behind at most a batch of alice's jobs.
  it("starts bob's task within seconds while alice, limited to 1,000, floods every place of the worker", async () => {
    expect(await bobsWaitBehindAlicesFlood(runlater)).toBeLessThan(3000);
  });
});
