/**
 * Text PostgreSQL cannot store is refused before any resolver runs: a NUL character, or half of a UTF-16 surrogate
 * pair (which JSON allows as "\ud800"), in any string argument of an operation — a task's name, URL, callback URL,
 * policy keys, a list's search filter… Each reached the database and failed there ("invalid byte sequence for
 * encoding UTF8"), answering 500. Refused here with 422 naming the argument: every field at once, whichever
 * transport (GraphQL variables or literals, REST through SOFA, subscriptions) carried it.
 */
import { type DocumentNode, GraphQLError, getOperationAST, visit } from "graphql";
import type { Plugin } from "graphql-yoga";

/** Where, in the operation's variables or literal arguments, a string holds text that cannot be stored. */
export function unstorableText(document: DocumentNode, operationName: string | null | undefined, variables: unknown): string | null {
  const inVariables = unstorableAt(variables);
  if (inVariables !== null) return joinPath(inVariables);
  return unstorableLiteral(document, operationName ?? null);
}

/**
 * Literals are part of the document, which Yoga parses once and reuses (REST routes are a fixed set of them): each
 * document's operations are walked once, not on every request.
 */
const literalsChecked = new WeakMap<DocumentNode, Map<string | null, string | null>>();

function unstorableLiteral(document: DocumentNode, operationName: string | null): string | null {
  let byOperation = literalsChecked.get(document);
  if (!byOperation) {
    byOperation = new Map();
    literalsChecked.set(document, byOperation);
  }
  const known = byOperation.get(operationName);
  if (known !== undefined) return known;
  const operation = getOperationAST(document, operationName);
  let found: string | null = null;
  if (operation) {
    const path: string[] = [];
    visit(operation, {
      Argument: { enter: (node) => void path.push(node.name.value), leave: () => void path.pop() },
      ObjectField: { enter: (node) => void path.push(node.name.value), leave: () => void path.pop() },
      StringValue(node) {
        if (found === null && !storable(node.value)) found = path.join(".");
      },
    });
  }
  byOperation.set(operationName, found);
  return found;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (UTF-16 code units). */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function storable(text: string): boolean {
  return !text.includes("\u0000") && !UNPAIRED_SURROGATE.test(text);
}

/** A path as fields name it: `tasks[1].name`. */
function joinPath(segments: Array<string | number>): string {
  return segments.reduce<string>(
    (joined, segment) => (typeof segment === "number" ? `${joined}[${segment}]` : joined ? `${joined}.${segment}` : segment),
    "",
  );
}

/** The path to the first string in `value` that cannot be stored, or null; built only for a find. */
function unstorableAt(value: unknown): Array<string | number> | null {
  if (typeof value === "string") return storable(value) ? null : [];
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = unstorableAt(value[index]);
      if (found !== null) return [index, ...found];
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const key in value) {
      if (!storable(key)) return [key];
      const found = unstorableAt((value as Record<string, unknown>)[key]);
      if (found !== null) return [key, ...found];
    }
  }
  return null;
}

function refusal(field: string): GraphQLError {
  // Set as a result, it skips the error masking a thrown error gets: the code and field are given here.
  return new GraphQLError(`${field} must not contain NUL characters or unpaired UTF-16 surrogates`, {
    extensions: { code: "VALIDATION_FAILED", field },
  });
}

export function useWellFormedText(): Plugin {
  const check = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; operationName?: string | null; variableValues?: unknown };
    setResultAndStopExecution: (result: { errors: GraphQLError[] }) => void;
  }) => {
    const field = unstorableText(args.document, args.operationName, args.variableValues);
    if (field !== null) setResultAndStopExecution({ errors: [refusal(field)] });
  };
  return { onExecute: check, onSubscribe: check };
}
