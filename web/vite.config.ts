// Vite build of the console. The output (dist/) is committed and embedded in the Go binary
// (web.go), so the build must be deterministic: content-hashed names, no source maps, no
// timestamps. `make web` runs it; `make check` fails when the committed dist/ differs from a
// rebuild.
import { defineConfig } from "vite";

export default defineConfig({
  // Every asset is served under /console/ by the Go server; the pages (/app, /admin, /share/…,
  // /uptime, /pricing) are the one index.html.
  base: "/console/",
  logLevel: "warn",
  esbuild: {
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
  },
  resolve: {
    // The generated client (../clients/ts/src) imports openapi-fetch from outside web/: resolve
    // it, and Preact, from web/node_modules.
    dedupe: ["openapi-fetch", "preact"],
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2022",
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
});
