// Runs `prisma generate` without network access. The Prisma CLI looks for its
// native schema engine before generating and downloads it when missing; the
// client (engineType "client", pg driver adapter) never needs it, so we point
// PRISMA_SCHEMA_ENGINE_BINARY at a stub that only answers `--version`.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const stubDirectory = join(projectRoot, "node_modules", ".cache", "runlater");
const schemaEngineStub = join(stubDirectory, "schema-engine-stub");

mkdirSync(stubDirectory, { recursive: true });
writeFileSync(schemaEngineStub, '#!/bin/sh\necho "schema-engine-cli 0.0.0-offline-stub"\n');
chmodSync(schemaEngineStub, 0o755);

const prismaCli = join(projectRoot, "node_modules", "prisma", "build", "index.js");
const result = spawnSync(process.execPath, [prismaCli, "generate"], {
  cwd: projectRoot,
  stdio: "inherit",
  env: {
    ...process.env,
    // Generators such as `prisma-pothos-types` are resolved on PATH, which only
    // npm scripts extend with node_modules/.bin.
    PATH: [join(projectRoot, "node_modules", ".bin"), process.env.PATH].join(delimiter),
    CHECKPOINT_DISABLE: "1",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    PRISMA_SCHEMA_ENGINE_BINARY: schemaEngineStub,
  },
});
process.exit(result.status ?? 1);
