/** Sign-up, log-in, the signed-in viewer, organisations, members and invites. */
import { gql } from "@urql/core";

export type MemberRole = "OWNER" | "ADMIN" | "MEMBER";
export const MEMBER_ROLES: MemberRole[] = ["OWNER", "ADMIN", "MEMBER"];

export interface OrganizationSummary {
  id: string;
  name: string;
  slug: string;
}

export interface Viewer {
  user: { id: string; email: string; name: string };
  organization: OrganizationSummary & { concurrencyLimit: number };
  role: MemberRole;
  memberships: Array<{ id: string; role: MemberRole; organization: OrganizationSummary }>;
}

const VIEWER_FIELDS = `
  user { id email name }
  organization { id name slug concurrencyLimit }
  role
  memberships { id role organization { id name slug } }
`;

export interface SessionData {
  setupStatus: { hasUsers: boolean; signupOpen: boolean };
  viewer: Viewer | null;
}

export const SESSION = gql<SessionData>`
  query Session {
    setupStatus { hasUsers signupOpen }
    viewer { ${VIEWER_FIELDS} }
  }
`;

export const SIGN_UP = gql<{ signUp: Viewer }, { input: { email: string; password: string; name: string; inviteToken?: string } }>`
  mutation SignUp($input: SignUpInput!) { signUp(input: $input) { ${VIEWER_FIELDS} } }
`;

export const LOG_IN = gql<{ logIn: Viewer }, { input: { email: string; password: string } }>`
  mutation LogIn($input: LogInInput!) { logIn(input: $input) { ${VIEWER_FIELDS} } }
`;

export const LOG_OUT = gql<{ logOut: boolean }>`
  mutation LogOut { logOut }
`;

export const SWITCH_ORGANIZATION = gql<{ switchOrganization: Viewer }, { organizationId: string }>`
  mutation SwitchOrganization($organizationId: ID!) { switchOrganization(organizationId: $organizationId) { ${VIEWER_FIELDS} } }
`;

export const CREATE_ORGANIZATION = gql<{ createOrganization: Viewer }, { input: { name: string } }>`
  mutation CreateOrganization($input: CreateOrganizationInput!) { createOrganization(input: $input) { ${VIEWER_FIELDS} } }
`;

export const ACCEPT_INVITE = gql<{ acceptInvite: Viewer }, { token: string }>`
  mutation AcceptInvite($token: String!) { acceptInvite(token: $token) { ${VIEWER_FIELDS} } }
`;

export interface MemberRow {
  id: string;
  role: MemberRole;
  createdAt: string;
  user: { id: string; email: string; name: string };
}

export interface InviteRow {
  id: string;
  role: MemberRole;
  email: string | null;
  createdAt: string;
  expiresAt: string | null;
  acceptedAt: string | null;
  revokedAt: string | null;
}

/** An invite whose link still works: not used, not revoked, not expired. */
export const isPending = (invite: InviteRow, now = Date.now()) =>
  !invite.acceptedAt && !invite.revokedAt && (!invite.expiresAt || new Date(invite.expiresAt).getTime() > now);

export const MEMBERS = gql<{ members: MemberRow[] }>`
  query Members { members { id role createdAt user { id email name } } }
`;

/** Owners and admins only: asked for separately, so a member's members list still loads. */
export const INVITES = gql<{ invites: InviteRow[] }>`
  query Invites { invites { id role email createdAt expiresAt acceptedAt revokedAt } }
`;

export const CREATE_INVITE = gql<{ createInvite: { url: string; invite: InviteRow } }, { input: { role: MemberRole; email?: string } }>`
  mutation CreateInvite($input: CreateInviteInput!) {
    createInvite(input: $input) { url invite { id role email createdAt expiresAt acceptedAt revokedAt } }
  }
`;

export const REVOKE_INVITE = gql<{ revokeInvite: { id: string } }, { id: string }>`
  mutation RevokeInvite($id: ID!) { revokeInvite(id: $id) { id } }
`;

export const UPDATE_MEMBER_ROLE = gql<{ updateMemberRole: { id: string; role: MemberRole } }, { userId: string; role: MemberRole }>`
  mutation UpdateMemberRole($userId: ID!, $role: MemberRole!) { updateMemberRole(userId: $userId, role: $role) { id role } }
`;

export const REMOVE_MEMBER = gql<{ removeMember: boolean }, { userId: string }>`
  mutation RemoveMember($userId: ID!) { removeMember(userId: $userId) }
`;

/** Owners and admins manage keys, secrets, members and invites; members use tasks, queues and failures. */
export const canManage = (role: MemberRole | undefined) => role === "OWNER" || role === "ADMIN";
