/**
 * Checks REST request bodies against the OpenAPI document before SOFA turns
 * them into GraphQL variables. SOFA's own coercion reports a bad value without
 * naming it ("Int cannot represent non-integer value"); this names the field.
 * Rules beyond the shape (ranges, URLs, limits) are the services' to check.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { DomainError } from "../errors.js";

interface OpenApiDocument {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: object }> } }>>;
  components?: { schemas?: Record<string, object> };
}

interface RouteValidator {
  method: string;
  pattern: RegExp;
  validate: ValidateFunction;
}

export type RestBodyValidator = (method: string, path: string, body: unknown) => void;

export function createRestBodyValidator(document: OpenApiDocument, basePath: string): RestBodyValidator {
  // Formats (date-time…) are left to the services, whose messages are more specific.
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: false });
  ajv.addSchema(withInt32Ranges({ components: document.components ?? {} }), "openapi");
  const routes: RouteValidator[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const schema = operation.requestBody?.content?.["application/json"]?.schema;
      if (!schema) continue;
      const pattern = new RegExp(`^${basePath}${path.replace(/\{[^/]+\}/g, "[^/]+")}$`);
      const refsResolved = withInt32Ranges(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')));
      // SOFA also lists path parameters among the body's required properties; they come from the path.
      const pathParameters = [...path.matchAll(/\{([^/]+)\}/g)].map((match) => match[1]);
      if (Array.isArray(refsResolved.required)) {
        refsResolved.required = refsResolved.required.filter((name: string) => !pathParameters.includes(name));
      }
      routes.push({ method: method.toUpperCase(), pattern, validate: ajv.compile(refsResolved) });
    }
  }
  return (method, path, body) => {
    const route = routes.find((candidate) => candidate.method === method && candidate.pattern.test(path));
    if (!route || route.validate(body ?? {})) return;
    const [error] = route.validate.errors ?? [];
    if (error) throw toDomainError(error);
  };
}

/**
 * GraphQL's Int is 32 bits: a larger integer is refused here, naming its field,
 * instead of by GraphQL's coercion, whose message does not.
 */
function withInt32Ranges<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema).replaceAll('"format":"int32"', '"minimum":-2147483648,"maximum":2147483647'));
}

function toDomainError(error: ErrorObject): DomainError {
  const segments = error.instancePath
    .split("/")
    .filter(Boolean)
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"));
  if (error.keyword === "required") segments.push(String(error.params.missingProperty));
  // Array items as in the services' errors: tasks[3].retries.
  const field =
    segments.map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index > 0 ? `.${segment}` : segment)).join("") || "body";
  const allowed = error.keyword === "enum" ? `: ${(error.params.allowedValues as unknown[]).join(", ")}` : "";
  const message = error.keyword === "required" ? `${field} is required` : `${field} ${error.message ?? "is invalid"}${allowed}`;
  return new DomainError("BAD_REQUEST", message, { field });
}
