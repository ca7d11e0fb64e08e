/** A task in a table: its label (linking to it) over its method and URL. */
import { A } from "@solidjs/router";
import type { TaskRow } from "../graphql/tasks";
import { taskLabel } from "../lib/format";

export function TaskCell(props: { task: Pick<TaskRow, "id" | "name" | "url" | "method"> }) {
  return (
    <td class="cell-task">
      <A href={`/tasks/${props.task.id}`} class="task-name">
        {taskLabel(props.task)}
      </A>
      <span class="task-url">
        <span class="method">{props.task.method}</span> {props.task.url}
      </span>
    </td>
  );
}
