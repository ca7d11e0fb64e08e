/**
 * Every GraphQL document the dashboard sends is valid against the published
 * schema (schema.graphql): a renamed field or argument on the server fails
 * here, not in a customer's browser.
 */
import { buildSchema, type DocumentNode, validate } from "graphql";
import { describe, expect, it } from "vitest";
import * as account from "../../client/src/graphql/account";
import * as activity from "../../client/src/graphql/activity";
import * as alerts from "../../client/src/graphql/alerts";
import * as endpoints from "../../client/src/graphql/endpoints";
import * as failures from "../../client/src/graphql/failures";
import * as monitors from "../../client/src/graphql/monitors";
import * as queues from "../../client/src/graphql/queues";
import * as settings from "../../client/src/graphql/settings";
import * as tasks from "../../client/src/graphql/tasks";
import schemaSource from "../../schema.graphql?raw";

const schema = buildSchema(schemaSource);
const isDocument = (value: unknown): value is DocumentNode =>
  typeof value === "object" && value !== null && (value as { kind?: string }).kind === "Document";

const documents = Object.entries({ account, activity, alerts, endpoints, failures, monitors, queues, settings, tasks }).flatMap(
  ([domain, module]) =>
    Object.entries(module)
      .filter(([, value]) => isDocument(value))
      .map(([name, value]) => [`${domain}.${name}`, value as DocumentNode] as const),
);

describe("the dashboard's GraphQL documents", () => {
  it("are all found", () => {
    expect(documents.length).toBeGreaterThan(30);
  });

  it.each(documents)("%s is valid against schema.graphql", (_name, document) => {
    expect(validate(schema, document).map((error) => error.message)).toEqual([]);
  });
});
