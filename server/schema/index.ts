/** Imports each domain file for its side effects on the builder, then builds the schema. */
import { builder } from "./builder.js";
import "./api-key.js";
import "./execution.js";
import "./signing-secret.js";
import "./task.js";

export const schema = builder.toSchema({ sortSchema: true });
