/**
 * What a statement's plan reads, for tests that a statement stays on its indexes however large its tables grow:
 * EXPLAIN (FORMAT JSON), without running it, flattened to every node of the plan.
 */
import type { Queryable } from "../../server/db/pool.js";

export interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan PostgreSQL chooses for `sql` with `values`, the root first. */
export async function planNodes(db: Queryable, sql: string, values: unknown[]): Promise<PlanNode[]> {
  const { rows } = await db.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${sql}`, values);
  const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];
  return flatten(rows[0]?.["QUERY PLAN"][0]?.Plan as PlanNode);
}

/** The tables the plan reads whole. */
export function sequentialScans(nodes: PlanNode[]): string[] {
  return nodes.filter((node) => node["Node Type"] === "Seq Scan").map((node) => node["Relation Name"] ?? "?");
}

/** Every index the plan reads. */
export function indexesRead(nodes: PlanNode[]): string[] {
  return nodes.flatMap((node) => (node["Index Name"] ? [node["Index Name"]] : []));
}
