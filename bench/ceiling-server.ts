/**
 * Scenario 1's ceilings, run as a process of their own (as the Runlater server
 * is, so each gets its own core time): a minimal node:http server that reads
 * each request's body and answers with the bytes Runlater answered a real push
 * with. With CEILING_MODE=insert it first parses the body and INSERTs one row
 * into the baseline table through a pool of 10, the least a push can do.
 *
 * CEILING_MODE=stack measures the stack the brief prescribes instead of
 * node:http alone: Yoga with the SOFA REST plugin and graphql-jit (Runlater's
 * REST configuration) serving Runlater's own `pushTask` and `pushTasks`
 * routes from schema.graphql, whose resolvers do that one INSERT (one
 * multi-row INSERT for a batch) and answer as Runlater does.
 * No Runlater code runs (no authentication, validation or services): what it
 * reaches is what any push built on this stack can reach on this machine.
 *
 * Environment: CEILING_PORT, CEILING_MODE (bare | insert | stack), CEILING_ANSWER
 * (see CannedAnswer); for insert and stack also DATABASE_URL and CEILING_ORGANIZATION_ID.
 * Prints "listening" once it accepts connections; stops on SIGTERM.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { useGraphQlJit } from "@envelop/graphql-jit";
import { filterSchema } from "@graphql-tools/utils";
import { useSofa } from "@graphql-yoga/plugin-sofa";
import { buildSchema } from "graphql";
import { createYoga } from "graphql-yoga";
import pg from "pg";
import { v7 as uuidv7 } from "uuid";
import { REST_BASE_PATH, restRoutes, restSchema } from "../server/http/rest.js";
import { MULTI_ROW_INSERT_PER_URL, SINGLE_ROW_INSERT } from "./baselines.js";
import { projectRoot } from "./harness.js";

export type CeilingMode = "bare" | "insert" | "stack";

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

let pool: pg.Pool | undefined;
/** One pool for the process, made on first use (mode bare needs none). */
function benchPool(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: POOL_SIZE, application_name: "runlater-bench-ceiling" });
    pool.on("error", () => {});
  }
  return pool;
}

/** Resolves once the row of a task pushed to `url` is committed. */
function rowInserter(): (id: string, url: string) => Promise<unknown> {
  const organizationId = env("CEILING_ORGANIZATION_ID");
  return (id, url) => benchPool().query({ name: "ceiling-insert", text: SINGLE_ROW_INSERT, values: [id, organizationId, url] });
}

/** Resolves once the rows of a batch's tasks are committed, in one statement. */
function rowsInserter(): (ids: string[], urls: string[]) => Promise<unknown> {
  const organizationId = env("CEILING_ORGANIZATION_ID");
  return (ids, urls) =>
    benchPool().query({ name: "ceiling-insert-many", text: MULTI_ROW_INSERT_PER_URL, values: [ids, organizationId, urls] });
}

/**
 * Yoga + SOFA + graphql-jit, as Runlater's server configures them, on
 * Runlater's schema cut down to `pushTask` and `pushTasks` (and `task`: a
 * schema needs a query). `pushTask` inserts the row and answers the task
 * Runlater answered, with the new id and the pushed URL; `pushTasks` inserts
 * the batch's rows in one statement and answers their ids, as Runlater does.
 */
function stackHandler(answerBody: Buffer): http.RequestListener {
  const insertRow = rowInserter();
  const insertRows = rowsInserter();
  const answeredTask = JSON.parse(answerBody.toString("utf8")) as Record<string, unknown>;
  const kept = new Set(["Mutation.pushTask", "Mutation.pushTasks", "Query.task"]);
  const schema = restSchema(
    filterSchema({
      schema: buildSchema(readFileSync(path.join(projectRoot, "schema.graphql"), "utf8")),
      rootFieldFilter: (operation, fieldName) => kept.has(`${operation}.${fieldName}`),
    }),
  );
  const mutations = schema.getMutationType()?.getFields();
  const pushRoute = restRoutes["Mutation.pushTask"];
  const batchRoute = restRoutes["Mutation.pushTasks"];
  if (!mutations?.pushTask || !mutations.pushTasks || !pushRoute || !batchRoute)
    throw new Error("ceiling-server: Mutation.pushTask or pushTasks is missing from schema.graphql or the REST routes");
  mutations.pushTask.resolve = async (_root, args: { url: string }) => {
    const id = uuidv7();
    await insertRow(id, args.url);
    return { ...answeredTask, id, url: args.url };
  };
  mutations.pushTasks.resolve = async (_root, args: { tasks: Array<{ url?: string }>; defaults?: { url?: string } }) => {
    const ids = args.tasks.map(() => uuidv7());
    await insertRows(
      ids,
      args.tasks.map((task) => task.url ?? args.defaults?.url ?? ""),
    );
    return { ids };
  };
  const yoga = createYoga({
    schema,
    logging: false,
    plugins: [
      useSofa({ basePath: REST_BASE_PATH, routes: { "Mutation.pushTask": pushRoute, "Mutation.pushTasks": batchRoute } }),
      useGraphQlJit(),
    ],
  });
  return yoga as unknown as http.RequestListener;
}

/** Reads the body, INSERTs its task's row when `insertRow` is given, then replays Runlater's answer. */
function cannedAnswerHandler(answer: CannedAnswer, insertRow: ReturnType<typeof rowInserter> | null): http.RequestListener {
  const answerBody = Buffer.from(answer.bodyBase64, "base64");
  const answerHeaders = { ...answer.headers, "content-length": String(answerBody.length) };
  return (request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const reply = () => response.writeHead(answer.status, answerHeaders).end(answerBody);
      if (!insertRow) return reply();
      const task = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { url: string };
      insertRow(uuidv7(), task.url).then(reply, (error: Error) => {
        response.writeHead(500, { "content-type": "text/plain" }).end(error.message);
      });
    });
  };
}

const answer = JSON.parse(env("CEILING_ANSWER")) as CannedAnswer;
const mode = env("CEILING_MODE") as CeilingMode;
const handler =
  mode === "stack"
    ? stackHandler(Buffer.from(answer.bodyBase64, "base64"))
    : cannedAnswerHandler(answer, mode === "insert" ? rowInserter() : null);
const server = http.createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(Number(env("CEILING_PORT")), "127.0.0.1", () => console.log("listening"));
