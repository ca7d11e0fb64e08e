/**
 * Edit a cron task's schedule and policies (updateTaskSchedule). Its request
 * is fixed once pushed: to change the URL, headers or body, duplicate the task
 * and cancel this one.
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
import { TASK_DETAIL, type TaskDetail, UPDATE_TASK_SCHEDULE } from "../graphql/tasks";
import { taskLabel } from "../lib/format";

export function EditSchedulePage() {
  const params = useParams<{ id: string }>();
  const [task] = createQuery({ query: TASK_DETAIL, variables: () => ({ id: params.id }) });
  return (
    <div class="page page-narrow">
      <Switch>
        <Match when={task.error}>
          <ErrorNotice error={task.error} title="Could not load the task" />
        </Match>
        <Match when={task.data?.task}>{(current) => <ScheduleForm task={current()} />}</Match>
        <Match when={true}>
          <PageLoading />
        </Match>
      </Switch>
    </div>
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
      <PageHeader
        eyebrow={
          <A href={`/tasks/${props.task.id}`} class="back-link">
            ← {taskLabel(props.task)}
          </A>
        }
        title="Edit schedule"
        description="The next run is computed from now; past executions are kept. A paused task stays paused."
      />
      <Show when={props.task.type !== "CRON"}>
        <ErrorNotice error="Only recurring (cron) tasks have a schedule to edit. Duplicate this task to send a changed request." />
      </Show>
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
