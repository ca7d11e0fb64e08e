/** schema.graphql and openapi.json are generated (npm run schema); a stale copy fails here. */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { OPENAPI_FILE, renderGraphQLSchema, renderOpenApiDocument, SCHEMA_FILE } from "../../scripts/print-schema.js";

describe("published API descriptions", () => {
  it("schema.graphql matches the Pothos schema (run `npm run schema` after changing it)", async () => {
    expect(await readFile(SCHEMA_FILE, "utf8")).toBe(renderGraphQLSchema());
  });

  it("openapi.json matches the REST facade (run `npm run schema` after changing it)", async () => {
    expect(await readFile(OPENAPI_FILE, "utf8")).toBe(await renderOpenApiDocument());
  });

  it("describes every field, argument and enum value", async () => {
    const { schema } = await import("../../server/schema/index.js");
    const undocumented: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith("__") || ["String", "Int", "Float", "Boolean", "ID"].includes(type.name)) continue;
      if (!type.description && !type.name.endsWith("Connection") && !type.name.endsWith("Edge") && type.name !== "PageInfo") {
        undocumented.push(type.name);
      }
      if (!("getFields" in type) || type.name === "PageInfo" || /Connection$|Edge$/.test(type.name)) continue;
      for (const field of Object.values(type.getFields())) {
        if (!field.description) undocumented.push(`${type.name}.${field.name}`);
        for (const arg of "args" in field ? field.args : []) {
          // Relay's pagination arguments are standard.
          if (!arg.description && !["first", "last", "after", "before"].includes(arg.name))
            undocumented.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  it("the REST facade exposes the documented routes", async () => {
    const document = JSON.parse(await renderOpenApiDocument()) as {
      paths: Record<string, Record<string, unknown>>;
      servers: Array<{ url: string }>;
    };
    const routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(document.servers[0]?.url).toBe("/api/v1");
    expect(routes).toEqual(
      expect.arrayContaining([
        "POST /tasks",
        "GET /tasks",
        "GET /tasks/{id}",
        "DELETE /tasks/{id}",
        "POST /tasks/{id}/trigger",
        "GET /tasks/{taskId}/executions",
        "GET /executions/{id}",
        "GET /signing-secrets",
        "POST /signing-secrets/rotate",
        "GET /api-keys",
        "POST /api-keys",
        "DELETE /api-keys/{id}",
      ]),
    );
  });
});
