/** The GraphQL server (Yoga) with the REST facade plugged in. */
import { createYoga } from "graphql-yoga";
import { DomainError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { LiveEventHub } from "../realtime/live-event-hub.js";
import { useSharedSubscriptionResults } from "../realtime/shared-subscription-results.js";
import type { Services } from "../runtime.js";
import { useSubscriptionLimits } from "../schema/complexity.js";
import { schema } from "../schema/index.js";
import type { Principal } from "../services/api-keys.js";
import { createMaskError } from "./errors.js";
import { isRestRequest, restCompiledExecution, restPlugin } from "./rest.js";
import { useWellFormedText } from "./well-formed-text.js";

export const GRAPHQL_PATH = "/graphql";

/** What the HTTP layer hands to Yoga with each request. */
export interface ServerContext {
  /** Null for anonymous requests, which only the public fields (signUp, logIn, setupStatus, viewer) accept. */
  principal: Principal | null;
  /** The client's address (login throttling). */
  clientAddress: string;
  /** Set-Cookie values resolvers ask for (logIn, logOut); the HTTP layer adds them to the response. */
  responseCookies: string[];
  /** Set for operations over a WebSocket connection. */
  dropSlowConsumer?: () => void;
}

/**
 * `services` is null only for a server that describes the API without running
 * it (scripts/print-schema.ts renders the OpenAPI document that way).
 */
export function createGraphQLServer(
  settings: { logger: Logger; isProduction: boolean },
  services: Services | null,
  live: LiveEventHub | null = null,
) {
  const { logger } = settings;
  return createYoga<ServerContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: !settings.isProduction,
    landingPage: false,
    cors: false,
    maskedErrors: { maskError: createMaskError(logger) },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(" ")),
      info: (...args) => logger.info(args.map(String).join(" ")),
      warn: (...args) => logger.warn(args.map(String).join(" ")),
      error: (...args) => logger.error(args.map(String).join(" ")),
    },
    context: (initialContext) => {
      if (!services) throw new Error("this GraphQL server only describes the API; it cannot execute operations");
      const principal = initialContext.principal;
      // Fail closed: any field that reads `context.principal` refuses anonymous callers. Defined on
      // the context object itself, because Yoga merges what this returns with Object.assign, which
      // would read (and so trigger) a getter.
      Object.defineProperty(initialContext, "principal", {
        configurable: true,
        enumerable: false,
        get: () => {
          if (!principal) throw new DomainError("UNAUTHENTICATED", "sign in, or send an API key as `Authorization: Bearer <key>`");
          return principal;
        },
      });
      return {
        services,
        live,
        dropSlowConsumer: initialContext.dropSlowConsumer,
        optionalPrincipal: principal,
        restRoute: isRestRequest(initialContext.request),
        clientAddress: initialContext.clientAddress ?? "unknown",
        responseCookies: initialContext.responseCookies ?? [],
      };
    },
    plugins: [restPlugin(), restCompiledExecution(), useWellFormedText(), useSharedSubscriptionResults(), useSubscriptionLimits()],
  });
}
