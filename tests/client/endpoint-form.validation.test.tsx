import { fireEvent, screen, waitFor } from "@solidjs/testing-library";
import { describe, expect, it } from "vitest";
import { EndpointForm } from "../../client/src/pages/EndpointsPage";
import type { Responder } from "./graphql-test-client";
import { renderWithClient } from "./render-with-client";

function renderForm(responders: Record<string, Responder>) {
  const created: Array<{ id: string }> = [];
  const graphql = renderWithClient(() => <EndpointForm onCreated={(endpoint) => created.push(endpoint)} />, responders);
  return { graphql, created };
}

const type = (label: string | RegExp, value: string) => fireEvent.input(screen.getByLabelText(label), { target: { value } });
const addDestination = () => fireEvent.click(screen.getByRole("button", { name: "Add destination" }));
const submit = () => fireEvent.click(screen.getByRole("button", { name: "Create endpoint" }));

describe("create endpoint form", () => {
  it("refuses a missing name, a destination that is not a URL and an HMAC check without its secret or header, before asking the server", async () => {
    const { graphql } = renderForm({});
    type("Destination 1", "api.example.com/hooks");
    fireEvent.change(screen.getByLabelText("Verify senders"), { target: { value: "HMAC" } });
    submit();
    expect(await screen.findByText("Name the endpoint, after its sender.")).toBeTruthy();
    expect(screen.getByText("Enter an http:// or https:// URL.").id).toBe("destination-0-error");
    expect(screen.getByLabelText("Destination 1").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("Paste the signing secret the sender gave you.")).toBeTruthy();
    expect(screen.getByText("Name the header that carries the signature.")).toBeTruthy();
    expect(graphql.operations.filter((operation) => operation.name === "CreateEndpoint")).toEqual([]);
  });

  it("shows the server's refusal of a destination at the line it was typed on, blank lines skipped", async () => {
    const { graphql, created } = renderForm({
      CreateEndpoint: () => ({
        errors: [
          {
            message: "forwardUrls[1]: requests to private addresses are not allowed (169.254.169.254)",
            extensions: { code: "BAD_REQUEST", field: "forwardUrls[1]" },
          },
        ],
      }),
    });
    type("Name", "Stripe");
    type("Destination 1", "https://api.example.com/hooks");
    addDestination();
    addDestination();
    type("Destination 3", "http://169.254.169.254/latest");
    submit();
    const error = await screen.findByText(/private addresses are not allowed/);
    expect(error.id).toBe("destination-2-error");
    expect(screen.getByLabelText("Destination 3").getAttribute("aria-invalid")).toBe("true");
    expect(graphql.operations.find((operation) => operation.name === "CreateEndpoint")?.variables.forwardUrls).toEqual([
      "https://api.example.com/hooks",
      "http://169.254.169.254/latest",
    ]);
    expect(created).toEqual([]);
  });

  it("sends the endpoint as typed: destinations, GitHub verification with its secret, in-order delivery", async () => {
    const { graphql, created } = renderForm({ CreateEndpoint: () => ({ data: { createEndpoint: { id: "endpoint-1", name: "GitHub" } } }) });
    type("Name", "  GitHub ");
    type("Destination 1", "https://ci.example.com/github");
    addDestination();
    type("Destination 2", "https://audit.example.com/in");
    fireEvent.change(screen.getByLabelText("Verify senders"), { target: { value: "GITHUB" } });
    type("Signing secret", "s3cret");
    expect(screen.queryByLabelText("Signature header")).toBeNull();
    fireEvent.click(screen.getByLabelText(/Deliver in order/));
    submit();
    await waitFor(() => expect(created).toEqual([{ id: "endpoint-1", name: "GitHub" }]));
    expect(graphql.operations.find((operation) => operation.name === "CreateEndpoint")?.variables).toEqual({
      name: "GitHub",
      forwardUrls: ["https://ci.example.com/github", "https://audit.example.com/in"],
      verify: { kind: "GITHUB", secret: "s3cret" },
      ordered: true,
    });
  });
});
