/**
 * Writes the API's two published descriptions, both generated from the Pothos
 * schema: schema.graphql (sorted SDL) and openapi.json (SOFA's REST facade).
 * Tests fail when either checked-in file differs from what this prints.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { OPENAPI_PATH } from "../server/http/rest.js";
import { createGraphQLServer } from "../server/http/yoga.js";
import { createLogger } from "../server/logger.js";
import { schema } from "../server/schema/index.js";

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const SCHEMA_FILE = path.join(projectRoot, "schema.graphql");
export const OPENAPI_FILE = path.join(projectRoot, "openapi.json");

export function renderGraphQLSchema(): string {
  return `${printSchema(schema)}\n`;
}

export async function renderOpenApiDocument(): Promise<string> {
  const yoga = createGraphQLServer({ logger: createLogger({ level: "silent" }), isProduction: true }, null);
  const response = await yoga.fetch(`http://localhost${OPENAPI_PATH}`);
  if (!response.ok) throw new Error(`rendering the OpenAPI document failed with ${response.status}`);
  return `${JSON.stringify(await response.json(), null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await writeFile(SCHEMA_FILE, renderGraphQLSchema());
  await writeFile(OPENAPI_FILE, await renderOpenApiDocument());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)} and ${path.relative(process.cwd(), OPENAPI_FILE)}`);
}
