/** Tasks and their executions: what the task pages read, change and subscribe to. */
import { gql } from "@urql/core";

export type TaskStatus = "SCHEDULED" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type TaskType = "ONE_OFF" | "CRON" | "CALLBACK";
export type ExecutionStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "CANCELLED" | "MISSED";
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export const TASK_STATUSES: TaskStatus[] = ["SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];
export const TASK_TYPES: TaskType[] = ["ONE_OFF", "CRON", "CALLBACK"];
export const HTTP_METHODS: HttpMethod[] = ["POST", "GET", "PUT", "PATCH", "DELETE"];

/** What a row of the task list shows. */
export interface TaskRow {
  id: string;
  name: string | null;
  url: string;
  method: HttpMethod;
  status: TaskStatus;
  type: TaskType;
  queue: string | null;
  cron: string | null;
  paused: boolean;
  attempts: number;
  runAt: string;
  nextRunAt: string | null;
  createdAt: string;
  updatedAt: string;
}

const TASK_ROW_FIELDS = `id name url method status type queue cron paused attempts runAt nextRunAt createdAt updatedAt`;

export interface TaskDetail extends TaskRow {
  headers: Record<string, string>;
  body: string | null;
  bodyEncoding: "JSON" | "RAW" | "BASE64" | null;
  retries: number;
  timeoutMs: number;
  priority: number;
  runs: number;
  timezone: string | null;
  overlap: "ALLOW" | "SKIP_IF_RUNNING";
  catchUp: "SKIP" | "LATEST" | "ALL";
  callbackUrl: string | null;
  callbackOn: "EVERY_ATTEMPT" | "FINAL" | null;
  onFailureUrl: string | null;
  completedAt: string | null;
  sourceTaskId: string | null;
  debounceKey: string | null;
  throttleKey: string | null;
}

const TASK_DETAIL_FIELDS = `${TASK_ROW_FIELDS} headers body bodyEncoding retries timeoutMs priority runs timezone overlap catchUp
  callbackUrl callbackOn onFailureUrl completedAt sourceTaskId debounceKey throttleKey`;

export interface ExecutionRow {
  id: string;
  taskId: string;
  attempt: number;
  run: number;
  status: ExecutionStatus;
  scheduledFor: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  responseStatus: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  responseBodyTruncated: boolean;
  error: string | null;
  waitingReason: string | null;
  createdAt: string;
}

export const EXECUTION_FIELDS = `id taskId attempt run status scheduledFor startedAt finishedAt durationMs responseStatus
  responseHeaders responseBody responseBodyTruncated error waitingReason createdAt`;

export interface TaskFilter {
  status?: TaskStatus;
  queue?: string;
  type?: TaskType;
  search?: string;
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface TaskListData {
  tasks: { totalCount: number; pageInfo: PageInfo; edges: Array<{ node: TaskRow }> };
}

export const TASK_LIST = gql<TaskListData>`
  query TaskList($filter: TaskFilter, $first: Int, $after: String, $last: Int, $before: String) {
    tasks(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { node { ${TASK_ROW_FIELDS} } }
    }
  }
`;

export interface TaskDetailData {
  task: TaskDetail & { executions: { pageInfo: PageInfo; edges: Array<{ node: ExecutionRow }> } };
}

/** The task with its latest 50 attempts (the timeline shows newest first). */
export const TASK_DETAIL = gql<TaskDetailData>`
  query TaskDetail($id: ID!) {
    task(id: $id) {
      ${TASK_DETAIL_FIELDS}
      executions(last: 50) {
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { ${EXECUTION_FIELDS} } }
      }
    }
  }
`;

/** Every change of an execution (and the task's row it changes), for the task list and the timeline. */
export interface ExecutionUpdateData {
  executionUpdates: ExecutionRow & { task: TaskRow };
}

export const EXECUTION_UPDATES = gql<ExecutionUpdateData>`
  subscription ExecutionUpdates($taskId: ID, $queue: String) {
    executionUpdates(taskId: $taskId, queue: $queue) {
      ${EXECUTION_FIELDS}
      task { ${TASK_ROW_FIELDS} }
    }
  }
`;

export const TASK_UPDATED = gql<{ taskUpdated: TaskDetail }>`
  subscription TaskUpdated($id: ID!) {
    taskUpdated(id: $id) { ${TASK_DETAIL_FIELDS} }
  }
`;

export interface PushTaskVariables {
  url: string;
  method?: HttpMethod;
  name?: string;
  queue?: string;
  headers?: Record<string, string>;
  body?: unknown;
  bodyBase64?: string;
  delay?: string;
  runAt?: string;
  cron?: string;
  timezone?: string;
  retries?: number;
  timeoutMs?: number;
  priority?: number;
  callbackUrl?: string;
}

export const PUSH_TASK = gql<{ pushTask: TaskRow }, PushTaskVariables>`
  mutation PushTask($url: String!, $method: HttpMethod, $name: String, $queue: String, $headers: JSONObject, $body: JSON,
    $bodyBase64: String, $delay: Delay, $runAt: DateTime, $cron: String, $timezone: String, $retries: Int, $timeoutMs: Int,
    $priority: Int, $callbackUrl: String) {
    pushTask(url: $url, method: $method, name: $name, queue: $queue, headers: $headers, body: $body, bodyBase64: $bodyBase64, delay: $delay,
      runAt: $runAt, cron: $cron, timezone: $timezone, retries: $retries, timeoutMs: $timeoutMs, priority: $priority,
      callbackUrl: $callbackUrl) { ${TASK_ROW_FIELDS} }
  }
`;

export type UpdateTaskVariables = Omit<PushTaskVariables, "queue" | "cron" | "timezone" | "callbackUrl"> & { id: string };

export const UPDATE_TASK = gql<{ updateTask: TaskRow }, UpdateTaskVariables>`
  mutation UpdateTask($id: ID!, $url: String, $method: HttpMethod, $name: String, $headers: JSONObject, $body: JSON,
    $bodyBase64: String, $delay: Delay, $runAt: DateTime, $retries: Int, $timeoutMs: Int, $priority: Int) {
    updateTask(id: $id, url: $url, method: $method, name: $name, headers: $headers, body: $body, bodyBase64: $bodyBase64,
      delay: $delay, runAt: $runAt,
      retries: $retries, timeoutMs: $timeoutMs, priority: $priority) { ${TASK_ROW_FIELDS} }
  }
`;

/** A one-off task whose first attempt has not started can still be edited (updateTask). */
export const isEditable = (task: Pick<TaskRow, "type" | "status" | "attempts">) =>
  task.type === "ONE_OFF" && task.status === "SCHEDULED" && task.attempts === 0;

export const UPDATE_TASK_SCHEDULE = gql<
  { updateTaskSchedule: TaskDetail },
  { id: string; cron?: string; timezone?: string; overlap?: string; catchUp?: string }
>`
  mutation UpdateTaskSchedule($id: ID!, $cron: String, $timezone: String, $overlap: OverlapPolicy, $catchUp: CatchUpPolicy) {
    updateTaskSchedule(id: $id, cron: $cron, timezone: $timezone, overlap: $overlap, catchUp: $catchUp) { ${TASK_DETAIL_FIELDS} }
  }
`;

export const TRIGGER_TASK = gql<{ triggerTask: TaskDetail }, { id: string }>`
  mutation TriggerTask($id: ID!) { triggerTask(id: $id) { ${TASK_DETAIL_FIELDS} } }
`;
export const CANCEL_TASK = gql<{ cancelTask: TaskDetail }, { id: string }>`
  mutation CancelTask($id: ID!) { cancelTask(id: $id) { ${TASK_DETAIL_FIELDS} } }
`;
export const PAUSE_TASK = gql<{ pauseTask: TaskDetail }, { id: string }>`
  mutation PauseTask($id: ID!) { pauseTask(id: $id) { ${TASK_DETAIL_FIELDS} } }
`;
export const RESUME_TASK = gql<{ resumeTask: TaskDetail }, { id: string }>`
  mutation ResumeTask($id: ID!) { resumeTask(id: $id) { ${TASK_DETAIL_FIELDS} } }
`;
export const REPLAY_EXECUTION = gql<{ replayExecution: { id: string; taskId: string } }, { id: string }>`
  mutation ReplayExecution($id: ID!) { replayExecution(id: $id) { id taskId } }
`;

export const NEXT_RUNS = gql<{ nextRuns: string[] }, { cron: string; timezone?: string; count?: number }>`
  query NextRuns($cron: String!, $timezone: String, $count: Int) { nextRuns(cron: $cron, timezone: $timezone, count: $count) }
`;

/** Whether a task can still be cancelled: it has not finished. */
export const isActive = (status: TaskStatus) => status === "SCHEDULED" || status === "RUNNING";
