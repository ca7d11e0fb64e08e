import { Router } from "@solidjs/router";
import { fireEvent, render, screen, waitFor } from "@solidjs/testing-library";
import { Provider } from "@urql/solid";
import { describe, expect, it } from "vitest";
import type { ApiKeyRow } from "../../client/src/graphql/settings";
import { ApiKeysSection } from "../../client/src/pages/SettingsPage";
import { createTestClient } from "./graphql-test-client";

const SECRET = "rl_live_4f9c2d7e1b3a8c6d5e0f1a2b3c4d5e6f";

function renderKeys(canManage = true) {
  const keys: ApiKeyRow[] = [
    {
      id: "k1",
      name: "bootstrap",
      prefix: "rl_boot",
      createdAt: new Date(Date.now() - 86_400_000).toISOString(),
      lastUsedAt: null,
      revokedAt: null,
    },
  ];
  const graphql = createTestClient({
    ApiKeys: () => ({ data: { apiKeys: keys } }),
    CreateApiKey: (variables) => {
      const apiKey = {
        id: "k2",
        name: String(variables.name),
        prefix: SECRET.slice(0, 11),
        createdAt: new Date().toISOString(),
        lastUsedAt: null,
        revokedAt: null,
      };
      keys.unshift(apiKey);
      return { data: { createApiKey: { secret: SECRET, apiKey } } };
    },
  });
  render(() => (
    <Router
      root={() => (
        <Provider value={graphql.client}>
          <ApiKeysSection canManage={canManage} />
        </Provider>
      )}
    />
  ));
  return graphql;
}

describe("API key creation", () => {
  it("shows the new key's secret once, and never again after the dialog closes", async () => {
    const graphql = renderKeys();
    await screen.findByText("bootstrap");
    fireEvent.click(screen.getByRole("button", { name: /Create API key/ }));
    fireEvent.input(screen.getByLabelText("Name"), { target: { value: "billing service" } });
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));

    expect((await screen.findByTestId("api-key-secret")).textContent).toBe(SECRET);
    expect(screen.getByText(/only time the key is shown/)).toBeTruthy();
    expect(graphql.operations.find((operation) => operation.name === "CreateApiKey")?.variables).toEqual({ name: "billing service" });

    fireEvent.click(screen.getByRole("button", { name: "I have stored it" }));
    await waitFor(() => expect(screen.queryByTestId("api-key-secret")).toBeNull());
    expect(document.body.textContent).not.toContain(SECRET);

    // Opening the dialog again asks for a new key's name: the old secret is gone for good.
    fireEvent.click(screen.getByRole("button", { name: /Create API key/ }));
    expect(screen.getByLabelText("Name")).toBeTruthy();
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it("asks for a name before creating a key", async () => {
    const graphql = renderKeys();
    await screen.findByText("bootstrap");
    fireEvent.click(screen.getByRole("button", { name: /Create API key/ }));
    fireEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByText(/Name the key after what uses it/)).toBeTruthy();
    expect(graphql.operations.filter((operation) => operation.name === "CreateApiKey")).toEqual([]);
  });

  it("neither asks for nor offers keys to members, and says who can", async () => {
    const graphql = renderKeys(false);
    expect(await screen.findByText(/Only owners and admins/)).toBeTruthy();
    expect(screen.queryByRole("button", { name: /Create API key/ })).toBeNull();
    expect(graphql.operations.filter((operation) => operation.name === "ApiKeys")).toEqual([]);
  });
});
