/**
 * /tasks/:id/edit. A cron task: its schedule and policies (updateTaskSchedule;
 * its request is fixed once pushed). A one-off task that has not started: its
 * request, options and due time (updateTask). Anything else has run: duplicate it.
 */
import { A, useNavigate, useParams } from "@solidjs/router";
import { createMutation, createQuery } from "@urql/solid";
import { createSignal, Match, Show, Switch } from "solid-js";
import { CronField } from "../components/CronField";
import { ErrorNotice, PageLoading } from "../components/Feedback";
import { Field } from "../components/Field";
import { FormActions } from "../components/FormActions";
import { PageHeader } from "../components/PageHeader";
import { notify } from "../components/Toasts";
import { errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";
import { isEditable, TASK_DETAIL, type TaskDetail, UPDATE_TASK_SCHEDULE } from "../graphql/tasks";
import { taskLabel } from "../lib/format";
import { TaskForm, taskFormForEdit } from "./CreateTaskPage";

export function EditTaskPage() {
  const params = useParams<{ id: string }>();
  const [task] = createQuery({ query: TASK_DETAIL, variables: () => ({ id: params.id }) });
  return (
    <div class="page page-narrow">
      <Switch>
        <Match when={task.error}>
          <ErrorNotice error={task.error} title="Could not load the task" />
        </Match>
        <Match when={task.data?.task.type === "CRON" && task.data.task}>{(current) => <ScheduleForm task={current()} />}</Match>
        <Match when={task.data?.task}>{(current) => <RequestForm task={current()} />}</Match>
        <Match when={true}>
          <PageLoading />
        </Match>
      </Switch>
    </div>
  );
}

/** The edit pages' header: back to the task, what is edited and how. */
function EditHeader(props: { task: TaskDetail; title: string; description: string }) {
  return (
    <PageHeader
      eyebrow={
        <A href={`/tasks/${props.task.id}`} class="back-link">
          ← {taskLabel(props.task)}
        </A>
      }
      title={props.title}
      description={props.description}
    />
  );
}

function RequestForm(props: { task: TaskDetail }) {
  const navigate = useNavigate();
  return (
    <>
      <EditHeader
        task={props.task}
        title="Edit task"
        description="Change the request before it is sent. Once its first attempt starts, the task can only be duplicated."
      />
      <Show
        when={isEditable(props.task)}
        fallback={
          <ErrorNotice
            error={`This task has ${props.task.attempts ? "already run" : `ended ${props.task.status.toLowerCase()}`}: duplicate it to send a changed request.`}
          />
        }
      >
        <TaskForm
          initial={taskFormForEdit(props.task)}
          editing={{ id: props.task.id, runAt: props.task.runAt }}
          submitLabel="Save changes"
          onCreated={(task) => {
            notify("success", "Task updated");
            navigate(`/tasks/${task.id}`);
          }}
        />
      </Show>
    </>
  );
}

function ScheduleForm(props: { task: TaskDetail }) {
  const navigate = useNavigate();
  const [cron, setCron] = createSignal(props.task.cron ?? "");
  const [timezone, setTimezone] = createSignal(props.task.timezone ?? "UTC");
  const [overlap, setOverlap] = createSignal(props.task.overlap);
  const [catchUp, setCatchUp] = createSignal(props.task.catchUp);
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const [state, update] = createMutation(UPDATE_TASK_SCHEDULE);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const result = await update({ id: props.task.id, cron: cron().trim(), timezone: timezone(), overlap: overlap(), catchUp: catchUp() });
    if (result.error) return setErrors(fieldErrors(result.error));
    notify("success", "Schedule updated");
    navigate(`/tasks/${props.task.id}`);
  }

  return (
    <>
      <EditHeader
        task={props.task}
        title="Edit schedule"
        description="The next run is computed from now; past executions are kept. A paused task stays paused."
      />
      <form class="task-form" onSubmit={submit} novalidate>
        <ErrorNotice error={errors().general} title="The schedule was not changed" />
        <section class="card form-section">
          <CronField
            cron={cron()}
            timezone={timezone()}
            onCronChange={setCron}
            onTimezoneChange={setTimezone}
            cronError={errorFor(errors(), "cron")}
            timezoneError={errorFor(errors(), "timezone")}
          />
          <div class="field-row">
            <Field label="When a run is still busy" for="overlap" error={errorFor(errors(), "overlap")}>
              <select id="overlap" value={overlap()} onChange={(event) => setOverlap(event.currentTarget.value as TaskDetail["overlap"])}>
                <option value="ALLOW">Run anyway (runs may overlap)</option>
                <option value="SKIP_IF_RUNNING">Skip the slot (recorded as missed)</option>
              </select>
            </Field>
            <Field label="Slots missed during downtime" for="catchUp" error={errorFor(errors(), "catchUp")}>
              <select id="catchUp" value={catchUp()} onChange={(event) => setCatchUp(event.currentTarget.value as TaskDetail["catchUp"])}>
                <option value="SKIP">Skip them</option>
                <option value="LATEST">Run the latest once</option>
                <option value="ALL">Run them all (latest 100)</option>
              </select>
            </Field>
          </div>
        </section>
        <FormActions busy={state.fetching} busyLabel="Saving…" label="Save schedule" disabled={props.task.type !== "CRON"}>
          <A href={`/tasks/${props.task.id}`} class="button button-ghost">
            Cancel
          </A>
        </FormActions>
      </form>
    </>
  );
}
