/**
 * The signed-in frame: a sidebar (navigation, organisation switcher, live
 * status, the user and log-out) beside the page. On a phone the sidebar
 * folds into a top bar with a menu button.
 */
import { A, Navigate, useLocation, useNavigate } from "@solidjs/router";
import { createMutation } from "@urql/solid";
import { createSignal, ErrorBoundary, For, type JSX, Match, Suspense, Switch } from "solid-js";
import { CREATE_ORGANIZATION, LOG_OUT, SWITCH_ORGANIZATION } from "../graphql/account";
import { describeError } from "../graphql/errors";
import { useSession } from "../session";
import { Dialog } from "./Dialog";
import { ErrorNotice, PageLoading } from "./Feedback";
import { Field } from "./Field";
import { FormActions } from "./FormActions";
import { Icon, type IconName } from "./Icon";
import { notify } from "./Toasts";

const NAVIGATION: Array<{ href: string; label: string; icon: IconName; end?: boolean }> = [
  { href: "/", label: "Overview", icon: "overview", end: true },
  { href: "/tasks", label: "Tasks", icon: "tasks" },
  { href: "/queues", label: "Queues", icon: "queues" },
  { href: "/failures", label: "Failures", icon: "failures" },
  { href: "/endpoints", label: "Endpoints", icon: "inbound" },
  { href: "/monitors", label: "Monitors", icon: "heartbeat" },
  { href: "/alerts", label: "Alerts", icon: "bell" },
  { href: "/settings", label: "Settings", icon: "settings" },
];

export function AppLayout(props: { children?: JSX.Element }) {
  const session = useSession();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = createSignal(false);
  const redirect = () => `?next=${encodeURIComponent(location.pathname + location.search)}`;
  return (
    <Switch>
      <Match when={session.loading()}>
        <PageLoading label="Loading your workspace" />
      </Match>
      <Match when={session.error() && !session.viewer()}>
        <div class="auth-page">
          <ErrorNotice error={String(describeError(session.error() as never)?.message ?? session.error())} onRetry={session.refresh} />
        </div>
      </Match>
      <Match when={!session.viewer()}>
        <Navigate href={session.setupStatus()?.hasUsers === false ? "/signup" : `/login${location.pathname === "/" ? "" : redirect()}`} />
      </Match>
      <Match when={session.viewer()}>
        <div class="app" classList={{ "menu-open": menuOpen() }}>
          <header class="topbar">
            <button type="button" class="icon-button" aria-label="Menu" onClick={() => setMenuOpen(!menuOpen())}>
              <Icon name={menuOpen() ? "close" : "menu"} size={20} />
            </button>
            <Brand />
            <A href="/tasks/new" class="button button-primary button-small" onClick={() => setMenuOpen(false)}>
              <Icon name="plus" /> New task
            </A>
          </header>
          <aside class="sidebar">
            <div class="sidebar-brand">
              <Brand />
              <LiveIndicator />
            </div>
            <OrganizationSwitcher />
            <A href="/tasks/new" class="button button-primary sidebar-new" onClick={() => setMenuOpen(false)}>
              <Icon name="plus" /> New task
            </A>
            <nav class="sidebar-nav" aria-label="Main">
              <For each={NAVIGATION}>
                {(item) => (
                  <A href={item.href} end={item.end} activeClass="active" onClick={() => setMenuOpen(false)}>
                    <Icon name={item.icon} size={18} />
                    {item.label}
                  </A>
                )}
              </For>
            </nav>
            <UserMenu />
          </aside>
          <main class="main">
            {/* A page that fails to render shows why, and the rest of the dashboard keeps working. */}
            <ErrorBoundary
              fallback={(error, reset) => (
                <div class="page">
                  <ErrorNotice
                    error={String(error instanceof Error ? error.message : error)}
                    title="This page failed to load"
                    onRetry={reset}
                  />
                </div>
              )}
            >
              <Suspense fallback={<PageLoading />}>{props.children}</Suspense>
            </ErrorBoundary>
          </main>
        </div>
      </Match>
    </Switch>
  );
}

export function Brand() {
  return (
    <A href="/" class="brand">
      <span class="brand-mark">
        <Icon name="clock" size={16} />
      </span>
      Runlater
    </A>
  );
}

function LiveIndicator() {
  const session = useSession();
  const state = () => session.runlater().liveState();
  return (
    <span class={`live live-${state()}`} title="Live updates over WebSocket">
      <span class="live-dot" />
      {state() === "live" ? "Live" : state() === "reconnecting" ? "Reconnecting…" : "Connecting…"}
    </span>
  );
}

function OrganizationSwitcher() {
  const session = useSession();
  const navigate = useNavigate();
  const [, switchOrganization] = createMutation(SWITCH_ORGANIZATION);
  const [creating, setCreating] = createSignal(false);
  async function choose(value: string) {
    if (value === "__new") {
      setCreating(true);
      return;
    }
    if (value === session.viewer()?.organization.id) return;
    const result = await switchOrganization({ organizationId: value });
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not switch organisation");
    navigate("/");
    session.identityChanged(result.data?.switchOrganization);
  }
  return (
    <div class="org-switcher">
      <label for="organization" class="visually-hidden">
        Organisation
      </label>
      <select
        id="organization"
        class="org-select"
        value={session.viewer()?.organization.id}
        onChange={(event) => {
          const value = event.currentTarget.value;
          event.currentTarget.value = session.viewer()?.organization.id ?? "";
          void choose(value);
        }}
      >
        <For each={session.viewer()?.memberships ?? []}>
          {(membership) => <option value={membership.organization.id}>{membership.organization.name}</option>}
        </For>
        <option value="__new">+ New organisation…</option>
      </select>
      <CreateOrganizationDialog open={creating()} onClose={() => setCreating(false)} />
    </div>
  );
}

function CreateOrganizationDialog(props: { open: boolean; onClose: () => void }) {
  const session = useSession();
  const navigate = useNavigate();
  const [state, create] = createMutation(CREATE_ORGANIZATION);
  const [name, setName] = createSignal("");
  const [error, setError] = createSignal<string | null>(null);
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    if (!name().trim()) return setError("Give the organisation a name.");
    const result = await create({ input: { name: name().trim() } });
    if (result.error) return setError(describeError(result.error)?.message ?? "Could not create the organisation");
    props.onClose();
    navigate("/");
    session.identityChanged(result.data?.createOrganization);
  }
  return (
    <Dialog open={props.open} title="New organisation" onClose={props.onClose}>
      <form onSubmit={submit} class="stack">
        <p class="text-muted">
          You will own it and switch to it. Its tasks, keys and members are separate from every other organisation's.
        </p>
        <Field label="Name" for="new-organization-name" error={error()}>
          <input id="new-organization-name" value={name()} onInput={(event) => setName(event.currentTarget.value)} />
        </Field>
        <FormActions busy={state.fetching} busyLabel="Creating…" label="Create organisation" />
      </form>
    </Dialog>
  );
}

function UserMenu() {
  const session = useSession();
  const navigate = useNavigate();
  const [state, logOut] = createMutation(LOG_OUT);
  async function signOut() {
    const result = await logOut({});
    if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not log out");
    session.identityChanged();
    navigate("/login", { replace: true });
  }
  return (
    <div class="user-menu">
      <div class="avatar" aria-hidden="true">
        {(session.viewer()?.user.name || session.viewer()?.user.email || "?").slice(0, 1).toUpperCase()}
      </div>
      <div class="user-identity">
        <strong>{session.viewer()?.user.name}</strong>
        <span class="text-muted">{session.viewer()?.user.email}</span>
      </div>
      <button type="button" class="icon-button" onClick={signOut} disabled={state.fetching} aria-label="Log out" title="Log out">
        <Icon name="logout" size={18} />
      </button>
    </div>
  );
}
