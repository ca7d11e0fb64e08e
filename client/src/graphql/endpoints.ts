/** Inbound webhook endpoints and the events they receive: what the endpoint pages read, change and subscribe to. */
import { gql } from "@urql/core";
import type { HttpMethod } from "./tasks";

export type InboundVerification = "STRIPE" | "GITHUB" | "HMAC";
export type InboundEventStatus = "ACCEPTED" | "REJECTED";
export const INBOUND_VERIFICATIONS: InboundVerification[] = ["STRIPE", "GITHUB", "HMAC"];

export interface EndpointRow {
  id: string;
  name: string;
  url: string;
  forwardUrls: string[];
  forwardMethod: HttpMethod | null;
  ordered: boolean;
  retries: number;
  timeoutMs: number;
  verification: { kind: InboundVerification; header: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

const ENDPOINT_FIELDS = `id name url forwardUrls forwardMethod ordered retries timeoutMs verification { kind header } createdAt updatedAt`;

/** What a line of the live event list shows. */
export interface InboundEventRow {
  id: string;
  endpointId: string;
  status: InboundEventStatus;
  rejectionReason: string | null;
  method: string;
  path: string;
  query: string;
  bodySize: number;
  sourceIp: string;
  receivedAt: string;
}

const EVENT_ROW_FIELDS = `id endpointId status rejectionReason method path query bodySize sourceIp receivedAt`;

export interface InboundDelivery {
  taskId: string;
  destination: string;
  replay: boolean;
  createdAt: string;
  task: { id: string; status: string; attempts: number };
}

export interface InboundEventDetail extends InboundEventRow {
  headers: Record<string, string>;
  body: string;
  deliveries: InboundDelivery[];
}

const DELIVERY_FIELDS = `taskId destination replay createdAt task { id status attempts }`;

export const ENDPOINTS = gql<{ endpoints: EndpointRow[] }>`
  query Endpoints { endpoints { ${ENDPOINT_FIELDS} } }
`;

export const ENDPOINT_DETAIL = gql<
  {
    endpoint: EndpointRow;
    inboundEvents: { edges: Array<{ node: InboundEventRow }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  },
  { id: string; first: number; after?: string; status?: InboundEventStatus }
>`
  query EndpointDetail($id: ID!, $first: Int, $after: String, $status: InboundEventStatus) {
    endpoint(id: $id) { ${ENDPOINT_FIELDS} }
    inboundEvents(endpointId: $id, first: $first, after: $after, status: $status) {
      edges { node { ${EVENT_ROW_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const INBOUND_EVENT = gql<{ inboundEvent: InboundEventDetail }, { id: string }>`
  query InboundEvent($id: ID!) { inboundEvent(id: $id) { ${EVENT_ROW_FIELDS} headers body deliveries { ${DELIVERY_FIELDS} } } }
`;

/** Events as an endpoint (or any endpoint of the organisation) stores them. */
export const INBOUND_EVENTS_LIVE = gql<{ inboundEvents: InboundEventRow }, { endpointId?: string }>`
  subscription InboundEventsLive($endpointId: ID) { inboundEvents(endpointId: $endpointId) { ${EVENT_ROW_FIELDS} } }
`;

export interface EndpointInput {
  name: string;
  forwardUrls: string[];
  verify?: { kind: InboundVerification; secret: string; header?: string } | null;
  ordered?: boolean;
}

export const CREATE_ENDPOINT = gql<{ createEndpoint: EndpointRow }, EndpointInput>`
  mutation CreateEndpoint($name: String!, $forwardUrls: [String!]!, $verify: InboundVerifyInput, $ordered: Boolean) {
    createEndpoint(name: $name, forwardUrls: $forwardUrls, verify: $verify, ordered: $ordered) { ${ENDPOINT_FIELDS} }
  }
`;

export const DELETE_ENDPOINT = gql<{ deleteEndpoint: boolean }, { id: string }>`
  mutation DeleteEndpoint($id: ID!) { deleteEndpoint(id: $id) }
`;

export const REPLAY_EVENT = gql<{ replayEvent: InboundDelivery[] }, { id: string; destination?: string }>`
  mutation ReplayEvent($id: ID!, $destination: String) { replayEvent(id: $id, destination: $destination) { ${DELIVERY_FIELDS} } }
`;
