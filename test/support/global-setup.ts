// Once per test run: a PostgreSQL server for the integration tests. TEST_DATABASE_URL (a superuser URL)
// points at an existing server; otherwise an embedded one runs in a temporary folder. The web app is
// built if its sources changed, for the browser tests.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedCluster } from '../../server/demo/embedded-cluster.js';
import { freePort } from './processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--if-stale'], { stdio: 'inherit' });
  const external = process.env.TEST_DATABASE_URL;
  if (external) {
    project.provide('adminUrl', external);
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-test-pg-'));
  // A port the OS hands out, so two test runs on one machine never race for the same one.
  const cluster = await startEmbeddedCluster({ dir, log: () => undefined, preferredPort: await freePort() });
  project.provide('adminUrl', cluster.adminUrl);
  return async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
