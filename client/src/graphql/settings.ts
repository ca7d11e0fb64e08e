/** API keys, the signing secret and the organisation's concurrency limit. */
import { gql } from "@urql/core";

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const API_KEY_FIELDS = `id name prefix createdAt lastUsedAt revokedAt`;

export const API_KEYS = gql<{ apiKeys: ApiKeyRow[] }>`
  query ApiKeys { apiKeys { ${API_KEY_FIELDS} } }
`;

export const CREATE_API_KEY = gql<{ createApiKey: { secret: string; apiKey: ApiKeyRow } }, { name: string }>`
  mutation CreateApiKey($name: String!) { createApiKey(name: $name) { secret apiKey { ${API_KEY_FIELDS} } } }
`;

export const REVOKE_API_KEY = gql<{ revokeApiKey: ApiKeyRow }, { id: string }>`
  mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { ${API_KEY_FIELDS} } }
`;

export interface SigningSecrets {
  current: string;
  previous: string | null;
  previousExpiresAt: string | null;
}

export const SIGNING_SECRETS = gql<{ signingSecrets: SigningSecrets }>`
  query SigningSecrets { signingSecrets { current previous previousExpiresAt } }
`;

export const ROTATE_SIGNING_SECRET = gql<{ rotateSigningSecret: SigningSecrets }>`
  mutation RotateSigningSecret { rotateSigningSecret { current previous previousExpiresAt } }
`;

export const SET_CONCURRENCY_LIMIT = gql<{ setConcurrencyLimit: { id: string; concurrencyLimit: number } }, { limit: number }>`
  mutation SetConcurrencyLimit($limit: Int!) { setConcurrencyLimit(limit: $limit) { id concurrencyLimit } }
`;
