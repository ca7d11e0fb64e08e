/**
 * What one GraphQL operation may ask for (server/schema/complexity.ts): nested connections beyond the bounds are
 * refused before anything resolves, with a message naming the bound; everything the dashboard sends, at its largest
 * pages, stays well within them.
 */
import { readdirSync } from "node:fs";
import { buildOperationNodeForField } from "@graphql-tools/utils";
import { complexityFromQuery } from "@pothos/plugin-complexity";
import {
  type DocumentNode,
  type GraphQLInputType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  OperationTypeNode,
  typeFromAST,
} from "graphql";
import { createSofa } from "sofa-api";
import { describe, expect, it } from "vitest";
import { REST_BASE_PATH, restSchema, SOFA_IGNORE } from "../../server/http/rest.js";
import { QUERY_LIMITS } from "../../server/schema/complexity.js";
import { schema } from "../../server/schema/index.js";
import { useLiveSubscriptions } from "../helpers/live.js";
import { ALICE_KEY, eventually, graphql, rest, useTestInstance } from "../helpers/runlater.js";

const runlater = useTestInstance();
const live = useLiveSubscriptions(() => runlater.instance.url as string);

/** `executions` of each task, `levels` times over: tasks → executions → task → executions… */
function nestedAttempts(pageSize: number, levels: number): string {
  let selection = "id";
  for (let level = 0; level < levels; level++) selection = `id task { executions(first: ${pageSize}) { edges { node { ${selection} } } } }`;
  return `{ tasks(first: ${pageSize}) { edges { node { id executions(first: ${pageSize}) { edges { node { ${selection} } } } } } } }`;
}

describe("GraphQL operation limits", () => {
  it("refuses 100 tasks with 100 attempts each, naming the bound, before anything runs", async () => {
    await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: "https://example.com/", delay: "1h" });
    const refused = await graphql(runlater.instance, ALICE_KEY, nestedAttempts(100, 0));
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect(refused.errors?.[0]?.message).toMatch(
      new RegExp(`complexity is \\d+, at most ${QUERY_LIMITS.complexity.toLocaleString("en-US").replace(/,/g, "")}`),
    );
    // The same shape with small pages is answered.
    const answered = await graphql<{ tasks: { edges: unknown[] } }>(runlater.instance, ALICE_KEY, nestedAttempts(10, 0));
    expect(answered.errors).toBeUndefined();
    expect(answered.data?.tasks.edges).toHaveLength(1);
  });

  it("refuses connections nested deeper than the depth bound, however small their pages", async () => {
    const refused = await graphql(runlater.instance, ALICE_KEY, nestedAttempts(1, 3));
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe("BAD_REQUEST");
    expect(refused.errors?.[0]?.message).toMatch(new RegExp(`depth is \\d+, at most ${QUERY_LIMITS.depth}`));
  });

  it("refuses a subscription beyond the bounds when it starts, not event by event", async () => {
    const nested = "executions(first: 100) { edges { node { id task { executions(first: 100) { edges { node { id } } } } } } }";
    const subscription = live(ALICE_KEY, `subscription { executionUpdates { id task { ${nested} } } }`);
    const [refusal] = await eventually(async () => (subscription.errors.length > 0 ? subscription.errors : undefined));
    expect(String((refusal as { message?: string }).message)).toMatch(/complexity is \d+, at most/);
    expect((refusal as { extensions?: { code?: string } }).extensions?.code).toBe("BAD_REQUEST");
    // Nothing was registered: a push later sends it nothing.
    await rest(runlater.instance, ALICE_KEY, "POST", "/tasks", { url: "https://example.com/", delay: "1h" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(subscription.events).toEqual([]);
    expect(subscription.errors).toHaveLength(1);
  });

  it("answers a REST list of 100 tasks (SOFA's operation is measured like any other)", async () => {
    const listed = await rest<unknown[]>(runlater.instance, ALICE_KEY, "GET", "/tasks?first=100");
    expect(listed.status).toBe(200);
  });
});

/** A value `type` accepts, for the variables the measure needs but does not look at (ids, inputs). */
function sampleValue(type: GraphQLInputType): unknown {
  const nullable = getNullableType(type);
  if (isListType(nullable)) return [sampleValue(nullable.ofType)];
  if (isEnumType(nullable)) return nullable.getValues()[0]?.value;
  if (isInputObjectType(nullable)) {
    const required = Object.values(nullable.getFields()).filter((field) => isNonNullType(field.type));
    return Object.fromEntries(required.map((field) => [field.name, sampleValue(field.type)]));
  }
  const samples: Record<string, unknown> = {
    Int: 1,
    Float: 1,
    Boolean: true,
    DateTime: "2030-01-01T00:00:00Z",
    Delay: "1m",
    JSONObject: {},
  };
  return samples[nullable.name] ?? "x";
}

/** Variables for `document`'s operation: page sizes at their largest, anything else a valid placeholder. */
function largestVariables(document: DocumentNode): Record<string, unknown> {
  const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  return Object.fromEntries(
    (operation.variableDefinitions ?? []).map((definition) => {
      const name = definition.variable.name.value;
      if (/^(first|last|limit)$/.test(name)) return [name, 100];
      return [name, sampleValue(typeFromAST(schema, definition.type) as GraphQLInputType)];
    }),
  );
}

const isDocument = (value: unknown): value is DocumentNode =>
  typeof value === "object" && value !== null && (value as { kind?: string }).kind === Kind.DOCUMENT;
/** Every document the dashboard sends (client/src/graphql), loaded at run time: the client compiles on its own terms. */
const graphqlDirectory = new URL("../../client/src/graphql/", import.meta.url);
const documents = (
  await Promise.all(
    readdirSync(graphqlDirectory).map(async (file) => {
      const module: Record<string, unknown> = await import(new URL(file, graphqlDirectory).pathname);
      return Object.entries(module)
        .filter(([, value]) => isDocument(value))
        .map(([name, value]) => [`${file}: ${name}`, value as DocumentNode] as const);
    }),
  )
).flat();

describe("the dashboard's GraphQL documents", () => {
  it("are all found", () => {
    expect(documents.length).toBeGreaterThan(50);
  });

  it.each(documents)("%s stays within a fifth of the bounds at its largest pages", (_name, document) => {
    const measured = complexityFromQuery(document, { schema, variables: largestVariables(document), ctx: {} });
    expect(measured.complexity).toBeLessThanOrEqual(QUERY_LIMITS.complexity / 5);
    expect(measured.depth).toBeLessThanOrEqual(QUERY_LIMITS.depth - 3);
    expect(measured.breadth).toBeLessThanOrEqual(QUERY_LIMITS.breadth / 5);
  });
});

/**
 * REST routes are not measured (operationLimits): their operations are SOFA's, built here exactly as SOFA builds them
 * (the REST schema, its models and ignore list), and must stay within the bounds at their largest pages.
 */
describe("the REST routes' operations", () => {
  const sofa = createSofa({ basePath: REST_BASE_PATH, schema: restSchema(schema), ignore: SOFA_IGNORE });
  const operations = [OperationTypeNode.QUERY, OperationTypeNode.MUTATION].flatMap((kind) =>
    Object.keys((kind === OperationTypeNode.QUERY ? sofa.schema.getQueryType() : sofa.schema.getMutationType())?.getFields() ?? {}).map(
      (field) => {
        const operation = buildOperationNodeForField({
          kind,
          schema: sofa.schema,
          field,
          models: sofa.models,
          ignore: sofa.ignore,
          circularReferenceDepth: sofa.depthLimit,
        });
        return [`${kind} ${field}`, { kind: Kind.DOCUMENT, definitions: [operation] } as DocumentNode] as const;
      },
    ),
  );

  it("are all found", () => {
    expect(operations.length).toBeGreaterThan(50);
  });

  it.each(operations)("%s stays within the bounds at its largest pages", (_name, document) => {
    const measured = complexityFromQuery(document, { schema, variables: largestVariables(document), ctx: {} });
    expect(measured.complexity).toBeLessThanOrEqual(QUERY_LIMITS.complexity / 2);
    expect(measured.depth).toBeLessThanOrEqual(QUERY_LIMITS.depth);
    expect(measured.breadth).toBeLessThanOrEqual(QUERY_LIMITS.breadth);
  });
});
