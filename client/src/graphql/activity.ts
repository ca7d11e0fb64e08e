/** The overview page: the live activity feed and executions over time. */
import { gql } from "@urql/core";
import type { ExecutionStatus, TaskRow } from "./tasks";

export interface ActivityEvent {
  kind: string;
  at: string;
  task: Pick<TaskRow, "id" | "name" | "url" | "status" | "queue" | "type">;
  execution: { id: string; status: ExecutionStatus; attempt: number; responseStatus: number | null; durationMs: number | null } | null;
}

export const ORG_ACTIVITY = gql<{ orgActivity: ActivityEvent }>`
  subscription OrgActivity {
    orgActivity {
      kind
      at
      task { id name url status queue type }
      execution { id status attempt responseStatus durationMs }
    }
  }
`;

export interface ActivityBucket {
  start: string;
  succeeded: number;
  failed: number;
  total: number;
}

export const ACTIVITY_STATS = gql<{ activityStats: ActivityBucket[] }, { sinceMinutes: number; bucketMinutes: number }>`
  query ActivityStats($sinceMinutes: Int, $bucketMinutes: Int) {
    activityStats(sinceMinutes: $sinceMinutes, bucketMinutes: $bucketMinutes) { start succeeded failed total }
  }
`;

/** The overview's counters: totals by status (counted by the server) and the queues. */
export const OVERVIEW_COUNTS = gql<{
  running: { totalCount: number };
  scheduled: { totalCount: number };
  failed: { totalCount: number };
  queues: Array<{ name: string; paused: boolean; concurrency: number; depth: { scheduled: number; running: number; failed: number } }>;
}>`
  query OverviewCounts {
    running: tasks(filter: { status: RUNNING }, first: 1) { totalCount }
    scheduled: tasks(filter: { status: SCHEDULED }, first: 1) { totalCount }
    failed: tasks(filter: { status: FAILED }, first: 1) { totalCount }
    queues { name paused concurrency depth { scheduled running failed } }
  }
`;
