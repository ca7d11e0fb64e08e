/** The failure inbox: FAILED tasks and re-running them. */
import { gql } from "@urql/core";
import type { PageInfo, TaskRow } from "./tasks";

export interface FailedTaskRow extends TaskRow {
  completedAt: string | null;
  executions: { edges: Array<{ node: { id: string; responseStatus: number | null; error: string | null } }> };
}

export const FAILED_TASKS = gql<
  { failedTasks: { totalCount: number; pageInfo: PageInfo; edges: Array<{ node: FailedTaskRow }> } },
  { queue?: string; first?: number; after?: string; last?: number; before?: string }
>`
  query FailedTasks($queue: String, $first: Int, $after: String, $last: Int, $before: String) {
    failedTasks(queue: $queue, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges {
        node {
          id name url method status type queue cron paused attempts runAt nextRunAt createdAt updatedAt completedAt
          executions(last: 1) { edges { node { id responseStatus error } } }
        }
      }
    }
  }
`;

export const RETRY_TASKS = gql<{ retryTasks: Array<{ id: string; status: string }> }, { ids: string[] }>`
  mutation RetryTasks($ids: [ID!]!) { retryTasks(ids: $ids) { id status } }
`;

export const RETRY_ALL_FAILED = gql<{ retryAllFailed: number }, { queue?: string }>`
  mutation RetryAllFailed($queue: String) { retryAllFailed(queue: $queue) }
`;
