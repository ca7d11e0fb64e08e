/** The dashboard's routes. Pages inside AppLayout need a signed-in viewer; the others do not. */
import { A, Route, Router } from "@solidjs/router";
import type { JSX } from "solid-js";
import { AppLayout } from "./components/AppLayout";
import { EmptyState } from "./components/Feedback";
import { Toaster } from "./components/Toasts";
import { AcceptInvitePage, LogInPage, SignUpPage } from "./pages/AuthPages";
import { CreateTaskPage } from "./pages/CreateTaskPage";
import { EditSchedulePage } from "./pages/EditSchedulePage";
import { FailuresPage } from "./pages/FailuresPage";
import { OverviewPage } from "./pages/OverviewPage";
import { QueuesPage } from "./pages/QueuesPage";
import { SettingsPage } from "./pages/SettingsPage";
import { TaskDetailPage } from "./pages/TaskDetailPage";
import { TasksPage } from "./pages/TasksPage";
import { SessionProvider } from "./session";

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
        <Route path="/tasks/:id/edit" component={EditSchedulePage} />
        <Route path="/queues" component={QueuesPage} />
        <Route path="/failures" component={FailuresPage} />
        <Route path="/settings/:tab?" component={SettingsPage} />
        <Route path="*" component={NotFoundPage} />
      </Route>
    </Router>
  );
}
