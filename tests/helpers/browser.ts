/**
 * A browser for tests: keeps the cookies Runlater sets (like a real one, by
 * name, honouring Max-Age=0 removals) and sends them back, with the
 * X-CSRF-Token header the dashboard sends on every POST.
 */
import type { RunningInstance } from "../../server/app.js";
import type { GraphQLAnswer } from "./runlater.js";

export interface SetCookie {
  name: string;
  value: string;
  /** Attributes by lower-cased name; flags map to "". */
  attributes: Map<string, string>;
}

export function parseSetCookie(header: string): SetCookie {
  const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
  const separator = pair.indexOf("=");
  return {
    name: pair.slice(0, separator),
    value: pair.slice(separator + 1),
    attributes: new Map(
      attributes.map((attribute) => {
        const [name = "", ...value] = attribute.split("=");
        return [name.toLowerCase(), value.join("=")];
      }),
    ),
  };
}

export class Browser {
  readonly cookies = new Map<string, string>();
  /** The Set-Cookie headers of the last response. */
  lastSetCookies: SetCookie[] = [];

  constructor(readonly instance: Pick<RunningInstance, "url">) {}

  get csrfToken(): string | undefined {
    return this.cookies.get("runlater_csrf");
  }

  async graphql<T = Record<string, unknown>>(
    query: string,
    variables: Record<string, unknown> = {},
    options: { csrf?: string | null; headers?: Record<string, string> } = {},
  ): Promise<GraphQLAnswer<T> & { headers: Headers }> {
    const csrf = options.csrf === undefined ? this.csrfToken : options.csrf;
    const response = await fetch(`${this.instance.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.cookies.size ? { cookie: this.cookieHeader() } : {}),
        ...(csrf ? { "x-csrf-token": csrf } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    this.remember(response.headers);
    const body = (await response.json()) as { data?: T; errors?: GraphQLAnswer<T>["errors"] };
    return { status: response.status, data: body.data ?? null, errors: body.errors, headers: response.headers };
  }

  /** A GET request carrying the cookies (a REST route, or a GraphQL query over GET). */
  async get(path: string): Promise<{ status: number; body: unknown; headers: Headers }> {
    const response = await fetch(`${this.instance.url}${path}`, { headers: this.cookies.size ? { cookie: this.cookieHeader() } : {} });
    this.remember(response.headers);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  private remember(headers: Headers): void {
    this.lastSetCookies = headers.getSetCookie().map(parseSetCookie);
    for (const cookie of this.lastSetCookies) {
      if (cookie.attributes.get("max-age") === "0") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }
}

export const VIEWER_FIELDS = "user { id email name } organization { id name } role memberships { role organization { id name } }";

export interface ViewerAnswer {
  user: { id: string; email: string; name: string };
  organization: { id: string; name: string };
  role: "OWNER" | "ADMIN" | "MEMBER";
  memberships: Array<{ role: string; organization: { id: string; name: string } }>;
}

/** Signs a new account up in `browser`; fails the test when it is refused. */
export async function signUp(
  browser: Browser,
  input: { email: string; name?: string; password?: string; inviteToken?: string },
): Promise<ViewerAnswer> {
  const answer = await browser.graphql<{ signUp: ViewerAnswer }>(
    `mutation ($input: SignUpInput!) { signUp(input: $input) { ${VIEWER_FIELDS} } }`,
    { input: { name: input.email.split("@")[0], password: "correct horse battery", ...input } },
  );
  if (!answer.data) throw new Error(`signUp failed: ${JSON.stringify(answer.errors)}`);
  return answer.data.signUp;
}

export async function logIn(browser: Browser, email: string, password: string, inviteToken?: string) {
  return browser.graphql<{ logIn: ViewerAnswer }>(`mutation ($input: LogInInput!) { logIn(input: $input) { ${VIEWER_FIELDS} } }`, {
    input: { email, password, ...(inviteToken ? { inviteToken } : {}) },
  });
}
