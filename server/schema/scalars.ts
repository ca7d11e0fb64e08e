/**
 * Custom scalars. Input scalars are deliberately lenient: values reach the
 * services, which validate them and name the field in their errors (a 422
 * with a helpful message beats a generic coercion error).
 */
import { GraphQLScalarType, Kind, type ValueNode } from "graphql";

function literalToJson(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((value) => literalToJson(value, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, literalToJson(field.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      return undefined;
  }
}

export const DateTimeScalar = new GraphQLScalarType<Date | string, string>({
  name: "DateTime",
  description: 'An ISO 8601 date-time with a time zone, e.g. "2026-12-01T09:00:00.000Z".',
  // Also called by SOFA on REST input, so a malformed string passes through to the service's validation.
  serialize: (value) => (value instanceof Date ? value.toISOString() : String(value)),
  parseValue: (value) => value as string,
  parseLiteral: (node) => literalToJson(node) as string,
});

export const DelayScalar = new GraphQLScalarType<string | number, string | number>({
  name: "Delay",
  description: 'A duration: "30s", "5m", "2h", "1d", "250ms", or a number of seconds.',
  serialize: (value) => value as string | number,
  parseValue: (value) => value as string | number,
  parseLiteral: (node) => literalToJson(node) as string | number,
});

export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: "JSON",
  description: "Any JSON value.",
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});

export const JsonObjectScalar = new GraphQLScalarType<Record<string, unknown>, Record<string, unknown>>({
  name: "JSONObject",
  description: "A JSON object.",
  serialize: (value) => value as Record<string, unknown>,
  parseValue: (value) => value as Record<string, unknown>,
  parseLiteral: (node, variables) => literalToJson(node, variables) as Record<string, unknown>,
});
