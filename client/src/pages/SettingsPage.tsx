/**
 * Settings: API keys (create — the secret is shown once —, revoke), the
 * signing secret (reveal, rotate), members and invites, and the
 * organisation's limits. Owners and admins manage these; members can look.
 */
import { A, useParams } from "@solidjs/router";
import { createMutation, createQuery } from "@urql/solid";
import { createSignal, For, Match, Show, Switch } from "solid-js";
import { CopyButton } from "../components/CopyButton";
import { ConfirmDialog } from "../components/Dialog";
import { EmptyState, ErrorNotice, LoadingRows, PageLoading } from "../components/Feedback";
import { Field } from "../components/Field";
import { FormActions } from "../components/FormActions";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { RelativeTime } from "../components/RelativeTime";
import { OneTimeSecretDialog } from "../components/ShownOnce";
import { StatusBadge } from "../components/StatusBadge";
import { notify } from "../components/Toasts";
import {
  CREATE_INVITE,
  canManage,
  INVITES,
  type InviteRow,
  isPending,
  MEMBER_ROLES,
  MEMBERS,
  type MemberRole,
  REMOVE_MEMBER,
  REVOKE_INVITE,
  UPDATE_MEMBER_ROLE,
} from "../graphql/account";
import { describeError, errorFor, type FormErrors, fieldErrors, noErrors } from "../graphql/errors";
import {
  API_KEYS,
  type ApiKeyRow,
  CREATE_API_KEY,
  REVOKE_API_KEY,
  ROTATE_SIGNING_SECRET,
  SET_CONCURRENCY_LIMIT,
  SIGNING_SECRETS,
} from "../graphql/settings";
import { useSession } from "../session";

const TABS = [
  { id: "api-keys", label: "API keys" },
  { id: "signing", label: "Signing secret" },
  { id: "members", label: "Members" },
  { id: "organization", label: "Organisation" },
] as const;

export function SettingsPage() {
  const params = useParams<{ tab?: string }>();
  const tab = () => params.tab ?? "api-keys";
  const session = useSession();
  return (
    <div class="page">
      <PageHeader
        title="Settings"
        description={`${session.viewer()?.organization.name ?? ""} · you are ${session.viewer()?.role.toLowerCase() ?? ""}`}
      />
      <nav class="tabs" aria-label="Settings">
        <For each={TABS}>
          {(item) => (
            <A href={item.id === "api-keys" ? "/settings" : `/settings/${item.id}`} classList={{ active: tab() === item.id }} end>
              {item.label}
            </A>
          )}
        </For>
      </nav>
      <Switch>
        <Match when={tab() === "api-keys"}>
          <ApiKeysSection canManage={canManage(session.viewer()?.role)} />
        </Match>
        <Match when={tab() === "signing"}>
          <SigningSecretSection canManage={canManage(session.viewer()?.role)} />
        </Match>
        <Match when={tab() === "members"}>
          <MembersSection canManage={canManage(session.viewer()?.role)} />
        </Match>
        <Match when={tab() === "organization"}>
          <OrganizationSection canManage={canManage(session.viewer()?.role)} />
        </Match>
      </Switch>
    </div>
  );
}

function ManagersOnly() {
  return <div class="notice notice-info">Only owners and admins of this organisation can see and change this.</div>;
}

export function ApiKeysSection(props: { canManage: boolean }) {
  // Members may not read keys: they are not asked for, and the page says who can.
  const [keys, refetch] = createQuery({ query: API_KEYS, pause: () => !props.canManage });
  const [creating, setCreating] = createSignal(false);
  const [revoking, setRevoking] = createSignal<ApiKeyRow | null>(null);
  const [revokeState, revoke] = createMutation(REVOKE_API_KEY);
  return (
    <section class="card card-flush">
      <div class="card-header card-header-padded">
        <div>
          <h2>API keys</h2>
          <p class="text-muted">
            Send a key as <code>Authorization: Bearer &lt;key&gt;</code>. A key acts with full access to this organisation.
          </p>
        </div>
        <Show when={props.canManage}>
          <button type="button" class="button button-primary" onClick={() => setCreating(true)}>
            <Icon name="plus" /> Create API key
          </button>
        </Show>
      </div>
      <Show
        when={props.canManage}
        fallback={
          <div class="card-padded">
            <ManagersOnly />
          </div>
        }
      >
        <ErrorNotice error={keys.error} onRetry={() => refetch({ requestPolicy: "network-only" })} title="Could not load API keys" />
        <table class="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th class="hide-small">Created</th>
              <th>Last used</th>
              <th>Status</th>
              <th class="actions-cell">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <Show when={keys.data} fallback={<LoadingRows columns={6} rows={2} />}>
              <For each={keys.data?.apiKeys ?? []}>
                {(key) => (
                  <tr data-api-key={key.id} classList={{ muted: !!key.revokedAt }}>
                    <td>{key.name}</td>
                    <td>
                      <code>{key.prefix}…</code>
                    </td>
                    <td class="hide-small">
                      <RelativeTime value={key.createdAt} />
                    </td>
                    <td>
                      <RelativeTime value={key.lastUsedAt} fallback="never" />
                    </td>
                    <td>
                      <StatusBadge status={key.revokedAt ? "REVOKED" : "ACTIVE"} />
                    </td>
                    <td class="actions-cell">
                      <Show when={props.canManage && !key.revokedAt}>
                        <button type="button" class="button button-small button-danger-ghost" onClick={() => setRevoking(key)}>
                          Revoke
                        </button>
                      </Show>
                    </td>
                  </tr>
                )}
              </For>
            </Show>
          </tbody>
        </table>
        <Show when={keys.data?.apiKeys.length === 0}>
          <EmptyState icon="key" title="No API keys">
            Create a key to push tasks from your code or the CLI.
          </EmptyState>
        </Show>
      </Show>
      <CreateApiKeyDialog open={creating()} onClose={() => setCreating(false)} />
      <ConfirmDialog
        open={!!revoking()}
        title={`Revoke “${revoking()?.name ?? ""}”?`}
        confirmLabel="Revoke key"
        danger
        busy={revokeState.fetching}
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          const key = revoking();
          if (!key) return;
          const result = await revoke({ id: key.id });
          setRevoking(null);
          if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not revoke");
          notify("success", `Key ${key.name} revoked`);
          refetch({ requestPolicy: "network-only" });
        }}
      >
        <p>Requests using this key are refused from now on, and live connections using it are closed. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

/** Creating a key: its name, then its secret — shown in this dialog only, never again. */
export function CreateApiKeyDialog(props: { open: boolean; onClose: () => void }) {
  const [name, setName] = createSignal("");
  const [secret, setSecret] = createSignal<string | null>(null);
  const [error, setError] = createSignal<string | null>(null);
  const [state, create] = createMutation(CREATE_API_KEY);
  function close() {
    // Forget the secret: reopening the dialog cannot show it again.
    setSecret(null);
    setName("");
    setError(null);
    props.onClose();
  }
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    if (!name().trim()) return setError("Name the key after what uses it, e.g. “billing service”.");
    const result = await create({ name: name().trim() }, { additionalTypenames: ["ApiKey"] });
    if (result.error)
      return setError(fieldErrors(result.error).fields["name"] ?? describeError(result.error)?.message ?? "Could not create the key");
    setSecret(result.data?.createApiKey.secret ?? null);
  }
  return (
    <OneTimeSecretDialog
      open={props.open}
      title="Create API key"
      revealedTitle="Copy your API key"
      secret={secret()}
      testId="api-key-secret"
      warning="This is the only time the key is shown. Store it in your secret manager now."
      doneLabel="I have stored it"
      onClose={close}
    >
      <form class="stack" onSubmit={submit} novalidate>
        <Field label="Name" for="api-key-name" error={error()} hint="What the key is for, so you know which to revoke.">
          <input id="api-key-name" value={name()} onInput={(event) => setName(event.currentTarget.value)} />
        </Field>
        <FormActions busy={state.fetching} busyLabel="Creating…" label="Create key" />
      </form>
    </OneTimeSecretDialog>
  );
}

function SigningSecretSection(props: { canManage: boolean }) {
  const [secrets, refetch] = createQuery({ query: SIGNING_SECRETS, pause: () => !props.canManage });
  const [revealed, setRevealed] = createSignal(false);
  const [confirming, setConfirming] = createSignal(false);
  const [state, rotate] = createMutation(ROTATE_SIGNING_SECRET);
  const mask = (value: string) => `${value.slice(0, 6)}${"•".repeat(24)}`;
  return (
    <section class="card">
      <div class="card-header">
        <div>
          <h2>Signing secret</h2>
          <p class="text-muted">
            Every request Runlater sends carries a <code>Runlater-Signature</code> made with this secret. Verify it in your endpoint.
          </p>
        </div>
        <Show when={props.canManage}>
          <button type="button" class="button" onClick={() => setConfirming(true)}>
            <Icon name="refresh" /> Rotate
          </button>
        </Show>
      </div>
      <ErrorNotice error={secrets.error} onRetry={() => refetch({ requestPolicy: "network-only" })} />
      <Show when={props.canManage} fallback={<ManagersOnly />}>
        <Show when={secrets.data?.signingSecrets} fallback={<PageLoading />}>
          {(current) => (
            <div class="stack">
              <div class="secret-box">
                <code data-testid="signing-secret">{revealed() ? current().current : mask(current().current)}</code>
                <button type="button" class="button button-small button-ghost" onClick={() => setRevealed(!revealed())}>
                  {revealed() ? "Hide" : "Reveal"}
                </button>
                <CopyButton value={current().current} />
              </div>
              <Show when={current().previous}>
                <p class="text-muted">
                  The previous secret still signs alongside it until <RelativeTime value={current().previousExpiresAt} />, so endpoints can
                  switch without refusing a request.
                </p>
              </Show>
            </div>
          )}
        </Show>
      </Show>
      <ConfirmDialog
        open={confirming()}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        busy={state.fetching}
        onClose={() => setConfirming(false)}
        onConfirm={async () => {
          const result = await rotate({});
          setConfirming(false);
          if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not rotate");
          setRevealed(true);
          refetch({ requestPolicy: "network-only" });
          notify("success", "New signing secret created; the old one keeps signing during the grace period");
        }}
      >
        <p>
          A new secret signs every request from now on. The current one keeps signing alongside it for the grace period (24 h by default).
        </p>
      </ConfirmDialog>
    </section>
  );
}

function MembersSection(props: { canManage: boolean }) {
  const session = useSession();
  const [data, refetchMembers] = createQuery({ query: MEMBERS });
  const [invites, refetchInvites] = createQuery({ query: INVITES, pause: () => !props.canManage });
  const [inviting, setInviting] = createSignal(false);
  const [, updateRole] = createMutation(UPDATE_MEMBER_ROLE);
  const [removeState, remove] = createMutation(REMOVE_MEMBER);
  const [removing, setRemoving] = createSignal<{ id: string; label: string } | null>(null);
  const [, revokeInvite] = createMutation(REVOKE_INVITE);
  const reload = () => {
    refetchMembers({ requestPolicy: "network-only" });
    if (props.canManage) refetchInvites({ requestPolicy: "network-only" });
  };
  const pendingInvites = () => (invites.data?.invites ?? []).filter((invite) => isPending(invite));

  async function changeRole(userId: string, role: MemberRole) {
    const result = await updateRole({ userId, role });
    if (result.error) notify("error", describeError(result.error)?.message ?? "Could not change the role");
    else notify("success", "Role changed");
    reload();
  }

  return (
    <div class="stack">
      <section class="card card-flush">
        <div class="card-header card-header-padded">
          <div>
            <h2>Members</h2>
            <p class="text-muted">Owners and admins manage keys, secrets and members; members use tasks, queues and failures.</p>
          </div>
          <Show when={props.canManage}>
            <button type="button" class="button button-primary" onClick={() => setInviting(true)}>
              <Icon name="plus" /> Invite
            </button>
          </Show>
        </div>
        <ErrorNotice error={data.error} onRetry={reload} title="Could not load members" />
        <table class="table">
          <thead>
            <tr>
              <th>Person</th>
              <th>Role</th>
              <th class="hide-small">Joined</th>
              <th class="actions-cell">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            <Show when={data.data} fallback={<LoadingRows columns={4} rows={2} />}>
              <For each={data.data?.members ?? []}>
                {(member) => {
                  const isSelf = () => member.user.id === session.viewer()?.user.id;
                  return (
                    <tr>
                      <td>
                        <strong>{member.user.name}</strong>
                        <Show when={isSelf()}>
                          <span class="tag">you</span>
                        </Show>
                        <div class="text-muted">{member.user.email}</div>
                      </td>
                      <td>
                        <Show when={props.canManage && !isSelf()} fallback={<StatusBadge status={member.role} />}>
                          <select
                            aria-label={`Role of ${member.user.email}`}
                            value={member.role}
                            onChange={(event) => changeRole(member.user.id, event.currentTarget.value as MemberRole)}
                          >
                            <For each={MEMBER_ROLES}>{(role) => <option value={role}>{role.toLowerCase()}</option>}</For>
                          </select>
                        </Show>
                      </td>
                      <td class="hide-small">
                        <RelativeTime value={member.createdAt} />
                      </td>
                      <td class="actions-cell">
                        <Show when={props.canManage && !isSelf()}>
                          <button
                            type="button"
                            class="button button-small button-danger-ghost"
                            onClick={() => setRemoving({ id: member.user.id, label: member.user.email })}
                          >
                            Remove
                          </button>
                        </Show>
                      </td>
                    </tr>
                  );
                }}
              </For>
            </Show>
          </tbody>
        </table>
      </section>
      <Show when={props.canManage}>
        <section class="card card-flush">
          <div class="card-header card-header-padded">
            <h2>Pending invites</h2>
          </div>
          <Show
            when={pendingInvites().length > 0}
            fallback={
              <EmptyState icon="plus" title="No pending invites">
                Invite a teammate: they get a link to join with the role you choose.
              </EmptyState>
            }
          >
            <table class="table">
              <tbody>
                <For each={pendingInvites()}>
                  {(invite: InviteRow) => (
                    <tr>
                      <td>{invite.email ?? <span class="text-muted">anyone with the link</span>}</td>
                      <td>
                        <StatusBadge status={invite.role} />
                      </td>
                      <td class="hide-small">
                        <Show when={invite.expiresAt} fallback={<RelativeTime value={invite.createdAt} />}>
                          expires <RelativeTime value={invite.expiresAt} />
                        </Show>
                      </td>
                      <td class="actions-cell">
                        <button
                          type="button"
                          class="button button-small button-danger-ghost"
                          onClick={async () => {
                            const result = await revokeInvite({ id: invite.id });
                            if (result.error) notify("error", describeError(result.error)?.message ?? "Could not revoke");
                            reload();
                          }}
                        >
                          Revoke
                        </button>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </Show>
        </section>
      </Show>
      <InviteDialog open={inviting()} onClose={() => setInviting(false)} onCreated={reload} />
      <ConfirmDialog
        open={!!removing()}
        title={`Remove ${removing()?.label ?? ""}?`}
        confirmLabel="Remove member"
        danger
        busy={removeState.fetching}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          const member = removing();
          if (!member) return;
          const result = await remove({ userId: member.id });
          setRemoving(null);
          if (result.error) return notify("error", describeError(result.error)?.message ?? "Could not remove");
          notify("success", `${member.label} removed`);
          reload();
        }}
      >
        <p>They lose access to this organisation at once. An organisation always keeps at least one owner.</p>
      </ConfirmDialog>
    </div>
  );
}

function InviteDialog(props: { open: boolean; onClose: () => void; onCreated: () => void }) {
  const [role, setRole] = createSignal<MemberRole>("MEMBER");
  const [email, setEmail] = createSignal("");
  const [url, setUrl] = createSignal<string | null>(null);
  const [errors, setErrors] = createSignal<FormErrors>(noErrors());
  const [state, create] = createMutation(CREATE_INVITE);
  function close() {
    setUrl(null);
    setEmail("");
    setErrors(noErrors());
    props.onClose();
  }
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const result = await create({ input: { role: role(), ...(email().trim() ? { email: email().trim() } : {}) } });
    if (result.error) return setErrors(fieldErrors(result.error));
    const link = result.data?.createInvite.url ?? "";
    // The server may answer a path; people share absolute links.
    setUrl(link.startsWith("/") ? `${window.location.origin}${link}` : link);
    props.onCreated();
  }
  return (
    <OneTimeSecretDialog
      open={props.open}
      title="Invite a teammate"
      revealedTitle="Share this invite link"
      secret={url()}
      testId="invite-url"
      warning="Anyone with this link can join with the role you chose. It is shown only now."
      doneLabel="Done"
      onClose={close}
    >
      <form class="stack" onSubmit={submit} novalidate>
        <ErrorNotice error={errors().general} title="No invite created" />
        <Field label="Role" for="invite-role" error={errorFor(errors(), "role")}>
          <select id="invite-role" value={role()} onChange={(event) => setRole(event.currentTarget.value as MemberRole)}>
            <For each={MEMBER_ROLES}>{(item) => <option value={item}>{item.toLowerCase()}</option>}</For>
          </select>
        </Field>
        <Field label="Email" for="invite-email" optional error={errorFor(errors(), "email")} hint="Only this address can accept it.">
          <input id="invite-email" type="email" value={email()} onInput={(event) => setEmail(event.currentTarget.value)} />
        </Field>
        <FormActions busy={state.fetching} busyLabel="Creating…" label="Create invite link" />
      </form>
    </OneTimeSecretDialog>
  );
}

function OrganizationSection(props: { canManage: boolean }) {
  const session = useSession();
  const [limit, setLimit] = createSignal(String(session.viewer()?.organization.concurrencyLimit ?? 5));
  const [error, setError] = createSignal<string | null>(null);
  const [state, save] = createMutation(SET_CONCURRENCY_LIMIT);
  async function submit(event: SubmitEvent) {
    event.preventDefault();
    const result = await save({ limit: Number(limit()) });
    if (result.error) return setError(fieldErrors(result.error).fields["limit"] ?? describeError(result.error)?.message ?? "Not saved");
    setError(null);
    notify("success", "Concurrency limit saved; workers apply it within 10 seconds");
  }
  return (
    <section class="card">
      <div class="card-header">
        <h2>{session.viewer()?.organization.name}</h2>
      </div>
      <dl class="properties">
        <dt>Id</dt>
        <dd>
          <code>{session.viewer()?.organization.id}</code>
        </dd>
        <dt>Slug</dt>
        <dd>
          <code>{session.viewer()?.organization.slug}</code>
        </dd>
      </dl>
      <form class="stack" onSubmit={submit} novalidate>
        <Field
          label="Concurrency limit"
          for="concurrency-limit"
          error={error()}
          hint="Attempts of this organisation in flight at once across all workers (1–10000). Beyond it attempts wait, so one backlog never delays other organisations."
        >
          <input
            id="concurrency-limit"
            type="number"
            min="1"
            max="10000"
            value={limit()}
            disabled={!props.canManage}
            onInput={(event) => setLimit(event.currentTarget.value)}
          />
        </Field>
        <Show when={props.canManage} fallback={<ManagersOnly />}>
          <FormActions busy={state.fetching} busyLabel="Saving…" label="Save" />
        </Show>
      </form>
    </section>
  );
}
