// Vitest runs without globals, so testing-library cannot register its own cleanup: unmount after each test.
import { cleanup } from "@solidjs/testing-library";
import { afterEach } from "vitest";

afterEach(() => cleanup());
