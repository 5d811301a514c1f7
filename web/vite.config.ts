import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

const server = process.env.PORTHOLE_DEV_SERVER ?? 'http://127.0.0.1:3000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [svelte()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    // Keep the module-preload polyfill out of an inline script: the CSP allows none.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // Vega is one lazily loaded chunk of ~270 KB gzip by design; the first screen's budget is checked by
    // scripts/bundle-budget.mjs instead.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: { '/api': server, '/auth': server, '/healthz': server, '/readyz': server },
  },
});
