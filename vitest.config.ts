import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Web specs import modules that use Svelte runes (*.svelte.ts, e.g. through lib/api.ts): compile them
  // as the app's build does, or `$state` is undefined at run time.
  plugins: [svelte()],
  test: {
    include: ['server/**/*.spec.ts', 'schema/**/*.spec.ts', 'web/src/**/*.spec.ts', 'deploy/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Integration files share one PostgreSQL server; two at a time keeps a 2-core machine responsive.
    maxWorkers: 2,
  },
});
