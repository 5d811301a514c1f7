// Boots the demo the way `npm start` does (same entry point, a fresh folder as the working directory),
// twice: the first start creates the cluster and data, the second reuses them. Ctrl-C must leave no
// PostgreSQL behind.
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  freePortPair,
  postgresProcessesUsing,
  serverMainArgs,
  startProcess,
  TSX_LOADER,
  waitForHttp,
  type RunningProcess,
} from './support/processes.js';

/** The listener is up before start-up has finished (the system.started event, the ready line). */
async function waitForOutput(proc: RunningProcess, pattern: RegExp): Promise<void> {
  for (let waited = 0; !pattern.test(proc.output()); waited += 50) {
    if (waited > 30_000) throw new Error(`no ${pattern} in:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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

  function demoEnv(port: number): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DEMO_NOTIFICATIONS: '20000', NODE_ENV: 'development' };
    for (const name of ['TOOLS_DATABASE_URL', 'MAIN_DATABASE_URL', 'TEST_DATABASE_URL', 'SESSION_SECRET']) delete env[name];
    return env;
  }
  const startDemo = (port: number) => startProcess(process.execPath, serverMainArgs(), { cwd: workDir, env: demoEnv(port) });

  async function bootAndStop(port: number, whileRunning?: () => Promise<void>): Promise<{ output: string }> {
    const proc = startDemo(port);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`, 150_000, proc);
      await waitForOutput(proc, /ready in /);
      const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
      // The demo main database has two access tiers (standard and pii), each with its own pool.
      expect(ready).toEqual({
        status: 'ready',
        checks: { tools: 'ok', 'source:main': 'ok', 'source:main:pii': 'ok', audit_log: 'append-only' },
      });
      expect(postgresProcessesUsing(workDir).length).toBeGreaterThan(0);
      await whileRunning?.();
    } finally {
      proc.signalGroup('SIGINT');
    }
    const code = await proc.exited;
    expect(code, proc.output()).toBe(0);
    return { output: proc.output() };
  }

  it('creates the cluster and demo data on the first start and stops cleanly on Ctrl-C', async () => {
    const { output } = await bootAndStop(await freePortPair());
    expect(output).toMatch(/First start: setting up databases and demo data/);
    expect(output).toMatch(/Generating demo data: 20,000 notifications/);
    expect(output).toMatch(/demo: example queries and the "Notification service health" dashboard created/);
    // A newcomer's terminal: no runtime or library warnings (Node 24 is the supported runtime).
    expect(output).not.toMatch(/WARNING|Unsupported runtime|ExperimentalWarning|DeprecationWarning|strict mode/i);
    expect(output).toMatch(/SIGINT: shutting down[\s\S]*stopped/);
    // The self-check found each tier's grants as the demo declares them (it warns otherwise).
    expect(output).not.toMatch(/sensitive column|connect as the same role|can create temporary tables/);
    expect(postgresProcessesUsing(workDir)).toEqual([]);
    expect((await readdir(path.join(workDir, '.porthole'))).sort()).toEqual(['pg', 'secrets.json', 'state.json']);
  }, 200_000);

  it('reuses the data on the second start, and logs readable lines rather than JSON', async () => {
    const port = await freePortPair();
    const { output } = await bootAndStop(port, async () => {
      expect((await fetch(`http://127.0.0.1:${port}/api/me`)).status).toBe(401);
    });
    expect(output).not.toMatch(/First start|Generating demo data|example queries/);
    // npm's output here is a pipe, as in an IDE's run panel: still pino-pretty's lines, no JSON objects.
    expect(output).toMatch(/INFO.*: incoming request/);
    expect(output).not.toMatch(/^\{"level"/m);
    expect(output).toMatch(/ready in .*\(demo, Node 24\.\d+\.\d+\)/);
    expect(postgresProcessesUsing(workDir)).toEqual([]);
  }, 120_000);

  it('exits non-zero with one clear line when its port is taken, before starting anything', async () => {
    const port = await freePortPair();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const proc = startDemo(port);
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toMatch(new RegExp(`failed to start: port ${port} on 127\\.0\\.0\\.1 is taken`));
      expect(proc.output()).not.toMatch(/\n\s+at /); // no stack trace for an operator's mistake
      expect(postgresProcessesUsing(workDir)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('exits non-zero with one clear line, before starting PostgreSQL, when the port after PORT is taken', async () => {
    const port = await freePortPair();
    const blocker = net.createServer().listen(port + 1, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const proc = startDemo(port);
      expect(await proc.exited).toBe(1);
      expect(proc.output()).toMatch(
        new RegExp(
          `failed to start: port ${port + 1} on 127\\.0\\.0\\.1 is taken: demo mode's identity provider listens on PORT \\+ 1`,
        ),
      );
      expect(proc.output()).not.toMatch(/starting the embedded PostgreSQL/);
      expect(proc.output()).not.toMatch(/\n\s+at /);
      expect(postgresProcessesUsing(workDir)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('audit:verify in demo mode needs no settings and exits 1 on a tampered log', async () => {
    const appPort = await freePortPair();
    const runVerify = () =>
      startProcess(process.execPath, ['--import', TSX_LOADER, path.resolve('server/cli/audit-verify.ts')], {
        cwd: workDir,
        env: demoEnv(appPort),
      });
    await bootAndStop(appPort, async () => {
      const clean = runVerify();
      expect(await clean.exited, clean.output()).toBe(0);
      const secrets = JSON.parse(await readFile(path.join(workDir, '.porthole/secrets.json'), 'utf8'));
      const { port } = JSON.parse(await readFile(path.join(workDir, '.porthole/state.json'), 'utf8'));
      const superuser = new pg.Client({
        connectionString: `postgres://postgres:${encodeURIComponent(secrets.superuserPassword)}@127.0.0.1:${port}/porthole_tools`,
      });
      await superuser.connect();
      await superuser.query(
        `begin; set local session_replication_role = replica; update audit_events set sql = 'tampered' where seq = 1; commit`,
      );
      await superuser.end();
      const tampered = runVerify();
      expect(await tampered.exited, tampered.output()).toBe(1);
      expect(tampered.output()).toMatch(/FAILED at seq 1/);
    });
  }, 180_000);
});
