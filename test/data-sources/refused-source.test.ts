// A data source refused by its self-check (issue #18, defect 3): /readyz answers 503 naming every refused
// source, and with NODE_ENV=production a refused main source stops the start with its problems listed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_SESSION_SECRET, type TestApp } from '../support/app.js';
import { signIn } from '../support/auth.js';
import { createMainDatabase, createToolsDatabase, type TestMainDatabase, type TestToolsDatabase } from '../support/databases.js';
import { freePort, serverMainArgs, startProcess } from '../support/processes.js';

describe('/readyz with a refused data source', () => {
  let dir: string;
  let t: TestApp;
  let other: TestMainDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-refused-'));
    other = await createMainDatabase({ notifications: 10 });
  });
  afterAll(async () => {
    await t?.close();
    await other?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  // Two whole test apps, each on fresh databases: well past the default 30 s on a loaded machine.
  it('answers 503 naming main and every other refused source; a read-only source stays ok', { timeout: 120_000 }, async () => {
    const file = path.join(dir, 'sources.json');
    await writeFile(
      file,
      JSON.stringify({
        sources: [
          { id: 'replica', name: 'Replica (superuser)', url: other.adminUrl },
          { id: 'reporting', name: 'Reporting (read-only)', url: other.readerUrl },
        ],
      }),
    );
    // other.adminUrl is a superuser: a role that can do anything.
    t = await startTestApp({ DATA_SOURCES_FILE: file });
    const refusedApp = await startTestApp({ DATA_SOURCES_FILE: file, MAIN_DATABASE_URL: other.adminUrl });
    try {
      const res = await refusedApp.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        status: 'not_ready',
        checks: {
          tools: 'ok',
          'source:main': 'refused',
          'source:replica': 'refused',
          'source:reporting': 'ok',
          audit_log: 'append-only',
        },
        refused: ['main', 'replica'],
        error: {
          code: 'data_source_refused',
          dataSource: 'main',
          message: 'The data source "main" failed its self-check; admins see why.',
        },
      });
      // The public answer names sources only; admins read why.
      expect(res.body).not.toContain('superuser');
      const admin = await signIn(refusedApp, 'admin');
      const list = await refusedApp.app.inject({ method: 'GET', url: '/api/data-sources', headers: { cookie: admin.cookie } });
      const main = (list.json().dataSources as Array<{ id: string; status: string; problems: string[] }>).find(
        (s) => s.id === 'main',
      );
      expect(main?.status).toBe('refused');
      expect(main?.problems.join(' ')).toMatch(/superuser/);
    } finally {
      await refusedApp.close();
    }
    // The same sources with a read-only main: only the refused replica keeps the task from being ready.
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().refused).toEqual(['replica']);
  });
});

describe('NODE_ENV=production with a refused main source', () => {
  let tools: TestToolsDatabase;
  let main: TestMainDatabase;
  beforeAll(async () => {
    [tools, main] = await Promise.all([createToolsDatabase({ migrate: false }), createMainDatabase({ notifications: 10 })]);
  });
  const started: Array<ReturnType<typeof startProcess>> = [];
  afterAll(async () => {
    // A server that did not refuse (before the fix) would run on: stop it.
    for (const proc of started) proc.signalGroup('SIGKILL');
    await Promise.all(started.map((proc) => proc.exited));
    await tools?.drop();
    await main?.drop();
  });

  const start = async (mainUrl: string) => {
    const port = await freePort();
    const proc = startProcess(process.execPath, serverMainArgs(), {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        PUBLIC_URL: 'https://porthole.test',
        TOOLS_DATABASE_URL: tools.appUrl,
        TOOLS_MIGRATION_URL: tools.ownerUrl,
        MAIN_DATABASE_URL: mainUrl,
        SESSION_SECRET: TEST_SESSION_SECRET,
        OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
        OIDC_CLIENT_ID: 'x',
        OIDC_CLIENT_SECRET: 'y',
      },
    });
    started.push(proc);
    return proc;
  };

  it('stops the start (exit 1) with the problems listed when MAIN_DATABASE_URL can write', async () => {
    const proc = await start(main.adminUrl);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/failed to start: data source "main" refused \(NODE_ENV=production\)/);
    expect(proc.output()).toMatch(/^ {2}- .*superuser/m);
    expect(proc.output()).not.toContain('ready in');
  });

  it('stops the start when MAIN_DATABASE_URL is the tools database', async () => {
    const proc = await start(tools.appUrl);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/data source "main" refused/);
    expect(proc.output()).toMatch(/tools database/i);
  });
});
