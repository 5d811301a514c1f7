// Every run.started gets exactly one closing event (issue #18, defect 2): whenever the client goes away,
// and when the task running it is killed (the stale-run purge then closes it as run.abandoned). The check
// itself (GET /api/audit/unclosed-runs, shown on the audit page) finds run.started events left without one.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SESSION_SECRET } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { freePort, serverMainArgs, startProcess, waitForHttp, type RunningProcess } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { auditOf, backendsOf, toolsQuery, waitFor } from './support.js';

const CLOSINGS = ['run.finished', 'run.failed', 'run.cancelled', 'run.abandoned'];

describe('one closing event per run.started', () => {
  let t: TestServer;
  let editor: SignedIn;
  let admin: SignedIn;
  let child: RunningProcess | undefined;
  beforeAll(async () => {
    t = await startTestServer();
    [editor, admin] = await Promise.all([signIn(t, 'editor'), signIn(t, 'admin')]);
  });
  afterAll(async () => {
    child?.signalGroup('SIGKILL');
    await child?.exited;
    await t?.close();
  });

  const unclosed = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/audit/unclosed-runs', headers: { cookie: admin.cookie } });
    expect(res.statusCode).toBe(200);
    return res.json() as { count: number; runs: Array<{ runId: string }> };
  };
  const activeRow = async (runId: string) =>
    (await toolsQuery(t, 'select 1 from active_runs where id = $1', [runId])).rowCount === 1;
  const started = async (runId: string) => (await auditOf(t, runId)).some((e) => e.action === 'run.started');
  const running = async (runId: string) => (await backendsOf(t, runId)).some((b) => b.state === 'active');

  /** Sends a run to `origin` and destroys the connection once `ready` says so. */
  async function abandon(
    origin: string,
    path: string,
    accept: string,
    sql: string,
    ready: (runId: string, received: string) => Promise<boolean>,
  ): Promise<string> {
    const runId = crypto.randomUUID();
    const request = http.request(`${origin}${path}`, { method: 'POST', headers: { ...jsonHeaders(editor, t), accept } });
    request.on('error', () => undefined);
    let received = '';
    request.on('response', (response) => {
      response.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
      response.on('error', () => undefined);
    });
    request.end(JSON.stringify({ dataSource: 'main', sql, runId }));
    await waitFor('the stage to abort at', () => ready(runId, received), 30_000);
    request.destroy();
    return runId;
  }

  const sleepy = 'select pg_sleep(60)';
  const rowsThenSleep = 'select g, pg_sleep(case when g > 100 then 60 else 0 end)::text from generate_series(1, 200) g';
  const stages: Array<[string, string, string, string, (runId: string, received: string) => Promise<boolean>]> = [
    ['once the run is registered (active_runs)', '/api/runs', 'application/json', sleepy, activeRow],
    ['once run.started is recorded', '/api/runs', 'application/json', sleepy, started],
    ['while the query runs', '/api/runs', 'application/json', sleepy, running],
    [
      'while rows stream to the page',
      '/api/runs',
      'application/x-ndjson',
      rowsThenSleep,
      async (_, got) => got.includes('"rows"'),
    ],
    ['while a CSV download runs', '/api/runs.csv', 'text/csv', sleepy, running],
  ];

  for (const [stage, path, accept, sql, ready] of stages) {
    it(`closes a run aborted ${stage} exactly once`, async () => {
      const runId = await abandon(t.origin, path, accept, sql, ready);
      const events = await waitFor('the run to be closed', async () => {
        const found = await auditOf(t, runId);
        return found.some((e) => CLOSINGS.includes(e.action)) && !(await activeRow(runId)) && found;
      });
      expect(events.map((e) => e.action)).toEqual(['run.started', 'run.cancelled']);
      expect((await unclosed()).runs.map((run) => run.runId)).not.toContain(runId);
    });
  }

  // Starts and kills a whole Porthole process: past the default 30 s on a loaded machine.
  it('closes the run of a killed app process as run.abandoned through the stale-run purge', { timeout: 120_000 }, async () => {
    // A second Porthole process on the same tools and main databases, killed while it runs a query.
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    child = startProcess(process.execPath, serverMainArgs(), {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        PORT: String(port),
        PUBLIC_URL: origin,
        TOOLS_DATABASE_URL: t.tools.appUrl,
        TOOLS_MIGRATION_URL: t.tools.ownerUrl,
        MAIN_DATABASE_URL: t.main.readerUrl,
        SESSION_SECRET: TEST_SESSION_SECRET,
        OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
        OIDC_CLIENT_ID: 'porthole-test',
        OIDC_CLIENT_SECRET: 'unused-in-this-test',
      },
    });
    await waitForHttp(`${origin}/healthz`, 60_000, child);
    const runId = crypto.randomUUID();
    const request = http.request(`${origin}/api/runs`, {
      method: 'POST',
      headers: { ...jsonHeaders(editor, t), origin, accept: 'application/json' },
    });
    request.on('error', () => undefined);
    request.end(JSON.stringify({ dataSource: 'main', sql: sleepy, runId }));
    await waitFor('the run to be under way on the other process', () => running(runId), 30_000);

    child.signalGroup('SIGKILL');
    await child.exited;
    child = undefined;
    // Its row outlives it until its deadline; while it is unexpired the run counts as live, not unclosed.
    expect(await activeRow(runId)).toBe(true);
    expect((await unclosed()).runs.map((run) => run.runId)).not.toContain(runId);
    // Its deadline passes (as it would after the source's timeout plus a minute): now it is unclosed.
    await toolsQuery(t, "update active_runs set expires_at = now() - interval '1 second' where id = $1", [runId]);
    expect((await unclosed()).runs.map((run) => run.runId)).toContain(runId);

    expect(await t.app.runService.purgeStaleRuns()).toEqual([runId]);
    const events = await auditOf(t, runId);
    expect(events.map((e) => [e.action, e.outcome, e.error_code])).toEqual([
      ['run.started', null, null],
      ['run.abandoned', 'error', 'run_abandoned'],
    ]);
    expect(await activeRow(runId)).toBe(false);
    expect((await unclosed()).count).toBe(0);
    // A second purge (another task's, say) closes nothing twice.
    expect(await t.app.runService.purgeStaleRuns()).toEqual([]);
  });

  it('counts a run.started left without an end, and the purge closes it once it is old enough', async () => {
    const runId = crypto.randomUUID();
    await t.app.audit.record({
      action: 'run.started',
      actor: { id: editor.user.id, email: editor.user.email },
      details: { runId },
    });
    const found = await unclosed();
    expect(found.runs.map((run) => run.runId)).toContain(runId);
    expect(found.count).toBeGreaterThanOrEqual(1);
    // Recent: it may be recording its end right now, so the purge leaves it.
    expect(await t.app.runService.purgeStaleRuns()).not.toContain(runId);
    // Once past the grace period (here: none), its end will never come: closed as abandoned, once.
    expect(await t.app.runService.purgeStaleRuns({ orphanGraceMs: 0 })).toEqual([runId]);
    expect((await auditOf(t, runId)).map((e) => e.action)).toEqual(['run.started', 'run.abandoned']);
    expect((await unclosed()).count).toBe(0);
  });
});
