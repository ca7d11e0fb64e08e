import { createRequire } from "node:module";
import solid from "vite-plugin-solid";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

// Vitest 5 formats failed tests with Map.groupBy, which Node 20 lacks: without
// this, a failing run reports "Map.groupBy is not a function" instead of the failures.
const mapWithGroupBy = Map as {
  groupBy?: (items: Iterable<unknown>, keyOf: (item: unknown, index: number) => unknown) => Map<unknown, unknown[]>;
};
mapWithGroupBy.groupBy ??= (items, keyOf) => {
  const groups = new Map<unknown, unknown[]>();
  let index = 0;
  for (const item of items) {
    const key = keyOf(item, index++);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
};

export default defineConfig({
  resolve: {
    // One graphql module for everything: Vite would otherwise load its ESM build for our
    // code while Node loads the CommonJS build for yoga and graphql-tools (two GraphQLError classes).
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    teardownTimeout: 60_000,
    // Two projects: the server's tests in Node against real PostgreSQL, and the
    // dashboard's component tests in jsdom with Solid's compiler.
    projects: [
      {
        extends: true,
        test: {
          name: "server",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/client/**"],
          // Builds the migrated template database each test file clones.
          globalSetup: ["tests/global-setup.ts"],
          // Child processes rather than threads: tests start servers, sockets and
          // PostgreSQL processes, and a crashed file must not take the others down.
          pool: "forks",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        plugins: [solid()],
        test: {
          name: "client",
          include: ["tests/client/**/*.test.{ts,tsx}"],
          environment: "jsdom",
          setupFiles: ["tests/client/setup.ts"],
          testTimeout: 15_000,
        },
      },
    ],
  },
});
