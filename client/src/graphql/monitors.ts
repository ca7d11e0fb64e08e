/** Heartbeat monitors: what the monitor pages read, change and subscribe to. */
import { gql } from "@urql/core";

export type MonitorStatus = "NEW" | "UP" | "LATE" | "DOWN" | "PAUSED";
export type MonitorPingKind = "SUCCESS" | "START" | "FAIL";

export interface MonitorRow {
  id: string;
  name: string;
  pingUrl: string;
  status: MonitorStatus;
  intervalSeconds: number | null;
  cron: string | null;
  timezone: string | null;
  graceSeconds: number;
  paused: boolean;
  running: boolean;
  expectedAt: string | null;
  downAt: string | null;
  lastPingAt: string | null;
  lastStartAt: string | null;
  lastDurationMs: number | null;
  statusChangedAt: string;
  createdAt: string;
  updatedAt: string;
}

const MONITOR_FIELDS = `id name pingUrl status intervalSeconds cron timezone graceSeconds paused running expectedAt downAt lastPingAt
  lastStartAt lastDurationMs statusChangedAt createdAt updatedAt`;

export interface MonitorPing {
  id: string;
  kind: MonitorPingKind;
  exitCode: number | null;
  durationMs: number | null;
  body: string | null;
  method: string;
  sourceIp: string;
  userAgent: string | null;
  receivedAt: string;
}

const PING_FIELDS = `id kind exitCode durationMs body method sourceIp userAgent receivedAt`;

export const MONITORS = gql<{ monitors: MonitorRow[] }>`
  query Monitors { monitors { ${MONITOR_FIELDS} } }
`;

export const MONITOR_DETAIL = gql<
  { monitor: MonitorRow; monitorPings: { edges: Array<{ node: MonitorPing }>; pageInfo: { hasNextPage: boolean } } },
  { id: string; pings: number }
>`
  query MonitorDetail($id: ID!, $pings: Int) {
    monitor(id: $id) { ${MONITOR_FIELDS} }
    monitorPings(monitorId: $id, first: $pings) { edges { node { ${PING_FIELDS} } } pageInfo { hasNextPage } }
  }
`;

/** One monitor (id) or every monitor of the organisation, after each ping and state change. */
export const MONITOR_UPDATED = gql<{ monitorUpdated: MonitorRow }, { id?: string }>`
  subscription MonitorUpdated($id: ID) { monitorUpdated(id: $id) { ${MONITOR_FIELDS} } }
`;

export interface MonitorScheduleInput {
  name?: string;
  intervalSeconds?: number;
  cron?: string;
  timezone?: string;
  graceSeconds?: number;
}

export const CREATE_MONITOR = gql<{ createMonitor: MonitorRow }, MonitorScheduleInput & { name: string }>`
  mutation CreateMonitor($name: String!, $intervalSeconds: Int, $cron: String, $timezone: String, $graceSeconds: Int) {
    createMonitor(name: $name, intervalSeconds: $intervalSeconds, cron: $cron, timezone: $timezone, graceSeconds: $graceSeconds) {
      ${MONITOR_FIELDS}
    }
  }
`;

export const UPDATE_MONITOR = gql<{ updateMonitor: MonitorRow }, MonitorScheduleInput & { id: string }>`
  mutation UpdateMonitor($id: ID!, $name: String, $intervalSeconds: Int, $cron: String, $timezone: String, $graceSeconds: Int) {
    updateMonitor(id: $id, name: $name, intervalSeconds: $intervalSeconds, cron: $cron, timezone: $timezone, graceSeconds: $graceSeconds) {
      ${MONITOR_FIELDS}
    }
  }
`;

export const PAUSE_MONITOR = gql<{ pauseMonitor: MonitorRow }, { id: string }>`
  mutation PauseMonitor($id: ID!) { pauseMonitor(id: $id) { ${MONITOR_FIELDS} } }
`;
export const RESUME_MONITOR = gql<{ resumeMonitor: MonitorRow }, { id: string }>`
  mutation ResumeMonitor($id: ID!) { resumeMonitor(id: $id) { ${MONITOR_FIELDS} } }
`;
export const DELETE_MONITOR = gql<{ deleteMonitor: boolean }, { id: string }>`
  mutation DeleteMonitor($id: ID!) { deleteMonitor(id: $id) }
`;
