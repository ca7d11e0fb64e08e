/** Renders a component as the dashboard does (inside the router, with a urql client), answered by the test's responders. */
import { Router } from "@solidjs/router";
import { render } from "@solidjs/testing-library";
import { Provider } from "@urql/solid";
import type { JSX } from "solid-js";
import { createTestClient, type Responder } from "./graphql-test-client";

export function renderWithClient(ui: () => JSX.Element, responders: Record<string, Responder>) {
  const graphql = createTestClient(responders);
  render(() => <Router root={() => <Provider value={graphql.client}>{ui()}</Provider>} />);
  return graphql;
}
