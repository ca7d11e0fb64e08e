/**
 * The project's directory (the one holding package.json), found the same way
 * whether this module runs from its source (server/) or from the build
 * (dist/server/, see scripts/build-server.mjs), so files that ship beside the
 * code (migrations, the built dashboard) are found from either.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findProjectRoot(start: string): string {
  for (let directory = start; ; directory = dirname(directory)) {
    if (existsSync(join(directory, "package.json"))) return directory;
    if (dirname(directory) === directory) throw new Error(`no package.json above ${start}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the project, e.g. projectPath("prisma", "migrations"). */
export function projectPath(...segments: string[]): string {
  return join(PROJECT_ROOT, ...segments);
}
