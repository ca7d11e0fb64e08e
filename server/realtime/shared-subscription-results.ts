/**
 * Subscription events are executed once per distinct subscription, not once
 * per subscriber.
 *
 * LiveEventHub hands one event object to every subscriber of its topic.
 * Executing a subscription's selection on that object depends only on the
 * object and on what the operation can read: its document, operation name and
 * variables, and the caller (principal, request host). Subscribers that agree
 * on all of these — the "sharing key" — get the same result, so it is computed
 * by whichever of them reads the event first and reused by the others: 1,000
 * dashboards in 10 organisations cost 10 executions per event, not 1,000
 * (measured with bench/realtime.ts, see README "Live updates").
 *
 * Only the per-event execution is shared. Every subscriber keeps its own
 * source stream — its own `subscribe` resolver (authorisation, not-found
 * checks, first values such as queueStats' current state) and its own bounded
 * buffer — so a slow subscriber is still dropped alone, and a value unique to
 * one subscriber (a first value) simply finds no shared result. Results hang
 * off the event object (a WeakMap): they are collected with the event once the
 * last subscriber has consumed it, and nothing else is kept.
 */
import { createSourceEventStream, type ExecutionArgs, type ExecutionResult, execute, print } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Principal } from "../services/api-keys.js";

type MaybePromise<T> = T | Promise<T>;

/** The part of the GraphQL context an event's execution can read that differs between subscribers. */
interface CallerContext {
  optionalPrincipal?: Principal | null;
  request?: Request;
}

/**
 * What two subscriptions must agree on to share results: everything an
 * execution reads that can differ between callers. The whole principal is
 * included (not only its organisation), so a field that ever depends on the
 * caller's role or identity can never leak between callers.
 */
export function sharingKey(args: Pick<ExecutionArgs, "document" | "operationName" | "variableValues" | "contextValue">): string {
  const context = (args.contextValue ?? {}) as CallerContext;
  const principal = context.optionalPrincipal ?? null;
  const host = context.request?.headers.get("host") ?? null;
  const document = args.document.loc?.source.body ?? print(args.document);
  return JSON.stringify([
    principal && [principal.via, principal.organizationId, principal.apiKeyId, principal.userId, principal.role, principal.sessionId],
    host,
    args.operationName ?? null,
    args.variableValues ?? null,
    document,
  ]);
}

/**
 * A Yoga plugin: subscriptions (over WebSocket and server-sent events) share
 * each event's execution result among subscribers with the same sharing key.
 */
export function useSharedSubscriptionResults(): Plugin {
  const resultsByEvent = new WeakMap<object, Map<string, MaybePromise<ExecutionResult>>>();

  const resultFor = (args: ExecutionArgs, key: string, event: unknown): MaybePromise<ExecutionResult> => {
    if (typeof event !== "object" || event === null) return execute({ ...args, rootValue: event });
    let results = resultsByEvent.get(event);
    if (!results) {
      results = new Map();
      resultsByEvent.set(event, results);
    }
    let result = results.get(key);
    if (result === undefined) {
      result = execute({ ...args, rootValue: event });
      results.set(key, result);
    }
    return result;
  };

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const key = sharingKey(args);
      setSubscribeFn(async (subscribeArgs: ExecutionArgs) => {
        const source = await createSourceEventStream(subscribeArgs);
        if (!(Symbol.asyncIterator in source)) return source;
        return mapEvents(source[Symbol.asyncIterator](), (event) => resultFor(subscribeArgs, key, event));
      });
    },
  };
}

/** `source` with each value mapped by `toResult`; closing it closes the source. */
function mapEvents<T>(source: AsyncIterator<unknown>, toResult: (event: unknown) => MaybePromise<T>): AsyncIterableIterator<T> {
  const close = async (): Promise<IteratorResult<T, undefined>> => {
    await source.return?.();
    return { value: undefined, done: true };
  };
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      const step = await source.next();
      if (step.done) return { value: undefined, done: true };
      return { value: await toResult(step.value), done: false };
    },
    return: close,
    async throw(error: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
