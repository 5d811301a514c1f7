// Boots the demo the way `npm start` does (same entry point, a fresh folder as the working directory),
// twice: the first start creates the cluster and data, the second reuses them. Ctrl-C must leave no
// PostgreSQL behind.
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortPair, postgresProcessesUsing, startProcess, TSX_LOADER, waitForHttp } from './support/processes.js';

const MAIN = path.resolve('server/main.ts');

describe('npm start (demo mode)', () => {
  let workDir: string;
  beforeAll(async () => {
    workDir = await mkdtemp(path.join(os.tmpdir(), 'porthole-start-'));
    await chmod(workDir, 0o755); // mkdtemp makes it private; PostgreSQL runs as "postgres" when we are root
  });
  afterAll(async () => {
    for (const pid of postgresProcessesUsing(workDir)) process.kill(pid, 'SIGKILL');
    await rm(workDir, { recursive: true, force: true });
  });

  async function bootAndStop(port: number): Promise<{ output: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DEMO_NOTIFICATIONS: '20000', NODE_ENV: 'development' };
    for (const name of ['TOOLS_DATABASE_URL', 'MAIN_DATABASE_URL', 'TEST_DATABASE_URL', 'SESSION_SECRET']) delete env[name];
    const proc = startProcess(process.execPath, ['--import', TSX_LOADER, MAIN], { cwd: workDir, env });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 150_000, proc);
      const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
      expect(ready).toEqual({ status: 'ready', checks: { tools: 'ok', 'source:main': 'ok' } });
      expect(postgresProcessesUsing(workDir).length).toBeGreaterThan(0);
    } finally {
      proc.signalGroup('SIGINT');
    }
    const code = await proc.exited;
    expect(code).toBe(0);
    return { output: proc.output() };
  }

  it('creates the cluster and demo data on the first start and stops cleanly on Ctrl-C', async () => {
    const { output } = await bootAndStop(await freePortPair());
    expect(output).toMatch(/First start: setting up databases and demo data/);
    expect(output).toMatch(/Generating demo data: 20,000 notifications/);
    expect(output).toMatch(/SIGINT: shutting down[\s\S]*stopped/);
    expect(postgresProcessesUsing(workDir)).toEqual([]);
    expect((await readdir(path.join(workDir, '.porthole'))).sort()).toEqual(['pg', 'secrets.json', 'state.json']);
  }, 200_000);

  it('reuses the data on the second start', async () => {
    const { output } = await bootAndStop(await freePortPair());
    expect(output).not.toMatch(/First start|Generating demo data/);
    expect(output).toMatch(/ready in/);
    expect(postgresProcessesUsing(workDir)).toEqual([]);
  }, 120_000);
});
