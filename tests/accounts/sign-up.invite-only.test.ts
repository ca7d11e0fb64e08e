/** RUNLATER_SIGNUP=invite: only the first account signs up freely; everyone else needs an invite. */
import { describe, expect, it } from "vitest";
import { Browser, signUp } from "../helpers/browser.js";
import { graphql, useTestInstance } from "../helpers/runlater.js";

const context = useTestInstance({ env: { RUNLATER_SIGNUP: "invite" } });

describe("invite-only sign-up", () => {
  it("lets the first account in, then refuses sign-ups without an invite naming inviteToken", async () => {
    expect((await graphql(context.instance, null, "{ setupStatus { signupOpen } }")).data).toEqual({ setupStatus: { signupOpen: true } });
    const owner = new Browser(context.instance);
    expect((await signUp(owner, { email: "first@example.com" })).role).toBe("OWNER");
    expect((await graphql(context.instance, null, "{ setupStatus { hasUsers signupOpen } }")).data).toEqual({
      setupStatus: { hasUsers: true, signupOpen: false },
    });

    const refused = await new Browser(context.instance).graphql(
      `mutation { signUp(input: { email: "uninvited@example.com", password: "correct horse battery", name: "U" }) { role } }`,
    );
    expect(refused.status).toBe(200);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", field: "input.inviteToken" });

    const invite = await owner.graphql<{ createInvite: { url: string } }>("mutation { createInvite(input: { role: MEMBER }) { url } }");
    const token = invite.data?.createInvite.url.split("/invite/")[1] as string;
    const viewer = await signUp(new Browser(context.instance), { email: "invited@example.com", inviteToken: token });
    expect(viewer.role).toBe("MEMBER");
  });
});
