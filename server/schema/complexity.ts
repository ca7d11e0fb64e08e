/**
 * What one GraphQL operation may ask for (the Pothos complexity plugin, checked before any root field resolves).
 * Connections nest (tasks → executions → task → executions…): without a bound, one request of 100 × 100 × 100 rows
 * would cost the database and the server what thousands of dashboard pages do. An operation's complexity is the sum of
 * its fields, each field's selection counted once per row it may return: a connection's `first` or `last` (20 by
 * default, at most 100), 10 for other lists.
 */
import { type GraphQLField, type GraphQLOutputType, getNamedType, isListType, isNonNullType } from "graphql";
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

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

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
  return isList(field.type) ? { field: 1, multiplier: LIST_ROWS } : 1;
}

/** Refused like any bad request: 400, naming the bound. */
export function complexityError(kind: string, result: { complexity: number; depth: number; breadth: number }): Error {
  const measure = kind.toLowerCase() as "complexity" | "depth" | "breadth";
  return new DomainError(
    "BAD_REQUEST",
    `the operation asks for too much: its ${measure} is ${result[measure]}, at most ${QUERY_LIMITS[measure]} (ask for fewer rows per connection, or fewer nested ones)`,
  );
}
