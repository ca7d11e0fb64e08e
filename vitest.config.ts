import { createRequire } from "node:module";
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
    include: ["tests/**/*.test.ts"],
    // Builds the migrated template database each test file clones.
    globalSetup: ["tests/global-setup.ts"],
    // Child processes rather than threads: tests start servers, sockets and
    // PostgreSQL processes, and a crashed file must not take the others down.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 60_000,
  },
});
