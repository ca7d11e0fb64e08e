/** The organisation's request-signing secrets and their rotation. */

import { requireRole } from "../services/memberships.js";
import { getSigningSecrets, rotateSigningSecret } from "../services/organizations.js";
import { builder } from "./builder.js";

const SigningSecretsRef = builder.simpleObject("SigningSecrets", {
  description:
    "The secrets Runlater signs outgoing requests with (Runlater-Signature). During a rotation's grace period both are used, " +
    "so endpoints can switch to the new secret without rejecting a request.",
  fields: (t) => ({
    current: t.string({ description: "The secret every request is signed with." }),
    previous: t.string({ nullable: true, description: "The secret before the last rotation, while it is still used." }),
    previousExpiresAt: t.field({ type: "DateTime", nullable: true, description: "When the previous secret stops being used." }),
  }),
});

builder.queryField("signingSecrets", (t) =>
  t.field({
    type: SigningSecretsRef,
    description: "The secrets outgoing requests are currently signed with. Owners and admins.",
    resolve: (_root, _args, context) => {
      requireRole(context.principal, "ADMIN", "see the signing secret");
      return getSigningSecrets(context.services.pool, context.principal.organizationId);
    },
  }),
);

builder.mutationField("rotateSigningSecret", (t) =>
  t.field({
    type: SigningSecretsRef,
    description:
      "Makes a new signing secret. The old one keeps signing alongside it for the grace period (24 h by default). Owners and admins.",
    resolve: (_root, _args, context) => {
      requireRole(context.principal, "ADMIN", "rotate the signing secret");
      return rotateSigningSecret(context.services.pool, context.principal.organizationId, context.services.config.signingSecretGraceMs);
    },
  }),
);
