/// <reference types="vitest/config" />
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));
// `npm run dev:ui` proxies the API to a running control plane.
const backend = process.env.TURNPIKE_DEV_BACKEND ?? 'http://127.0.0.1:9443';

export default defineConfig({
  root,
  base: '/',
  // One cache beside the root node_modules, not ui/node_modules.
  cacheDir: '../node_modules/.vite',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    target: 'es2022',
    sourcemap: false,
    // The polyfill would be bundled into the entry; every supported browser has modulepreload.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: {
      '/graphql': { target: backend, ws: true },
      '/oauth2': backend,
      '/readyz': backend,
    },
  },
  test: {
    root,
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    css: false,
    // Generous: typing with user-event in jsdom is slow when the test threads compete for CPU.
    testTimeout: 30_000,
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
