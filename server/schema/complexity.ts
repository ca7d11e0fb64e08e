/**
 * What one GraphQL operation may ask for (the Pothos complexity plugin, checked before any root field resolves).
 * Connections nest (tasks → executions → task → executions…): without a bound, one request of 100 × 100 × 100 rows
 * would cost the database and the server what thousands of dashboard pages do. An operation's complexity is the sum of
 * its fields, each field's selection counted once per row it may return: a connection's `first` or `last` (20 by
 * default, at most 100), 10 for other lists.
 */
import { complexityFromQuery } from "@pothos/plugin-complexity";
import { type DocumentNode, GraphQLError, type GraphQLField, getNamedType, getNullableType, isListType, Kind } from "graphql";
import type { Plugin } from "graphql-yoga";
import { DomainError } from "../errors.js";

/** The rows a connection returns when neither `first` nor `last` is given, and at most (as in every connection here). */
const CONNECTION_PAGE = { default: 20, max: 100 };
/** What a list other than a connection's edges is assumed to hold. */
const LIST_ROWS = 10;

/**
 * The bounds: about seven times what the dashboard's costliest operation asks for (the failure inbox at 100 rows:
 * complexity 2,901, depth 7, breadth 30; tests/server/query-limits.test.ts measures every dashboard document), while a
 * page of 100 tasks with 100 attempts each is refused.
 */
export const QUERY_LIMITS = { complexity: 20_000, depth: 12, breadth: 500 };

/** Each field costs 1; its selection counts once per row it may return. */
export function fieldComplexity<Context>(
  args: Record<string, unknown>,
  _context: Context,
  field: GraphQLField<unknown, Context, Record<string, unknown>>,
): number | { field: number; multiplier: number } {
  const named = getNamedType(field.type).name;
  if (named.endsWith("Connection") && field.args.some((arg) => arg.name === "first")) {
    const requested = Number(args.first ?? args.last ?? CONNECTION_PAGE.default);
    return { field: 1, multiplier: Math.min(Math.max(requested, 0), CONNECTION_PAGE.max) };
  }
  // A connection's edges are its page, already counted by the connection.
  if (named.endsWith("Edge")) return { field: 1, multiplier: 1 };
  return isListType(getNullableType(field.type)) ? { field: 1, multiplier: LIST_ROWS } : 1;
}

type Measure = keyof typeof QUERY_LIMITS;

/**
 * The bounds for an operation of this request. A REST route's operation is SOFA's, generated from the schema with
 * pages of at most 100 (the largest, inboundEvents, measures about 7,100; tests/server/query-limits.test.ts builds every
 * route's operation as SOFA does and holds it to half the bound): not measured, which saves every push the
 * measure's 20–30 µs (a tenth of a push's CPU in the server).
 */
export function operationLimits(context: { restRoute?: boolean }): Partial<typeof QUERY_LIMITS> {
  return context.restRoute ? {} : QUERY_LIMITS;
}

/** Refused like any bad request: 400, naming the bound. `kind` is the measure ("Depth" from the plugin, or "depth"). */
export function complexityError(kind: string, result: Record<Measure, number>): DomainError {
  const measure = kind.toLowerCase() as Measure;
  return new DomainError(
    "BAD_REQUEST",
    `the operation asks for too much: its ${measure} is ${result[measure]}, at most ${QUERY_LIMITS[measure]} (ask for fewer rows per connection, or fewer nested ones)`,
  );
}

/**
 * The plugin checks an operation as its root fields resolve, which for a subscription is each event, after it was
 * accepted: subscriptions are measured here as they start instead (over WebSocket and server-sent events alike).
 */
export function useSubscriptionLimits(): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      // Only the operation that runs (and the fragments), whatever else the document holds.
      const given: DocumentNode = args.document;
      const document: DocumentNode = {
        ...given,
        definitions: given.definitions.filter(
          (definition) =>
            definition.kind === Kind.FRAGMENT_DEFINITION ||
            (definition.kind === Kind.OPERATION_DEFINITION && (!args.operationName || definition.name?.value === args.operationName)),
        ),
      };
      let measured: Record<Measure, number>;
      try {
        measured = complexityFromQuery(document, { schema: args.schema, variables: args.variableValues ?? {}, ctx: args.contextValue });
      } catch {
        return; // Invalid variables: the subscription itself reports them.
      }
      const exceeded = (Object.keys(QUERY_LIMITS) as Measure[]).find((measure) => measured[measure] > QUERY_LIMITS[measure]);
      if (exceeded) {
        const refusal = complexityError(exceeded, measured);
        // Set as a result, it skips the error masking a thrown error gets: the code is given here.
        setResultAndStopExecution({ errors: [new GraphQLError(refusal.message, { extensions: { code: refusal.code } })] });
      }
    },
  };
}
