/**
 * Accounts: sign-up, log-in and log-out (public), the signed-in viewer, and
 * switching or creating organisations. Members and invites live in members.ts.
 */
import { DomainError } from "../errors.js";
import type { MemberRole } from "../generated/prisma/enums.js";
import { clearedSessionCookies, sessionCookies } from "../http/session-cookies.js";
import { acceptInviteAsViewer, createOrganizationAsViewer, getSetupStatus, logIn, type SignedIn, signUp } from "../services/accounts.js";
import { findMembershipRole } from "../services/memberships.js";
import { deleteSession, switchSessionOrganization } from "../services/sessions.js";
import { asUuid } from "../services/tasks.js";
import { builder, type GraphQLContext } from "./builder.js";

export const MemberRoleEnum = builder.enumType("MemberRole", {
  description: "What a member may do in an organisation.",
  values: {
    OWNER: { description: "Everything an admin can do, plus granting and removing ownership. An organisation always keeps one." },
    ADMIN: { description: "Manages API keys, the signing secret, members and invites, besides everything a member does." },
    MEMBER: { description: "Uses tasks, queues and the failure inbox; cannot see API keys or the signing secret." },
  } as const,
});

builder.prismaObject("User", {
  description: "A person who signs in to Runlater.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The user's id." }),
    email: t.exposeString("email", { description: "Their email address (lower-cased); they log in with it." }),
    name: t.exposeString("name", { description: "Their name." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When they signed up." }),
  }),
});

builder.prismaObject("Membership", {
  description: "A user's place in an organisation.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The membership's id." }),
    organization: t.relation("organization", { description: "The organisation." }),
    user: t.relation("user", { description: "The member." }),
    role: t.expose("role", { type: MemberRoleEnum, description: "What the member may do there." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When they joined." }),
  }),
});

const SetupStatusRef = builder.simpleObject("SetupStatus", {
  description: "What the sign-in page needs to know about this installation before anyone signs in.",
  fields: (t) => ({
    hasUsers: t.boolean({ description: "Whether any account exists. The first account to sign up owns the default organisation." }),
    signupOpen: t.boolean({
      description: "Whether signUp works without an invite (RUNLATER_SIGNUP=open, or no account exists yet).",
    }),
  }),
});

interface ViewerShape {
  userId: string;
  organizationId: string;
  role: MemberRole;
}

export const ViewerRef = builder.objectRef<ViewerShape>("Viewer").implement({
  description: "The signed-in user, in the organisation their session currently works in.",
  fields: (t) => ({
    user: t.prismaField({
      type: "User",
      description: "Who is signed in.",
      resolve: (query, viewer, _args, context) =>
        context.services.prisma.user.findUniqueOrThrow({ ...query, where: { id: viewer.userId } }),
    }),
    organization: t.prismaField({
      type: "Organization",
      description: "The current organisation: everything the session reads and writes belongs to it.",
      resolve: (query, viewer, _args, context) =>
        context.services.prisma.organization.findUniqueOrThrow({ ...query, where: { id: viewer.organizationId } }),
    }),
    role: t.field({ type: MemberRoleEnum, description: "The user's role in the current organisation.", resolve: (viewer) => viewer.role }),
    memberships: t.prismaField({
      type: ["Membership"],
      description: "Every organisation the user belongs to (switch with switchOrganization), oldest first.",
      resolve: (query, viewer, _args, context) =>
        context.services.prisma.membership.findMany({ ...query, where: { userId: viewer.userId }, orderBy: { createdAt: "asc" } }),
    }),
  }),
});

/** The viewer of a user in an organisation, with their role read now (it may just have changed). */
export async function loadViewer(context: GraphQLContext, userId: string, organizationId: string): Promise<ViewerShape> {
  const role = await findMembershipRole(context.services.pool, organizationId, userId);
  if (!role) throw new DomainError("FORBIDDEN", "you are not a member of this organisation");
  return { userId, organizationId, role };
}

function signedIn(context: GraphQLContext, result: SignedIn): Promise<ViewerShape> {
  context.responseCookies.push(...sessionCookies(result.session.token, result.session.expiresAt, context.services.config.isProduction));
  return loadViewer(context, result.userId, result.organizationId);
}

/** The signed-in user behind the request; API keys have none. */
function sessionViewer(context: GraphQLContext): Promise<ViewerShape> {
  const principal = context.principal;
  if (principal.via !== "session" || !principal.userId) {
    throw new DomainError("FORBIDDEN", "this needs a signed-in user; API keys belong to one organisation");
  }
  return loadViewer(context, principal.userId, principal.organizationId);
}

const SignUpInput = builder.inputType("SignUpInput", {
  description: "A new account.",
  fields: (t) => ({
    email: t.string({ required: true, description: "Email address to log in with." }),
    password: t.string({ required: true, description: "10 to 200 characters." }),
    name: t.string({ required: true, description: "The user's name, 1 to 100 characters." }),
    inviteToken: t.string({
      required: false,
      description: "The token of an invite link: the account joins that organisation instead of getting one of its own.",
    }),
  }),
});

const LogInInput = builder.inputType("LogInInput", {
  description: "Credentials of an existing account.",
  fields: (t) => ({
    email: t.string({ required: true, description: "The account's email address (case does not matter)." }),
    password: t.string({ required: true, description: "Its password." }),
    inviteToken: t.string({
      required: false,
      description: "An invite to accept while logging in; the session starts in its organisation.",
    }),
  }),
});

const CreateOrganizationInput = builder.inputType("CreateOrganizationInput", {
  description: "A new organisation.",
  fields: (t) => ({ name: t.string({ required: true, description: "Its name, 1 to 100 characters." }) }),
});

builder.queryFields((t) => ({
  setupStatus: t.field({
    type: SetupStatusRef,
    description: "Whether the installation has accounts and whether sign-up is open. Public: needs no credentials.",
    resolve: (_root, _args, context) => getSetupStatus(context.services.pool, context.services.config.signup),
  }),
  viewer: t.field({
    type: ViewerRef,
    nullable: true,
    description:
      "The signed-in user and their current organisation; null when not signed in, and for API keys (which act for an organisation, not a person). Public.",
    resolve: (_root, _args, context) => {
      const principal = context.optionalPrincipal;
      if (principal?.via !== "session" || !principal.userId || !principal.role) return null;
      return { userId: principal.userId, organizationId: principal.organizationId, role: principal.role };
    },
  }),
}));

builder.mutationFields((t) => ({
  signUp: t.field({
    type: ViewerRef,
    description:
      "Creates an account and signs it in (sets the session and CSRF cookies). The first account on an installation owns the default organisation; " +
      "later ones get an organisation of their own, or join the organisation of `inviteToken`. With RUNLATER_SIGNUP=invite, an invite is required. " +
      "One client address may attempt RUNLATER_SIGNUPS_PER_ADDRESS_PER_HOUR sign-ups an hour (20 by default); beyond, TOO_MANY_REQUESTS (HTTP 429 with Retry-After). Public.",
    args: { input: t.arg({ type: SignUpInput, required: true, description: "The account." }) },
    resolve: async (_root, { input }, context) =>
      signedIn(
        context,
        await signUp(
          context.services.pool,
          { policy: context.services.config.signup, perAddressPerHour: context.services.config.signupsPerAddressPerHour },
          input,
          context.clientAddress,
        ),
      ),
  }),
  logIn: t.field({
    type: ViewerRef,
    description:
      "Signs in with email and password (sets the session and CSRF cookies). After 5 failed attempts for an email, or 20 from one address, " +
      "within 15 minutes, answers TOO_MANY_REQUESTS (HTTP 429 with Retry-After). Public.",
    args: { input: t.arg({ type: LogInInput, required: true, description: "The credentials." }) },
    resolve: async (_root, { input }, context) =>
      signedIn(context, await logIn(context.services.pool, context.services.config.signup, input, context.clientAddress)),
  }),
  logOut: t.boolean({
    description: "Ends the session and clears its cookies. True when a session was ended. Public.",
    resolve: async (_root, _args, context) => {
      context.responseCookies.push(...clearedSessionCookies(context.services.config.isProduction));
      const sessionId = context.optionalPrincipal?.sessionId;
      if (!sessionId) return false;
      await deleteSession(context.services.pool, sessionId);
      return true;
    },
  }),
  switchOrganization: t.field({
    type: ViewerRef,
    description: "Makes another of your organisations the session's current one. Sessions only.",
    args: { organizationId: t.arg.id({ required: true, description: "One of viewer.memberships' organisations." }) },
    resolve: async (_root, args, context) => {
      const organizationId = asUuid(String(args.organizationId), "organization");
      await switchSessionOrganization(context.services.pool, context.principal, organizationId);
      return loadViewer(context, context.principal.userId as string, organizationId);
    },
  }),
  createOrganization: t.field({
    type: ViewerRef,
    description: "Creates an organisation you own and switches the session to it. Sessions only.",
    args: { input: t.arg({ type: CreateOrganizationInput, required: true, description: "The organisation." }) },
    resolve: async (_root, { input }, context) => {
      const viewer = await sessionViewer(context);
      const organizationId = await createOrganizationAsViewer(context.services.pool, context.principal, input.name);
      return loadViewer(context, viewer.userId, organizationId);
    },
  }),
  acceptInvite: t.field({
    type: ViewerRef,
    description: "Joins the organisation of an invite as the signed-in user, with the invite's role, and switches the session to it.",
    args: { token: t.arg.string({ required: true, description: "The token from the invite link." }) },
    resolve: async (_root, args, context) => {
      const viewer = await sessionViewer(context);
      const organizationId = await acceptInviteAsViewer(context.services.pool, context.principal, args.token);
      return loadViewer(context, viewer.userId, organizationId);
    },
  }),
}));
