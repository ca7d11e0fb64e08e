/** Imports each domain file for its side effects on the builder, then builds the schema. */
import { builder } from "./builder.js";
import "./account.js";
import "./alerts.js";
import "./api-key.js";
import "./callbacks.js";
import "./cron.js";
import "./execution.js";
import "./failures.js";
import "./members.js";
import "./live.js";
import "./inbound.js";
import "./monitor.js";
import "./signing-secret.js";
import "./status-page.js";
import "./organization.js";
import "./queue.js";
import "./task.js";

export const schema = builder.toSchema({ sortSchema: true });
