/**
 * Who is signed in, and the GraphQL client that acts for them. The client is
 * made anew whenever the identity changes (log-in, log-out, switching
 * organisation): its cache and its WebSocket belong to one session, so no
 * page can show a previous organisation's data.
 */
import { Provider } from "@urql/solid";
import { createContext, createMemo, createResource, createSignal, type JSX, onCleanup, Show, useContext } from "solid-js";
import { SESSION, type SessionData, type Viewer } from "./graphql/account";
import { createRunlaterClient, type RunlaterClient } from "./graphql/client";

export interface Session {
  viewer: () => Viewer | null;
  setupStatus: () => SessionData["setupStatus"] | undefined;
  loading: () => boolean;
  error: () => unknown;
  runlater: () => RunlaterClient;
  /** After log-in, sign-up, accepting an invite or switching organisation: start over as the new identity. */
  identityChanged: (viewer?: Viewer) => void;
  refresh: () => void;
}

const SessionContext = createContext<Session>();

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside <SessionProvider>");
  return session;
}

export function SessionProvider(props: { children: JSX.Element; createClient?: (onUnauthenticated: () => void) => RunlaterClient }) {
  const [generation, setGeneration] = createSignal(0);
  const [knownViewer, setKnownViewer] = createSignal<Viewer | null | undefined>(undefined);

  const runlater = createMemo<RunlaterClient>((previous) => {
    generation();
    previous?.dispose();
    const onUnauthenticated = () => {
      // Only a session that was signed in can expire; anonymous pages expect these answers.
      if (session.viewer()) identityChanged();
    };
    return props.createClient ? props.createClient(onUnauthenticated) : createRunlaterClient({ onUnauthenticated });
  });
  onCleanup(() => runlater().dispose());

  const [data, { refetch }] = createResource(runlater, async (current) => {
    const result = await current.client.query(SESSION, {}, { requestPolicy: "network-only" }).toPromise();
    if (result.error && !result.data) throw result.error;
    return result.data as SessionData;
  });

  function identityChanged(viewer?: Viewer) {
    setKnownViewer(viewer ?? null);
    setGeneration((value) => value + 1);
  }

  // Reading an errored resource throws, and reading it directly inside a page would suspend the page
  // while the session reloads: `latest` of a settled resource does neither.
  const settled = () => (data.state === "ready" || data.state === "refreshing" ? data.latest : undefined);

  const session: Session = {
    viewer: () => (data.loading ? (knownViewer() ?? null) : (settled()?.viewer ?? null)),
    setupStatus: () => settled()?.setupStatus,
    loading: () => data.loading && knownViewer() === undefined,
    error: () => data.error,
    runlater,
    identityChanged,
    refresh: () => void refetch(),
  };

  return (
    <SessionContext.Provider value={session}>
      <Show keyed when={runlater()}>
        {(current) => <Provider value={current.client}>{props.children}</Provider>}
      </Show>
    </SessionContext.Provider>
  );
}
