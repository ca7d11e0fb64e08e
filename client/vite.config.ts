/**
 * Builds the dashboard (client/ -> client/dist, served by the server at `/`),
 * and serves it in development (`npm run dev:client`) with the API proxied to
 * a Runlater on :4000, WebSocket subscriptions included.
 */
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

const apiTarget = "http://127.0.0.1:4000";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [solid()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Hashed file names: the server caches /assets/* for a year and index.html not at all.
    assetsDir: "assets",
    sourcemap: true,
  },
  server: {
    port: 5173,
    proxy: {
      "/graphql": { target: apiTarget, ws: true, changeOrigin: false },
      "/api": { target: apiTarget },
      "/health": { target: apiTarget },
    },
  },
});
