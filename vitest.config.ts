import { defineConfig } from 'vitest/config';

export default defineConfig({
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
