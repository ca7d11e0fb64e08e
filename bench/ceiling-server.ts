/**
 * Scenario 1's ceilings, run as a process of their own (as the Runlater server
 * is, so each gets its own core time): a minimal node:http server that reads
 * each request's body and answers with the bytes Runlater answered a real push
 * with. With CEILING_MODE=insert it first parses the body and INSERTs one row
 * into the baseline table through a pool of 10, the least a push can do.
 *
 * Environment: CEILING_PORT, CEILING_MODE (bare | insert), CEILING_ANSWER (see
 * CannedAnswer); for insert also DATABASE_URL and CEILING_ORGANIZATION_ID.
 * Prints "listening" once it accepts connections; stops on SIGTERM.
 */
import http from "node:http";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { SINGLE_ROW_INSERT } from "./baselines.js";

export type CeilingMode = "bare" | "insert";

/** The answer to replay, as JSON in CEILING_ANSWER. */
export interface CannedAnswer {
  status: number;
  /** Without the headers node:http writes itself (date, connection, content-length…). */
  headers: Record<string, string | string[]>;
  bodyBase64: string;
}

const POOL_SIZE = 10;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`ceiling-server: ${name} is not set`);
  return value;
}

/** Resolves once the row of the pushed task is committed. */
function rowInserter(): (body: Buffer) => Promise<unknown> {
  const pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: POOL_SIZE, application_name: "runlater-bench-ceiling" });
  pool.on("error", () => {});
  const organizationId = env("CEILING_ORGANIZATION_ID");
  return (body) => {
    const task = JSON.parse(body.toString("utf8")) as { url: string };
    return pool.query({ name: "ceiling-insert", text: SINGLE_ROW_INSERT, values: [uuidv7(), organizationId, task.url] });
  };
}

const answer = JSON.parse(env("CEILING_ANSWER")) as CannedAnswer;
const answerBody = Buffer.from(answer.bodyBase64, "base64");
const answerHeaders = { ...answer.headers, "content-length": String(answerBody.length) };
const insertRow = (env("CEILING_MODE") as CeilingMode) === "insert" ? rowInserter() : null;

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const reply = () => response.writeHead(answer.status, answerHeaders).end(answerBody);
    if (!insertRow) return reply();
    insertRow(Buffer.concat(chunks)).then(reply, (error: Error) => {
      response.writeHead(500, { "content-type": "text/plain" }).end(error.message);
    });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(env("CEILING_PORT")), "127.0.0.1", () => console.log("listening"));
