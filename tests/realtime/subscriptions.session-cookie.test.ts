import { afterAll, describe, expect, it } from "vitest";
import { Browser, logIn, signUp } from "../helpers/browser.js";
import { type LiveSubscription, subscribe } from "../helpers/live.js";
import { eventually, useTestInstance } from "../helpers/runlater.js";

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

/** A new account owning its organisation, and the token of an invite it made for `role`. */
async function ownerInviting(email: string, role: "MEMBER" | "ADMIN"): Promise<{ owner: Browser; token: string }> {
  const owner = new Browser(runlater.instance);
  await signUp(owner, { email });
  const invited = await owner.graphql<{ createInvite: { url: string } }>(
    "mutation($role: MemberRole!) { createInvite(input: { role: $role }) { url } }",
    { role },
  );
  return { owner, token: invited.data?.createInvite.url.split("/invite/")[1] as string };
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

  it("closes a connection promptly (4403) when its session logs out, and keeps the user's other sessions' connections", async () => {
    const laptop = new Browser(runlater.instance);
    await signUp(laptop, { email: "leaving@example.com", password: "correct horse battery" });
    const phone = new Browser(runlater.instance);
    expect((await logIn(phone, "leaving@example.com", "correct horse battery")).status).toBe(200);
    const url = runlater.instance.url as string;
    const sameOrigin = { origin: url, host: new URL(url).host };
    const onLaptop = liveActivity({ cookie: laptop.cookieHeader(), ...sameOrigin });
    const onPhone = liveActivity({ cookie: phone.cookieHeader(), ...sameOrigin });
    await onLaptop.ready();
    await onPhone.ready();

    const loggedOutAt = Date.now();
    expect((await laptop.graphql<{ logOut: boolean }>("mutation { logOut }")).data).toEqual({ logOut: true });
    await eventually(async () => onLaptop.closed !== null, 5000);
    expect(onLaptop.closed).toMatchObject({ code: 4403, reason: "credentials revoked" });
    // Prompt: the session's deletion notified the server; the periodic re-check comes only once a minute.
    expect(Date.now() - loggedOutAt).toBeLessThan(5000);
    expect(onPhone.closed).toBeNull();
  });

  it("closes the connection of a member removed from the organisation, though their session moves on to another organisation of theirs", async () => {
    const { owner, token } = await ownerInviting("team-owner@example.com", "MEMBER");
    // A user with an organisation of their own joins the owner's: their session switches to it.
    const guest = new Browser(runlater.instance);
    const guestViewer = await signUp(guest, { email: "guest@example.com" });
    const accepted = await guest.graphql<{ acceptInvite: { organization: { id: string } } }>(
      "mutation ($token: String!) { acceptInvite(token: $token) { organization { id } } }",
      { token },
    );
    expect(accepted.errors).toBeUndefined();
    const url = runlater.instance.url as string;
    const subscription = liveActivity({ cookie: guest.cookieHeader(), origin: url, host: new URL(url).host });
    await subscription.ready();

    const removedAt = Date.now();
    const removed = await owner.graphql("mutation ($id: ID!) { removeMember(userId: $id) }", { id: guestViewer.user.id });
    expect(removed.errors).toBeUndefined();
    await eventually(async () => subscription.closed !== null, 5000);
    expect(subscription.closed).toMatchObject({ code: 4403 });
    expect(Date.now() - removedAt).toBeLessThan(5000);
    // The session itself lives on, in the guest's own organisation.
    const viewer = await guest.graphql<{ viewer: { organization: { id: string } } }>("{ viewer { organization { id } } }");
    expect(viewer.data?.viewer.organization.id).toBe(guestViewer.organization.id);
  });

  it("closes the connection of an admin demoted to member, who could otherwise go on reading admins' settings over it", async () => {
    const { owner, token } = await ownerInviting("demoting-owner@example.com", "ADMIN");
    const admin = new Browser(runlater.instance);
    const adminViewer = await signUp(admin, { email: "demoted-admin@example.com", inviteToken: token });
    const url = runlater.instance.url as string;
    const subscription = liveActivity({ cookie: admin.cookieHeader(), origin: url, host: new URL(url).host });
    await subscription.ready();

    const demoted = await owner.graphql("mutation ($id: ID!, $role: MemberRole!) { updateMemberRole(userId: $id, role: $role) { role } }", {
      id: adminViewer.user.id,
      role: "MEMBER",
    });
    expect(demoted.errors).toBeUndefined();
    await eventually(async () => subscription.closed !== null, 5000);
    expect(subscription.closed).toMatchObject({ code: 4403 });
    // A new connection carries the new role.
    const viewer = await admin.graphql<{ viewer: { role: string } }>("{ viewer { role } }");
    expect(viewer.data?.viewer.role).toBe("MEMBER");
  });
});
