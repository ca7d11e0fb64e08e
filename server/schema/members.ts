/** An organisation's members and invites. Managing them takes an owner or admin (or an API key). */

import { createInvite, revokeInvite } from "../services/invites.js";
import { removeMember, requireRole, updateMemberRole } from "../services/memberships.js";
import { asUuid } from "../services/tasks.js";
import { MemberRoleEnum } from "./account.js";
import { builder } from "./builder.js";
import { publicBaseUrl } from "./public-url.js";

const InviteRef = builder.prismaObject("Invite", {
  description: "An invitation to join your organisation. Its link is shown once, when it is created.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The invite's id." }),
    role: t.expose("role", { type: MemberRoleEnum, description: "The role whoever accepts it gets." }),
    email: t.exposeString("email", { nullable: true, description: "When set, only the account with this email may accept it." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When it was created." }),
    expiresAt: t.expose("expiresAt", { type: "DateTime", description: "When the link stops working (7 days after creation)." }),
    acceptedAt: t.expose("acceptedAt", { type: "DateTime", nullable: true, description: "When it was used; an invite works once." }),
    revokedAt: t.expose("revokedAt", { type: "DateTime", nullable: true, description: "When it was revoked." }),
  }),
});

const CreatedInvite = builder.simpleObject("CreatedInvite", {
  description: "A new invite and its link. Share the link now: it cannot be shown again.",
  fields: (t) => ({
    invite: t.field({ type: InviteRef, description: "The invite." }),
    url: t.string({ description: "The link to share: `<public URL>/invite/<token>`. Its token is what acceptInvite and signUp take." }),
  }),
});

const CreateInviteInput = builder.inputType("CreateInviteInput", {
  description: "Who may join, and as what.",
  fields: (t) => ({
    role: t.field({ type: MemberRoleEnum, required: true, description: "The role to grant. Only owners invite owners." }),
    email: t.string({ required: false, description: "Restricts the invite to the account with this email." }),
  }),
});

builder.queryFields((t) => ({
  members: t.prismaField({
    type: ["Membership"],
    description: "The members of the current organisation, oldest first.",
    resolve: (query, _root, _args, context) =>
      context.services.prisma.membership.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: { createdAt: "asc" },
      }),
  }),
  invites: t.prismaField({
    type: ["Invite"],
    description: "The current organisation's invites, newest first, used and revoked ones included. Owners and admins.",
    resolve: (query, _root, _args, context) => {
      requireRole(context.principal, "ADMIN", "see invites");
      return context.services.prisma.invite.findMany({
        ...query,
        where: { organizationId: context.principal.organizationId },
        orderBy: { createdAt: "desc" },
      });
    },
  }),
}));

builder.mutationFields((t) => ({
  createInvite: t.field({
    type: CreatedInvite,
    description: "Creates an invite link, valid for 7 days and usable once. Owners and admins; only owners invite owners.",
    args: { input: t.arg({ type: CreateInviteInput, required: true, description: "The invite." }) },
    resolve: async (_root, { input }, context) => {
      const { invite, token } = await createInvite(context.services.pool, context.principal, input);
      return { invite, url: `${publicBaseUrl(context)}/invite/${token}` };
    },
  }),
  revokeInvite: t.prismaField({
    type: "Invite",
    description: "Revokes an invite: its link stops working. Owners and admins.",
    args: { id: t.arg.id({ required: true, description: "The invite's id." }) },
    resolve: (_query, _root, args, context) => revokeInvite(context.services.pool, context.principal, asUuid(String(args.id), "invite")),
  }),
  updateMemberRole: t.prismaField({
    type: "Membership",
    description:
      "Changes a member's role. Owners and admins; only owners make owners or change an owner's role; the last owner cannot be demoted.",
    args: {
      userId: t.arg.id({ required: true, description: "The member's user id." }),
      role: t.arg({ type: MemberRoleEnum, required: true, description: "The new role." }),
    },
    resolve: (_query, _root, args, context) =>
      updateMemberRole(context.services.pool, context.principal, asUuid(String(args.userId), "member"), args.role),
  }),
  removeMember: t.boolean({
    description:
      "Removes a member from the current organisation (anyone may remove themselves). Owners and admins; only owners remove owners; " +
      "an organisation always keeps at least one owner.",
    args: { userId: t.arg.id({ required: true, description: "The member's user id." }) },
    resolve: async (_root, args, context) => {
      await removeMember(context.services.pool, context.principal, asUuid(String(args.userId), "member"));
      return true;
    },
  }),
}));
