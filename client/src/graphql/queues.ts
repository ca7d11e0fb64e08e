/** Queues: depth, concurrency, rate limit, pause/resume. */
import { gql } from "@urql/core";

export interface QueueRow {
  name: string;
  paused: boolean;
  concurrency: number;
  rateLimit: number | null;
  ratePeriodSeconds: number;
  createdAt: string;
  updatedAt: string;
  depth: { scheduled: number; running: number; failed: number };
}

const QUEUE_FIELDS = `name paused concurrency rateLimit ratePeriodSeconds createdAt updatedAt depth { scheduled running failed }`;

export const QUEUES = gql<{ queues: QueueRow[] }>`
  query Queues { queues { ${QUEUE_FIELDS} } }
`;

export const QUEUE_STATS = gql<{ queueStats: QueueRow }, { name: string }>`
  subscription QueueStats($name: String!) { queueStats(name: $name) { ${QUEUE_FIELDS} } }
`;

export const PAUSE_QUEUE = gql<{ pauseQueue: QueueRow }, { name: string }>`
  mutation PauseQueue($name: String!) { pauseQueue(name: $name) { ${QUEUE_FIELDS} } }
`;
export const RESUME_QUEUE = gql<{ resumeQueue: QueueRow }, { name: string }>`
  mutation ResumeQueue($name: String!) { resumeQueue(name: $name) { ${QUEUE_FIELDS} } }
`;
export const UPDATE_QUEUE = gql<
  { updateQueue: QueueRow },
  { name: string; concurrency?: number; rateLimit?: number; ratePeriodSeconds?: number; removeRateLimit?: boolean }
>`
  mutation UpdateQueue($name: String!, $concurrency: Int, $rateLimit: Int, $ratePeriodSeconds: Int, $removeRateLimit: Boolean) {
    updateQueue(name: $name, concurrency: $concurrency, rateLimit: $rateLimit, ratePeriodSeconds: $ratePeriodSeconds,
      removeRateLimit: $removeRateLimit) { ${QUEUE_FIELDS} }
  }
`;
export const CANCEL_QUEUED_TASKS = gql<{ cancelQueuedTasks: number }, { queue: string }>`
  mutation CancelQueuedTasks($queue: String!) { cancelQueuedTasks(queue: $queue) }
`;
