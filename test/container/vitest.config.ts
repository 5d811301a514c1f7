// `npm run test:container`: the production image built and run with podman. Kept out of `npm test`
// (its include pattern) because it builds an image and needs podman and a PostgreSQL on the host.
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: path.resolve(import.meta.dirname, '../..'),
    include: ['test/container/**/*.container.ts'],
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    // The first run debootstraps a base image and builds the app image: minutes on a shared 2-core machine.
    hookTimeout: 40 * 60_000,
  },
});
