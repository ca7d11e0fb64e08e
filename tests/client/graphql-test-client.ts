/**
 * A urql client for component tests: queries and mutations are answered by
 * the test's responders (by operation name), and subscription events are
 * pushed by the test with `emit`. End-to-end tests cover the real server.
 */
import { Client, type Exchange, getOperationName, makeResult, type Operation } from "@urql/core";
import { delay, filter, fromValue, makeSubject, map, merge, mergeMap, pipe, share, takeUntil } from "wonka";

export interface TestAnswer {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export type Responder = (variables: Record<string, unknown>) => TestAnswer;

export function createTestClient(responders: Record<string, Responder>) {
  const events = makeSubject<{ operationName: string; data: unknown }>();
  const operations: Array<{ name: string; kind: string; variables: Record<string, unknown> }> = [];

  const exchange: Exchange = () => (operations$) => {
    const shared = pipe(operations$, share);
    const teardownOf = (operation: Operation) =>
      pipe(
        shared,
        filter((candidate) => candidate.kind === "teardown" && candidate.key === operation.key),
      );
    const answered = pipe(
      shared,
      filter((operation) => operation.kind === "query" || operation.kind === "mutation"),
      mergeMap((operation) => {
        const name = getOperationName(operation.query) ?? "";
        operations.push({ name, kind: operation.kind, variables: operation.variables as Record<string, unknown> });
        const responder = responders[name];
        const answer: TestAnswer = responder
          ? responder(operation.variables as Record<string, unknown>)
          : { errors: [{ message: `no responder for ${name}` }] };
        // Answers arrive on a later tick, as over the network.
        return pipe(
          fromValue(makeResult(operation, { data: answer.data ?? null, errors: answer.errors })),
          delay(1),
          takeUntil(teardownOf(operation)),
        );
      }),
    );
    const subscribed = pipe(
      shared,
      filter((operation) => operation.kind === "subscription"),
      mergeMap((operation) => {
        const name = getOperationName(operation.query) ?? "";
        operations.push({ name, kind: operation.kind, variables: operation.variables as Record<string, unknown> });
        return pipe(
          events.source,
          filter((event) => event.operationName === name),
          map((event) => makeResult(operation, { data: event.data as Record<string, unknown> })),
          takeUntil(teardownOf(operation)),
        );
      }),
    );
    return merge([answered, subscribed]);
  };

  const client = new Client({ url: "http://runlater.test/graphql", exchanges: [exchange] });
  return {
    client,
    /** Every operation the components ran, in order. */
    operations,
    /** Delivers a subscription event to every active subscription with this operation name. */
    emit: (operationName: string, data: unknown) => events.next({ operationName, data }),
  };
}
