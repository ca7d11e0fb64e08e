import { afterAll, describe, expect, it } from "vitest";
import { Browser, signUp } from "../helpers/browser.js";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
const open: Array<LiveSubscription<unknown>> = [];

afterAll(async () => {
  await Promise.all(open.map((subscription) => subscription.dispose()));
});

interface ActivityEvent {
  orgActivity: { kind: string; task: { id: string; name: string | null } };
}

function liveActivity(headers: Record<string, string>): LiveSubscription<ActivityEvent> {
  const subscription = subscribe<ActivityEvent>(
    runlater.instance.url as string,
    null,
    "subscription { orgActivity { kind task { id name } } }",
    {},
    { headers },
  );
  open.push(subscription as LiveSubscription<unknown>);
  return subscription;
}

describe("the dashboard's session cookie authenticates a WebSocket connection", () => {
  it("delivers the signed-in organisation's events to a same-origin connection", async () => {
    const browser = new Browser(runlater.instance);
    await signUp(browser, { email: "owner@example.com" });
    const url = runlater.instance.url as string;
    const subscription = liveActivity({ cookie: browser.cookieHeader(), origin: url, host: new URL(url).host });
    await subscription.ready();

    const pushed = await browser.graphql<{ pushTask: { id: string } }>(
      'mutation { pushTask(url: "https://example.com/hook", delay: "1h", name: "from-the-dashboard") { id } }',
    );
    expect(pushed.errors).toBeUndefined();
    const taskId = pushed.data?.pushTask.id;
    const events = await subscription.waitFor((received) => received.some((event) => event.orgActivity.task.id === taskId));
    expect(events.find((event) => event.orgActivity.task.id === taskId)?.orgActivity).toMatchObject({
      kind: "TASK_CREATED",
      task: { name: "from-the-dashboard" },
    });
  });

  it("ignores the cookie of a cross-site handshake (4401), so another site cannot ride the session", async () => {
    const browser = new Browser(runlater.instance);
    await signUp(browser, { email: "second@example.com" });
    const subscription = liveActivity({ cookie: browser.cookieHeader(), origin: "https://evil.example" });
    await expect(subscription.connected).rejects.toThrow(/4401/);
  });
});
