/**
 * Organisations, members and invites: roles decide who manages what, invites
 * carry roles, switching organisation changes what a session sees, and one
 * organisation's session never reads another's data.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Browser, logIn, signUp, type ViewerAnswer } from "../helpers/browser.js";
import { ALICE_KEY, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance();
/** Olive owns the default organisation; Bob owns another. */
let olive: Browser;
let oliveViewer: ViewerAnswer;
let bob: Browser;
let bobViewer: ViewerAnswer;
let bobsTaskId: string;

async function createInvite(browser: Browser, role: string, email?: string): Promise<{ id: string; token: string; url: string }> {
  const answer = await browser.graphql<{ createInvite: { url: string; invite: { id: string; role: string } } }>(
    "mutation ($input: CreateInviteInput!) { createInvite(input: $input) { url invite { id role email expiresAt } } }",
    { input: { role, ...(email ? { email } : {}) } },
  );
  if (!answer.data) throw new Error(`createInvite failed: ${JSON.stringify(answer.errors)}`);
  const { url, invite } = answer.data.createInvite;
  return { id: invite.id, url, token: url.split("/invite/")[1] as string };
}

async function pushTask(browser: Browser, name: string): Promise<string> {
  const answer = await browser.graphql<{ pushTask: { id: string } }>(
    `mutation ($name: String) { pushTask(url: "https://example.com/hook", delay: "1h", name: $name) { id } }`,
    { name },
  );
  if (!answer.data) throw new Error(`pushTask failed: ${JSON.stringify(answer.errors)}`);
  return answer.data.pushTask.id;
}

async function taskNames(browser: Browser): Promise<string[]> {
  const answer = await browser.graphql<{ tasks: { edges: Array<{ node: { name: string } }> } }>("{ tasks { edges { node { name } } } }");
  return answer.data?.tasks.edges.map((edge) => edge.node.name) ?? [];
}

beforeAll(async () => {
  olive = new Browser(context.instance);
  oliveViewer = await signUp(olive, { email: "olive@example.com", name: "Olive" });
  bob = new Browser(context.instance);
  bobViewer = await signUp(bob, { email: "bob@example.com", name: "Bob" });
  await pushTask(olive, "olive's task");
  bobsTaskId = await pushTask(bob, "bob's secret task");
});

describe("invites", () => {
  it("turn a sign-up into a member of the inviting organisation, with the invite's role, once", async () => {
    const invite = await createInvite(olive, "MEMBER");
    expect(invite.url).toBe(`${context.instance.url}/invite/${invite.token}`);
    const member = new Browser(context.instance);
    const viewer = await signUp(member, { email: "mia@example.com", name: "Mia", inviteToken: invite.token });
    expect(viewer.role).toBe("MEMBER");
    expect(viewer.organization.id).toBe(oliveViewer.organization.id);
    expect(viewer.memberships).toHaveLength(1);

    const reused = await new Browser(context.instance).graphql("mutation ($input: SignUpInput!) { signUp(input: $input) { role } }", {
      input: { email: "again@example.com", name: "Again", password: "correct horse battery", inviteToken: invite.token },
    });
    expect(reused.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "input.inviteToken" });
    // Nothing was created by the refused sign-up.
    expect((await logIn(new Browser(context.instance), "again@example.com", "correct horse battery")).status).toBe(401);

    const invites = await olive.graphql<{ invites: Array<{ id: string; acceptedAt: string | null }> }>("{ invites { id acceptedAt } }");
    expect(invites.data?.invites.find((listed) => listed.id === invite.id)?.acceptedAt).toBeTruthy();
  });

  it("let an existing user join with acceptInvite, which switches their session to the new organisation", async () => {
    const invite = await createInvite(olive, "ADMIN");
    const accepted = await bob.graphql<{ acceptInvite: ViewerAnswer }>(
      "mutation ($token: String!) { acceptInvite(token: $token) { role organization { id } memberships { role organization { id } } } }",
      { token: invite.token },
    );
    expect(accepted.data?.acceptInvite).toMatchObject({ role: "ADMIN", organization: { id: oliveViewer.organization.id } });
    expect(accepted.data?.acceptInvite.memberships.map((membership) => membership.role).sort()).toEqual(["ADMIN", "OWNER"]);
    expect(await taskNames(bob)).toEqual(["olive's task"]);
    // Back to his own organisation for the tests below.
    await bob.graphql("mutation ($id: ID!) { switchOrganization(organizationId: $id) { role } }", { id: bobViewer.organization.id });
  });

  it("bound to an email can be used by that account only", async () => {
    const invite = await createInvite(olive, "MEMBER", "Someone@Example.com");
    const stranger = new Browser(context.instance);
    const refused = await stranger.graphql("mutation ($input: SignUpInput!) { signUp(input: $input) { role } }", {
      input: { email: "stranger@example.com", name: "S", password: "correct horse battery", inviteToken: invite.token },
    });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", field: "input.inviteToken" });
    const viewer = await signUp(new Browser(context.instance), { email: "someone@example.com", inviteToken: invite.token });
    expect(viewer.role).toBe("MEMBER");
  });

  it("stop working once revoked", async () => {
    const invite = await createInvite(olive, "MEMBER");
    const revoked = await olive.graphql<{ revokeInvite: { revokedAt: string } }>(
      "mutation ($id: ID!) { revokeInvite(id: $id) { revokedAt } }",
      {
        id: invite.id,
      },
    );
    expect(revoked.data?.revokeInvite.revokedAt).toBeTruthy();
    const refused = await bob.graphql("mutation ($token: String!) { acceptInvite(token: $token) { role } }", { token: invite.token });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "VALIDATION_FAILED", field: "token" });
  });

  it("can make an owner only when an owner creates them", async () => {
    const admin = new Browser(context.instance);
    await signUp(admin, { email: "adam@example.com", inviteToken: (await createInvite(olive, "ADMIN")).token });
    const refused = await admin.graphql("mutation { createInvite(input: { role: OWNER }) { url } }");
    expect(refused.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await admin.graphql("mutation { createInvite(input: { role: ADMIN }) { url } }")).data).toBeTruthy();
  });
});

describe("roles", () => {
  let member: Browser;

  beforeAll(async () => {
    member = new Browser(context.instance);
    await signUp(member, { email: "max@example.com", inviteToken: (await createInvite(olive, "MEMBER")).token });
  });

  it.each([
    ["createApiKey", `mutation { createApiKey(name: "mine") { secret } }`],
    ["apiKeys", "{ apiKeys { id } }"],
    ["signingSecrets", "{ signingSecrets { current } }"],
    ["rotateSigningSecret", "mutation { rotateSigningSecret { current } }"],
    ["createInvite", "mutation { createInvite(input: { role: MEMBER }) { url } }"],
    ["invites", "{ invites { id } }"],
    ["setConcurrencyLimit", "mutation { setConcurrencyLimit(limit: 50) { concurrencyLimit } }"],
  ])("refuses a MEMBER %s with FORBIDDEN", async (_name, query) => {
    const answer = await member.graphql(query);
    expect(answer.data).toBeNull();
    expect(answer.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect(JSON.stringify(answer)).not.toMatch(/whsec_|rl_/);
  });

  it("lets a MEMBER use tasks and see the members", async () => {
    await pushTask(member, "max's task");
    expect((await taskNames(olive)).sort()).toContain("max's task");
    const members = await member.graphql<{ members: Array<{ role: string; user: { email: string } }> }>(
      "{ members { role user { email } } }",
    );
    expect(members.data?.members.map((membership) => membership.user.email)).toContain("olive@example.com");
  });

  it("lets API keys manage members over REST, with full access to their organisation", async () => {
    const members = await rest<Array<{ role: string; user: string }>>(context.instance, ALICE_KEY, "GET", "/members");
    expect(members.status).toBe(200);
    expect(members.body.length).toBeGreaterThanOrEqual(3);
    const created = await rest<{ url: string; invite: string }>(context.instance, ALICE_KEY, "POST", "/invites", {
      input: { role: "OWNER" },
    });
    expect(created.status).toBe(201);
    expect(created.body.url).toContain("/invite/rli_");
  });

  it("lets an admin promote and demote members, but only an owner grant ownership", async () => {
    const maxId = (await member.graphql<{ viewer: { user: { id: string } } }>("{ viewer { user { id } } }")).data!.viewer.user.id;
    const adam = new Browser(context.instance);
    await logIn(adam, "adam@example.com", "correct horse battery");
    const promoted = await adam.graphql<{ updateMemberRole: { role: string } }>(
      "mutation ($id: ID!) { updateMemberRole(userId: $id, role: ADMIN) { role } }",
      { id: maxId },
    );
    expect(promoted.data?.updateMemberRole.role).toBe("ADMIN");
    expect((await member.graphql("{ apiKeys { id } }")).data).toBeTruthy();
    const toOwner = await adam.graphql("mutation ($id: ID!) { updateMemberRole(userId: $id, role: OWNER) { role } }", { id: maxId });
    expect(toOwner.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const demoteOwner = await adam.graphql("mutation ($id: ID!) { updateMemberRole(userId: $id, role: MEMBER) { role } }", {
      id: oliveViewer.user.id,
    });
    expect(demoteOwner.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const demoted = await olive.graphql<{ updateMemberRole: { role: string } }>(
      "mutation ($id: ID!) { updateMemberRole(userId: $id, role: MEMBER) { role } }",
      { id: maxId },
    );
    expect(demoted.data?.updateMemberRole.role).toBe("MEMBER");
  });
});

describe("owners", () => {
  it("refuses to demote or remove the last owner, and allows it once there is another", async () => {
    const demote = await olive.graphql("mutation ($id: ID!) { updateMemberRole(userId: $id, role: ADMIN) { role } }", {
      id: oliveViewer.user.id,
    });
    expect(demote.errors?.[0]?.extensions).toMatchObject({ code: "CONFLICT" });
    expect(demote.errors?.[0]?.message).toMatch(/last owner/);
    const remove = await olive.graphql("mutation ($id: ID!) { removeMember(userId: $id) }", { id: oliveViewer.user.id });
    expect(remove.errors?.[0]?.extensions?.code).toBe("CONFLICT");

    const coOwner = new Browser(context.instance);
    const coOwnerViewer = await signUp(coOwner, { email: "cora@example.com", inviteToken: (await createInvite(olive, "OWNER")).token });
    expect(coOwnerViewer.role).toBe("OWNER");
    const removed = await coOwner.graphql<{ removeMember: boolean }>("mutation ($id: ID!) { removeMember(userId: $id) }", {
      id: oliveViewer.user.id,
    });
    expect(removed.data).toEqual({ removeMember: true });
    // Olive belonged to no other organisation: her session ends, and logging in again gives her one of her own.
    const viewer = await olive.graphql<{ viewer: ViewerAnswer | null }>("{ viewer { organization { id } } }");
    expect(viewer.data).toEqual({ viewer: null });
    const again = await logIn(olive, "olive@example.com", "correct horse battery");
    expect(again.data?.logIn).toMatchObject({ role: "OWNER", organization: { name: "Olive's organisation" } });
    expect(again.data?.logIn.organization.id).not.toBe(oliveViewer.organization.id);
  });
});

describe("organisations and isolation", () => {
  it("createOrganization makes the user its owner and switches to it; switchOrganization changes what tasks returns", async () => {
    const created = await bob.graphql<{ createOrganization: ViewerAnswer }>(
      `mutation { createOrganization(input: { name: "Bob's side project" }) { role organization { id name } memberships { role } } }`,
    );
    expect(created.data?.createOrganization).toMatchObject({ role: "OWNER", organization: { name: "Bob's side project" } });
    expect(await taskNames(bob)).toEqual([]);
    await pushTask(bob, "side project task");
    expect(await taskNames(bob)).toEqual(["side project task"]);

    const switched = await bob.graphql<{ switchOrganization: { organization: { id: string }; role: string } }>(
      "mutation ($id: ID!) { switchOrganization(organizationId: $id) { role organization { id } } }",
      { id: bobViewer.organization.id },
    );
    expect(switched.data?.switchOrganization).toEqual({ role: "OWNER", organization: { id: bobViewer.organization.id } });
    expect(await taskNames(bob)).toEqual(["bob's secret task"]);
  });

  it("never lets a session of one organisation read another's objects, nor switch into an organisation it is not in", async () => {
    const cora = new Browser(context.instance);
    await logIn(cora, "cora@example.com", "correct horse battery");
    const task = await cora.graphql(`{ task(id: "${bobsTaskId}") { id name } }`);
    expect(task.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(JSON.stringify(task)).not.toContain("bob's secret task");
    expect(await taskNames(cora)).not.toContain("bob's secret task");
    const rest = await cora.get(`/api/v1/tasks/${bobsTaskId}`);
    expect(rest.status).toBe(404);

    const switched = await cora.graphql("mutation ($id: ID!) { switchOrganization(organizationId: $id) { role } }", {
      id: bobViewer.organization.id,
    });
    expect(switched.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", field: "organizationId" });
    // Zed belongs to his own organisation only.
    const zed = await signUp(new Browser(context.instance), { email: "zed@example.com" });
    const members = await cora.graphql<{ members: Array<{ user: { email: string } }> }>("{ members { user { email } } }");
    expect(members.data?.members.length).toBeGreaterThan(0);
    expect(JSON.stringify(members.data)).not.toContain("zed@example.com");
    const removeZed = await cora.graphql("mutation ($id: ID!) { removeMember(userId: $id) }", { id: zed.user.id });
    expect(removeZed.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const promoteZed = await cora.graphql("mutation ($id: ID!) { updateMemberRole(userId: $id, role: OWNER) { role } }", {
      id: zed.user.id,
    });
    expect(promoteZed.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });

  it("refuses switchOrganization and createOrganization to API keys", async () => {
    const answer = await graphql(context.instance, ALICE_KEY, `mutation { createOrganization(input: { name: "Keyed" }) { role } }`);
    expect(answer.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
  });
});
