/**
 * The REST API at /api/v1: generated from the GraphQL schema by SOFA, so each
 * route runs the same resolver (and service) as its GraphQL field. Only the
 * routes' paths and methods are chosen here.
 */

import { useGraphQlJit } from "@envelop/graphql-jit";
import { filterSchema } from "@graphql-tools/utils";
import { type SofaPluginConfig, useSofa } from "@graphql-yoga/plugin-sofa";
import type { GraphQLSchema } from "graphql";
import type { Plugin } from "graphql-yoga";
import { restErrorResponse } from "./errors.js";

export const REST_BASE_PATH = "/api/v1";
// SOFA resolves these endpoints relative to its base path.
const OPENAPI_ENDPOINT = "/openapi.json";
const SWAGGER_UI_ENDPOINT = "/docs";
export const OPENAPI_PATH = `${REST_BASE_PATH}${OPENAPI_ENDPOINT}`;
export const SWAGGER_UI_PATH = `${REST_BASE_PATH}${SWAGGER_UI_ENDPOINT}`;

export const restRoutes: NonNullable<SofaPluginConfig["routes"]> = {
  "Mutation.pushTask": { method: "POST", path: "/tasks", responseStatus: 201, tags: ["Tasks"] },
  // Body {"tasks": [...], "defaults": {...}}; answers the list of tasks.
  "Mutation.pushTasks": { method: "POST", path: "/tasks/batch", responseStatus: 201, tags: ["Tasks"] },
  "Query.tasks": { method: "GET", path: "/tasks", tags: ["Tasks"] },
  "Query.task": { method: "GET", path: "/tasks/:id", tags: ["Tasks"] },
  "Mutation.cancelTask": { method: "DELETE", path: "/tasks/:id", tags: ["Tasks"] },
  "Mutation.triggerTask": { method: "POST", path: "/tasks/:id/trigger", tags: ["Tasks"] },
  "Mutation.updateTask": { method: "PATCH", path: "/tasks/:id", tags: ["Tasks"] },
  "Mutation.pauseTask": { method: "POST", path: "/tasks/:id/pause", tags: ["Cron"] },
  "Mutation.resumeTask": { method: "POST", path: "/tasks/:id/resume", tags: ["Cron"] },
  "Mutation.updateTaskSchedule": { method: "PATCH", path: "/tasks/:id/schedule", tags: ["Cron"] },
  "Query.nextRuns": { method: "GET", path: "/cron/next-runs", tags: ["Cron"] },
  "Query.executions": { method: "GET", path: "/tasks/:taskId/executions", tags: ["Executions"] },
  "Query.execution": { method: "GET", path: "/executions/:id", tags: ["Executions"] },
  "Query.apiKeys": { method: "GET", path: "/api-keys", tags: ["API keys"] },
  "Mutation.createApiKey": { method: "POST", path: "/api-keys", responseStatus: 201, tags: ["API keys"] },
  "Mutation.revokeApiKey": { method: "DELETE", path: "/api-keys/:id", tags: ["API keys"] },
  "Query.queues": { method: "GET", path: "/queues", tags: ["Queues"] },
  "Query.queue": { method: "GET", path: "/queues/:name", tags: ["Queues"] },
  "Mutation.updateQueue": { method: "PATCH", path: "/queues/:name", tags: ["Queues"] },
  "Mutation.pauseQueue": { method: "POST", path: "/queues/:name/pause", tags: ["Queues"] },
  "Mutation.resumeQueue": { method: "POST", path: "/queues/:name/resume", tags: ["Queues"] },
  "Mutation.cancelQueuedTasks": { method: "DELETE", path: "/tasks", tags: ["Queues"] },
  "Query.organization": { method: "GET", path: "/organization", tags: ["Organization"] },
  "Mutation.setConcurrencyLimit": { method: "PUT", path: "/organization/concurrency-limit", tags: ["Organization"] },
  "Query.failedTasks": { method: "GET", path: "/failed-tasks", tags: ["Failure inbox"] },
  "Mutation.retryTasks": { method: "POST", path: "/tasks/retry", tags: ["Failure inbox"] },
  "Mutation.retryAllFailed": { method: "POST", path: "/tasks/retry-all-failed", tags: ["Failure inbox"] },
  "Mutation.replayExecution": { method: "POST", path: "/executions/:id/replay", responseStatus: 201, tags: ["Failure inbox"] },
  "Mutation.createEndpoint": { method: "POST", path: "/endpoints", responseStatus: 201, tags: ["Inbound webhooks"] },
  "Query.endpoints": { method: "GET", path: "/endpoints", tags: ["Inbound webhooks"] },
  "Query.endpoint": { method: "GET", path: "/endpoints/:id", tags: ["Inbound webhooks"] },
  "Mutation.updateEndpoint": { method: "PATCH", path: "/endpoints/:id", tags: ["Inbound webhooks"] },
  "Mutation.deleteEndpoint": { method: "DELETE", path: "/endpoints/:id", tags: ["Inbound webhooks"] },
  "Query.inboundEvents": { method: "GET", path: "/endpoints/:endpointId/events", tags: ["Inbound webhooks"] },
  "Query.inboundEvent": { method: "GET", path: "/events/:id", tags: ["Inbound webhooks"] },
  "Mutation.replayEvent": { method: "POST", path: "/events/:id/replay", responseStatus: 201, tags: ["Inbound webhooks"] },
  "Mutation.replayEvents": { method: "POST", path: "/events/replay", responseStatus: 201, tags: ["Inbound webhooks"] },
  "Mutation.setInboundRetention": { method: "PUT", path: "/organization/inbound-retention", tags: ["Inbound webhooks"] },
  "Mutation.createMonitor": { method: "POST", path: "/monitors", responseStatus: 201, tags: ["Monitors"] },
  "Query.monitors": { method: "GET", path: "/monitors", tags: ["Monitors"] },
  "Query.monitor": { method: "GET", path: "/monitors/:id", tags: ["Monitors"] },
  "Mutation.updateMonitor": { method: "PATCH", path: "/monitors/:id", tags: ["Monitors"] },
  "Mutation.deleteMonitor": { method: "DELETE", path: "/monitors/:id", tags: ["Monitors"] },
  "Mutation.pauseMonitor": { method: "POST", path: "/monitors/:id/pause", tags: ["Monitors"] },
  "Mutation.resumeMonitor": { method: "POST", path: "/monitors/:id/resume", tags: ["Monitors"] },
  "Query.monitorPings": { method: "GET", path: "/monitors/:monitorId/pings", tags: ["Monitors"] },
  "Query.alertChannels": { method: "GET", path: "/alert-channels", tags: ["Alerts"] },
  "Mutation.createAlertChannel": { method: "POST", path: "/alert-channels", responseStatus: 201, tags: ["Alerts"] },
  "Mutation.updateAlertChannel": { method: "PATCH", path: "/alert-channels/:id", tags: ["Alerts"] },
  "Mutation.deleteAlertChannel": { method: "DELETE", path: "/alert-channels/:id", tags: ["Alerts"] },
  "Mutation.testAlertChannel": { method: "POST", path: "/alert-channels/:id/test", responseStatus: 201, tags: ["Alerts"] },
  "Query.notifications": { method: "GET", path: "/notifications", tags: ["Alerts"] },
  "Query.alertRoute": { method: "GET", path: "/alert-routes/:resourceType/:resourceId", tags: ["Alerts"] },
  "Mutation.setAlertRoute": { method: "PUT", path: "/alert-routes/:resourceType/:resourceId", tags: ["Alerts"] },
  "Query.statusPage": { method: "GET", path: "/status-page", tags: ["Status page"] },
  "Mutation.setStatusPage": { method: "PUT", path: "/status-page", tags: ["Status page"] },
  "Mutation.deleteStatusPage": { method: "DELETE", path: "/status-page", tags: ["Status page"] },
  "Query.publicResources": { method: "GET", path: "/public-resources", tags: ["Status page"] },
  "Mutation.publishResource": { method: "PUT", path: "/public-resources/:resourceType/:resourceId", tags: ["Status page"] },
  "Mutation.unpublishResource": { method: "DELETE", path: "/public-resources/:resourceType/:resourceId", tags: ["Status page"] },
  "Query.signingSecrets": { method: "GET", path: "/signing-secrets", tags: ["Signing secrets"] },
  "Query.activityStats": { method: "GET", path: "/activity-stats", tags: ["Activity"] },
  "Mutation.rotateSigningSecret": { method: "POST", path: "/signing-secrets/rotate", tags: ["Signing secrets"] },
  "Query.members": { method: "GET", path: "/members", tags: ["Members"] },
  "Mutation.updateMemberRole": { method: "PATCH", path: "/members/:userId", tags: ["Members"] },
  "Mutation.removeMember": { method: "DELETE", path: "/members/:userId", tags: ["Members"] },
  "Query.invites": { method: "GET", path: "/invites", tags: ["Members"] },
  "Mutation.createInvite": { method: "POST", path: "/invites", responseStatus: 201, tags: ["Members"] },
  "Mutation.revokeInvite": { method: "DELETE", path: "/invites/:id", tags: ["Members"] },
};

/**
 * Relations that have routes of their own. Left out of REST bodies, a task
 * carries no executions (GET /tasks/{id}/executions lists them) and an
 * execution names its task by taskId.
 */
const FIELDS_NOT_IN_REST = new Set([
  "Task.executions",
  "Task.callbacks",
  "Execution.task",
  "PushTasksPayload.tasks",
  // Signing in and moving between organisations are for browser sessions (GraphQL, with cookies), not API keys.
  "Query.setupStatus",
  "Query.viewer",
  "Mutation.signUp",
  "Mutation.logIn",
  "Mutation.logOut",
  "Mutation.switchOrganization",
  "Mutation.createOrganization",
  "Mutation.acceptInvite",
  "InboundDelivery.task",
  "Monitor.pings",
  // A list of 20 events of 1 MiB would carry every body twice; REST has `body`, GraphQL both.
  "InboundEvent.bodyBase64",
]);

/** SOFA reduces nested objects with an id to that id; these (a new key, a new invite) are returned whole. */
export const SOFA_IGNORE = ["CreatedApiKey.apiKey", "CreatedInvite.invite"];

export function restPlugin(): Plugin {
  const plugin = useSofa({
    basePath: REST_BASE_PATH,
    routes: restRoutes,
    ignore: SOFA_IGNORE,
    // fets types its own Response; the standard one is what it receives at run time.
    // JSON Schema for the custom scalars, so the OpenAPI document describes (and validates) them.
    customScalars: {
      DateTime: { type: "string", format: "date-time", example: "2026-12-01T09:00:00Z" },
      Delay: { oneOf: [{ type: "string", example: "5m" }, { type: "number" }] },
      JSON: { description: "Any JSON value." },
      JSONObject: { type: "object" },
    },
    errorHandler: (errors) => restErrorResponse(errors) as unknown as ReturnType<NonNullable<SofaPluginConfig["errorHandler"]>>,
    openAPI: {
      endpoint: OPENAPI_ENDPOINT,
      info: {
        title: "Runlater REST API",
        version: "1.0.0",
        description:
          "Push delayed HTTP tasks and inspect their executions. Authenticate with `Authorization: Bearer <API key>` " +
          "(or the dashboard's session cookie, with the `X-CSRF-Token` header on requests other than GET). " +
          "Every route mirrors a GraphQL field at /graphql. Errors answer `{ error: { code, message, field } }`.",
      },
      // Paths in the document are relative to the base path.
      servers: [{ url: REST_BASE_PATH }],
      components: {
        securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "An API key, e.g. rl_…" } },
      },
    },
    swaggerUI: { endpoint: SWAGGER_UI_ENDPOINT },
  });
  const buildSofa = plugin.onSchemaChange;
  return { ...plugin, onSchemaChange: (payload) => buildSofa?.({ ...payload, schema: restSchema(payload.schema) }) };
}

/** The schema SOFA builds the REST routes from: the GraphQL schema without the fields REST leaves out. */
export function restSchema(schema: GraphQLSchema): GraphQLSchema {
  return filterSchema({
    schema,
    rootFieldFilter: (operation, fieldName) => !FIELDS_NOT_IN_REST.has(`${operation}.${fieldName}`),
    objectFieldFilter: (typeName, fieldName) => !FIELDS_NOT_IN_REST.has(`${typeName}.${fieldName}`),
  });
}

/** Whether Yoga runs `request` as a REST route (an operation SOFA generated), not a client's own document. */
export function isRestRequest(request: Request | undefined): boolean {
  return request !== undefined && new URL(request.url).pathname.startsWith(`${REST_BASE_PATH}/`);
}

/**
 * REST routes execute their operation compiled by graphql-jit: a push spends
 * about a quarter less CPU in the server, a batch of 1,000 a fifth less (its
 * variable coercion is generated code instead of graphql-js walking each input
 * object; `npm run bench -- --only=1,2`). Only REST: SOFA's documents take every
 * value as a variable and REST bodies are checked against the OpenAPI schema
 * before they run, so graphql-jit's terser coercion errors (no path to the bad
 * field) and its lack of variables inside literals of custom scalars never show.
 * /graphql keeps graphql-js.
 */
export function restCompiledExecution(): ReturnType<typeof useGraphQlJit> {
  return useGraphQlJit(
    {},
    {
      // Decided once per request, as the context is built (yoga.ts).
      enableIf: (args) => (args.contextValue as { restRoute?: boolean }).restRoute === true,
    },
  );
}
