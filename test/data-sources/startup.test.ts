// A broken DATA_SOURCES_FILE stops `npm start` before anything runs, with every problem listed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverMainArgs, startProcess } from '../support/processes.js';

describe('DATA_SOURCES_FILE at start-up', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-sources-start-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses to start on a bad file and names each problem', async () => {
    const file = path.join(dir, 'sources.json');
    await writeFile(file, JSON.stringify({ sources: [{ id: 'replica', urlEnv: 'NOT_SET_ANYWHERE' }, { id: 'Bad' }] }));
    const proc = startProcess(process.execPath, serverMainArgs(), {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        TOOLS_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/tools',
        MAIN_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/main',
        SESSION_SECRET: 'test-only-9f2c7e1ab84d4c6e8a3b5d7f0e2c4a6b8d',
        OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
        OIDC_CLIENT_ID: 'x',
        OIDC_CLIENT_SECRET: 'y',
        DATA_SOURCES_FILE: file,
      },
    });
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('Porthole cannot start: 3 configuration problems');
    expect(proc.output()).toContain('data source "replica": the environment variable NOT_SET_ANYWHERE (its "urlEnv") is not set');
    expect(proc.output()).toContain('DATA_SOURCES_FILE source #2 needs an "id"');
  });
});
