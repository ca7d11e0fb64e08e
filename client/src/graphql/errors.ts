/**
 * Turns GraphQL errors into what a person reads: a message, and for
 * validation errors the form field they belong to (the server names it in
 * `extensions.field`, e.g. "url", "headers", "tasks[3].url").
 */
import type { CombinedError } from "@urql/core";

export interface ProblemReport {
  message: string;
  code?: string;
  field?: string;
}

export function describeError(error: CombinedError | undefined | null): ProblemReport | null {
  if (!error) return null;
  const first = error.graphQLErrors[0];
  if (first) {
    const extensions = first.extensions as { code?: string; field?: string } | undefined;
    return { message: first.message, code: extensions?.code, field: extensions?.field };
  }
  if (error.networkError) {
    return { message: "Runlater could not be reached. Check your connection; it retries by itself.", code: "NETWORK" };
  }
  return { message: error.message };
}

/** A form's errors: by field, and one not about any field. */
export interface FormErrors {
  fields: Record<string, string>;
  general: string | null;
}

export const noErrors = (): FormErrors => ({ fields: {}, general: null });

/** The error for a field, whether the server named it `email` or `input.email` (an input object's field). */
export function errorFor(errors: FormErrors, field: string): string | undefined {
  return errors.fields[field] ?? errors.fields[`input.${field}`];
}

/** The errors of a mutation, split into those a form shows at a field and the rest. */
export function fieldErrors(error: CombinedError | undefined | null): FormErrors {
  const fields: Record<string, string> = {};
  let general: string | null = null;
  if (!error) return { fields, general };
  for (const graphQLError of error.graphQLErrors) {
    const field = (graphQLError.extensions as { field?: string } | undefined)?.field;
    if (field && !fields[field]) fields[field] = graphQLError.message;
    else general ??= graphQLError.message;
  }
  if (!error.graphQLErrors.length) general = describeError(error)?.message ?? error.message;
  return { fields, general };
}
