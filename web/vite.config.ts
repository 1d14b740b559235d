// Builds the UI into the folder the Python server serves (src/armada/lookout/ui_build).
// `npm run dev` serves it with hot reload and forwards the API to an `armada dev` on :8080.
import react from "@vitejs/plugin-react"
import { defineConfig } from "vitest/config"

const api = process.env.ARMADA_HTTP ?? "http://127.0.0.1:8080"

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/armada/lookout/ui_build",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: { "/api": api, "/v1": api, "/health": api },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
})
