/**
 * Sign up, log in and accept an invite. The first visit to an empty
 * installation lands on sign-up: that first account owns the default
 * organisation.
 */
import { A, Navigate, useNavigate, useParams, useSearchParams } from "@solidjs/router";
import { createMutation } from "@urql/solid";
import { createSignal, type JSX, Match, Show, Switch } from "solid-js";
import { Brand } from "../components/AppLayout";
import { ErrorNotice, PageLoading } from "../components/Feedback";
import { Field } from "../components/Field";
import { ACCEPT_INVITE, LOG_IN, SIGN_UP, type Viewer } from "../graphql/account";
import { errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";
import { useSession } from "../session";

const MIN_PASSWORD = 10;

function AuthFrame(props: { title: string; subtitle: JSX.Element; children: JSX.Element; footer?: JSX.Element }) {
  return (
    <div class="auth-page">
      <div class="auth-card">
        <Brand />
        <h1>{props.title}</h1>
        <p class="text-muted">{props.subtitle}</p>
        {props.children}
      </div>
      <Show when={props.footer}>
        <p class="auth-footer">{props.footer}</p>
      </Show>
    </div>
  );
}

/** Only same-site paths: a crafted ?next= must not send people elsewhere after log-in. */
function safeNext(next: string | string[] | undefined): string {
  const value = Array.isArray(next) ? next[0] : next;
  return value?.startsWith("/") && !value.startsWith("//") ? value : "/";
}

export function LogInPage() {
  const session = useSession();
  const navigate = useNavigate();
  const [search] = useSearchParams();
  const [state, logIn] = createMutation(LOG_IN);
  const [email, setEmail] = createSignal("");
  const [password, setPassword] = createSignal("");
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const result = await logIn({ input: { email: email().trim(), password: password() } });
    if (result.error) return setErrors(fieldErrors(result.error));
    session.identityChanged(result.data?.logIn);
    navigate(safeNext(search.next), { replace: true });
  }

  return (
    <Switch>
      <Match when={session.loading()}>
        <PageLoading />
      </Match>
      <Match when={session.viewer()}>
        <Navigate href={safeNext(search.next)} />
      </Match>
      <Match when={session.setupStatus()?.hasUsers === false}>
        <Navigate href="/signup" />
      </Match>
      <Match when={true}>
        <AuthFrame
          title="Log in"
          subtitle="Welcome back. Your tasks kept running while you were away."
          footer={
            <Show when={session.setupStatus()?.signupOpen}>
              No account yet? <A href="/signup">Sign up</A>
            </Show>
          }
        >
          <form class="stack" onSubmit={submit} novalidate>
            <ErrorNotice error={errors().general} title="Could not log in" />
            <Field label="Email" for="email" error={errorFor(errors(), "email")}>
              <input
                id="email"
                type="email"
                autocomplete="username"
                required
                value={email()}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            </Field>
            <Field label="Password" for="password" error={errorFor(errors(), "password")}>
              <input
                id="password"
                type="password"
                autocomplete="current-password"
                required
                value={password()}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </Field>
            <button type="submit" class="button button-primary button-block" disabled={state.fetching}>
              {state.fetching ? "Logging in…" : "Log in"}
            </button>
          </form>
        </AuthFrame>
      </Match>
    </Switch>
  );
}

/** The sign-up form; with an invite token the new account joins the inviting organisation. */
function SignUpForm(props: { inviteToken?: string; onSignedUp: (viewer: Viewer) => void }) {
  const session = useSession();
  const [state, signUp] = createMutation(SIGN_UP);
  const [name, setName] = createSignal("");
  const [email, setEmail] = createSignal("");
  const [password, setPassword] = createSignal("");
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const fieldError = (name: string) => errorFor(errors(), name);

  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const local: Record<string, string> = {};
    if (!name().trim()) local["name"] = "Tell us your name.";
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email().trim())) local["email"] = "Enter a valid email address.";
    if (password().length < MIN_PASSWORD) local["password"] = `Use at least ${MIN_PASSWORD} characters.`;
    if (Object.keys(local).length) return setErrors({ fields: local, general: null });
    const result = await signUp({
      input: {
        name: name().trim(),
        email: email().trim(),
        password: password(),
        ...(props.inviteToken ? { inviteToken: props.inviteToken } : {}),
      },
    });
    if (result.error) return setErrors(fieldErrors(result.error));
    if (result.data) props.onSignedUp(result.data.signUp);
    session.identityChanged(result.data?.signUp);
  }

  return (
    <form class="stack" onSubmit={submit} novalidate>
      <ErrorNotice error={errors().general} title="Could not sign up" />
      <Field label="Name" for="name" error={fieldError("name")}>
        <input id="name" autocomplete="name" value={name()} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Email" for="email" error={fieldError("email")}>
        <input id="email" type="email" autocomplete="username" value={email()} onInput={(e) => setEmail(e.currentTarget.value)} />
      </Field>
      <Field label="Password" for="password" error={fieldError("password")} hint={`At least ${MIN_PASSWORD} characters.`}>
        <input
          id="password"
          type="password"
          autocomplete="new-password"
          value={password()}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </Field>
      <button type="submit" class="button button-primary button-block" disabled={state.fetching}>
        {state.fetching ? "Creating your account…" : "Create account"}
      </button>
    </form>
  );
}

export function SignUpPage() {
  const session = useSession();
  const navigate = useNavigate();
  const firstAccount = () => session.setupStatus()?.hasUsers === false;
  return (
    <Switch>
      <Match when={session.loading()}>
        <PageLoading />
      </Match>
      <Match when={session.viewer()}>
        <Navigate href="/" />
      </Match>
      <Match when={session.setupStatus() && !session.setupStatus()?.signupOpen && !firstAccount()}>
        <AuthFrame
          title="Sign-up is by invitation"
          subtitle="Ask an owner or admin of your organisation for an invite link."
          footer={<A href="/login">Log in instead</A>}
        >
          <span />
        </AuthFrame>
      </Match>
      <Match when={true}>
        <AuthFrame
          title={firstAccount() ? "Set up Runlater" : "Create your account"}
          subtitle={
            firstAccount()
              ? "This installation has no accounts yet. The account you create now owns it."
              : "You get an organisation of your own; invite your team from Settings."
          }
          footer={
            <>
              Already have an account? <A href="/login">Log in</A>
            </>
          }
        >
          <SignUpForm onSignedUp={() => navigate("/", { replace: true })} />
        </AuthFrame>
      </Match>
    </Switch>
  );
}

/** /invite/:token — signed in: join at once; otherwise sign up with the invite (or log in first). */
export function AcceptInvitePage() {
  const session = useSession();
  const params = useParams();
  const navigate = useNavigate();
  const [state, accept] = createMutation(ACCEPT_INVITE);
  const [error, setError] = createSignal<string | null>(null);
  async function join() {
    const result = await accept({ token: params.token ?? "" });
    if (result.error) return setError(fieldErrors(result.error).general ?? Object.values(fieldErrors(result.error).fields)[0] ?? "");
    session.identityChanged(result.data?.acceptInvite);
    navigate("/", { replace: true });
  }
  return (
    <Switch>
      <Match when={session.loading()}>
        <PageLoading />
      </Match>
      <Match when={session.viewer()}>
        <AuthFrame title="Join an organisation" subtitle={`You are signed in as ${session.viewer()?.user.email}.`}>
          <div class="stack">
            <ErrorNotice error={error()} title="Could not accept the invite" />
            <button type="button" class="button button-primary button-block" disabled={state.fetching} onClick={join}>
              {state.fetching ? "Joining…" : "Accept invite"}
            </button>
          </div>
        </AuthFrame>
      </Match>
      <Match when={true}>
        <AuthFrame
          title="You are invited"
          subtitle="Create an account to join the organisation that invited you."
          footer={
            <>
              Have an account? <A href={`/login?next=${encodeURIComponent(`/invite/${params.token}`)}`}>Log in to accept</A>
            </>
          }
        >
          <SignUpForm inviteToken={params.token} onSignedUp={() => navigate("/", { replace: true })} />
        </AuthFrame>
      </Match>
    </Switch>
  );
}
