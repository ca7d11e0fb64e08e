/** Alert channels: where DOWN monitors, failing tasks and failing endpoints are announced. */
import { gql } from "@urql/core";

export type AlertChannelKind = "EMAIL" | "SLACK" | "DISCORD" | "WEBHOOK";
export const ALERT_CHANNEL_KINDS: AlertChannelKind[] = ["SLACK", "DISCORD", "WEBHOOK", "EMAIL"];

export interface AlertChannelRow {
  id: string;
  name: string;
  kind: AlertChannelKind;
  target: string;
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

const CHANNEL_FIELDS = `id name kind target isDefault createdAt updatedAt`;

export const ALERT_CHANNELS = gql<{ alertChannels: AlertChannelRow[] }>`
  query AlertChannels { alertChannels { ${CHANNEL_FIELDS} } }
`;

export const CREATE_ALERT_CHANNEL = gql<
  { createAlertChannel: AlertChannelRow },
  { name: string; kind: AlertChannelKind; target: string; isDefault: boolean }
>`
  mutation CreateAlertChannel($name: String!, $kind: AlertChannelKind!, $target: String!, $isDefault: Boolean) {
    createAlertChannel(name: $name, kind: $kind, target: $target, isDefault: $isDefault) { ${CHANNEL_FIELDS} }
  }
`;

export const DELETE_ALERT_CHANNEL = gql<{ deleteAlertChannel: boolean }, { id: string }>`
  mutation DeleteAlertChannel($id: ID!) { deleteAlertChannel(id: $id) }
`;

export const TEST_ALERT_CHANNEL = gql<
  { testAlertChannel: { id: string; status: string; subject: string; error: string | null } },
  { id: string }
>`
  mutation TestAlertChannel($id: ID!) { testAlertChannel(id: $id) { id status subject error } }
`;
