/**
 * How errors leave the server: DomainErrors keep their code, message and
 * field; GraphQL's own request errors (bad argument types) become
 * BAD_REQUEST naming the argument; anything else is logged and masked.
 */
import { GraphQLError, Kind } from "graphql";
import { DomainError, type ErrorCode, errorStatus } from "../errors.js";
import type { Logger } from "../logger.js";

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

const VARIABLE_NAME = /Variable "\$([A-Za-z0-9_]+)"/;
const ARGUMENT_NAME = /[Aa]rgument "?([A-Za-z0-9_.]+)"?/;
// A bad value inside a variable: `Variable "$tasks" got invalid value … at "tasks[3].retries"`.
const VARIABLE_PATH = /Variable "\$[A-Za-z0-9_]+" got invalid value .* at "([A-Za-z0-9_.[\]]+)"/s;

/**
 * GraphQL wraps errors (located errors around resolver errors, variable errors
 * around scalar errors), outermost first. Checked by name, not instanceof: a
 * second copy of the graphql package (CJS next to ESM) breaks instanceof.
 */
function errorChain(error: unknown): unknown[] {
  const chain = [error];
  let current = error;
  while (current instanceof Error && "originalError" in current && current.originalError) {
    current = current.originalError;
    chain.push(current);
  }
  return chain;
}

const isGraphQLError = (error: unknown): error is GraphQLError => error instanceof Error && error.name === "GraphQLError";

/** The variable or argument a GraphQL request error is about, from its nodes or its message. */
function fieldOfRequestError(chain: GraphQLError[]): string | undefined {
  for (const error of chain) {
    const path = VARIABLE_PATH.exec(error.message)?.[1];
    if (path) return path;
    const variable = error.nodes?.find((node) => node.kind === Kind.VARIABLE_DEFINITION);
    if (variable?.kind === Kind.VARIABLE_DEFINITION) return variable.variable.name.value;
    const named = VARIABLE_NAME.exec(error.message)?.[1] ?? ARGUMENT_NAME.exec(error.message)?.[1];
    if (named) return named;
  }
  return undefined;
}

/** Which of `after` and `before` the field the error is located at was given (`after` when it cannot tell). */
function cursorArgument(error: GraphQLError | null): "after" | "before" {
  const field = error?.nodes?.find((node) => node.kind === Kind.FIELD);
  const names = field?.kind === Kind.FIELD ? (field.arguments ?? []).map((argument) => argument.name.value) : [];
  return names.includes("before") && !names.includes("after") ? "before" : "after";
}

export function createMaskError(logger: Logger) {
  return function maskError(error: unknown, message: string): Error {
    const chain = errorChain(error);
    const cause = chain[chain.length - 1];
    const outer = isGraphQLError(error) ? error : null;
    const location = { nodes: outer?.nodes, path: outer?.path };
    if (cause instanceof DomainError) {
      return new GraphQLError(cause.message, {
        ...location,
        extensions: {
          code: cause.code,
          ...(cause.field ? { field: cause.field } : {}),
          ...(cause.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: cause.retryAfterSeconds }),
          // Only authentication and throttling change the status of a GraphQL response; REST maps every code.
          ...(cause.code === "UNAUTHENTICATED" ? { http: { status: 401 } } : {}),
          ...(cause.code === "TOO_MANY_REQUESTS"
            ? { http: { status: 429, headers: { "retry-after": String(cause.retryAfterSeconds ?? 60) } } }
            : {}),
        },
      });
    }
    // Pothos checks a connection's arguments as it reads them: a cursor that is not one of its own, a negative
    // first or last. Bad input, never a fault.
    if (cause instanceof Error && cause.name === "PothosValidationError") {
      if (/cursor/i.test(cause.message)) {
        const field = cursorArgument(outer);
        return new GraphQLError(`${field} must be a cursor from this list's pageInfo or edges`, {
          ...location,
          extensions: { code: "VALIDATION_FAILED", field },
        });
      }
      const field = ARGUMENT_NAME.exec(cause.message)?.[1];
      if (field) return new GraphQLError(cause.message, { ...location, extensions: { code: "VALIDATION_FAILED", field } });
    }
    // GraphQL's own errors (syntax, validation, variable coercion) describe the request, not a fault.
    if (chain.every(isGraphQLError)) {
      const errors = chain as GraphQLError[];
      const field = fieldOfRequestError(errors);
      const described = errors[0] as GraphQLError;
      return new GraphQLError(described.message, {
        ...location,
        extensions: { ...described.extensions, code: "BAD_REQUEST", ...(field ? { field } : {}) },
      });
    }
    logger.error({ err: cause, path: outer?.path }, "unexpected error while resolving a request");
    return new GraphQLError(message, { ...location, extensions: { code: "INTERNAL" } });
  };
}

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

/** SOFA's error handler: the first (already masked) GraphQL error decides the REST answer. */
export function restErrorResponse(errors: ReadonlyArray<unknown>): Response {
  const first = errors[0];
  const extensions =
    first instanceof GraphQLError ? first.extensions : ((first as { extensions?: Record<string, unknown> })?.extensions ?? {});
  const message = first instanceof Error ? first.message : "request failed";
  const code = (typeof extensions.code === "string" && extensions.code in errorStatus ? extensions.code : "BAD_REQUEST") as ErrorCode;
  const field = typeof extensions.field === "string" ? extensions.field : undefined;
  const retryAfter: Record<string, string> =
    typeof extensions.retryAfterSeconds === "number" ? { "retry-after": String(extensions.retryAfterSeconds) } : {};
  return jsonResponse(errorStatus[code], errorBody(code, message, field), retryAfter);
}
