/** The dashboard's routes. Pages inside AppLayout need a signed-in viewer; the others do not. */
import { A, Route, Router } from "@solidjs/router";
import { type JSX, lazy } from "solid-js";
import { AppLayout } from "./components/AppLayout";
import { EmptyState } from "./components/Feedback";
import { Toaster } from "./components/Toasts";
import { AcceptInvitePage, LogInPage, SignUpPage } from "./pages/AuthPages";
import { SessionProvider } from "./session";

// Each page is its own chunk: the first load fetches only the page it shows (the chart library only with the overview).
const OverviewPage = lazy(() => import("./pages/OverviewPage").then((module) => ({ default: module.OverviewPage })));
const TasksPage = lazy(() => import("./pages/TasksPage").then((module) => ({ default: module.TasksPage })));
const CreateTaskPage = lazy(() => import("./pages/CreateTaskPage").then((module) => ({ default: module.CreateTaskPage })));
const TaskDetailPage = lazy(() => import("./pages/TaskDetailPage").then((module) => ({ default: module.TaskDetailPage })));
const EditTaskPage = lazy(() => import("./pages/EditTaskPage").then((module) => ({ default: module.EditTaskPage })));
const QueuesPage = lazy(() => import("./pages/QueuesPage").then((module) => ({ default: module.QueuesPage })));
const FailuresPage = lazy(() => import("./pages/FailuresPage").then((module) => ({ default: module.FailuresPage })));
const EndpointsPage = lazy(() => import("./pages/EndpointsPage").then((module) => ({ default: module.EndpointsPage })));
const EndpointDetailPage = lazy(() => import("./pages/EndpointDetailPage").then((module) => ({ default: module.EndpointDetailPage })));
const MonitorsPage = lazy(() => import("./pages/MonitorsPage").then((module) => ({ default: module.MonitorsPage })));
const MonitorDetailPage = lazy(() => import("./pages/MonitorDetailPage").then((module) => ({ default: module.MonitorDetailPage })));
const AlertChannelsPage = lazy(() => import("./pages/AlertChannelsPage").then((module) => ({ default: module.AlertChannelsPage })));
const SettingsPage = lazy(() => import("./pages/SettingsPage").then((module) => ({ default: module.SettingsPage })));

function Root(props: { children?: JSX.Element }) {
  return (
    <SessionProvider>
      {props.children}
      <Toaster />
    </SessionProvider>
  );
}

function NotFoundPage() {
  return (
    <div class="page">
      <EmptyState
        icon="search"
        title="Nothing here"
        action={
          <A href="/" class="button">
            Go to the overview
          </A>
        }
      >
        This page does not exist.
      </EmptyState>
    </div>
  );
}

export function App() {
  return (
    <Router root={Root}>
      <Route path="/login" component={LogInPage} />
      <Route path="/signup" component={SignUpPage} />
      <Route path="/invite/:token" component={AcceptInvitePage} />
      <Route path="/" component={AppLayout}>
        <Route path="/" component={OverviewPage} />
        <Route path="/tasks" component={TasksPage} />
        <Route path="/tasks/new" component={CreateTaskPage} />
        <Route path="/tasks/:id" component={TaskDetailPage} />
        <Route path="/tasks/:id/edit" component={EditTaskPage} />
        <Route path="/queues" component={QueuesPage} />
        <Route path="/failures" component={FailuresPage} />
        <Route path="/endpoints" component={EndpointsPage} />
        <Route path="/endpoints/:id" component={EndpointDetailPage} />
        <Route path="/monitors" component={MonitorsPage} />
        <Route path="/monitors/:id" component={MonitorDetailPage} />
        <Route path="/alerts" component={AlertChannelsPage} />
        <Route path="/settings/:tab?" component={SettingsPage} />
        <Route path="*" component={NotFoundPage} />
      </Route>
    </Router>
  );
}
