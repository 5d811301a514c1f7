// Background runs (issue #12 item 3) on the real app: 202 at once, status, the result in three formats
// from another app instance on the same tools DB, survival of the client going away, cancel from another
// instance, expiry, the owner-only rule, the per-user cap and the run's own time limit.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb } from '../../server/db/tools-db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { newRunId, toolsQuery, waitFor } from '../engine/support.js';
import { createQuery } from '../queries/support.js';
import { createToken, withToken } from '../tokens/support.js';

interface RunStatusBody {
  id: string;
  status: string;
  rowCount: number | null;
  error: { code: string } | null;
  resultAvailable: boolean;
}

/** A second Porthole task on the same databases, as behind a load balancer. */
async function secondInstance(t: TestApp): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const toolsDb = connectToolsDb(t.tools.appUrl);
  const dataSources = createDataSourceRegistry(t.config);
  const app = await buildApp({ config: t.config, toolsDb, dataSources });
  await app.ready();
  return {
    app,
    close: async () => {
      await app.close();
      await toolsDb.close();
      await dataSources.close();
    },
  };
}

function start(app: FastifyInstance, t: TestApp, who: SignedIn, body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/api/runs',
    headers: jsonHeaders(who, t),
    payload: JSON.stringify({ background: true, ...body }),
  });
}

async function status(app: FastifyInstance, who: SignedIn, id: string): Promise<RunStatusBody> {
  const res = await app.inject({ method: 'GET', url: `/api/runs/${id}`, headers: { cookie: who.cookie } });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as RunStatusBody;
}

function settled(app: FastifyInstance, who: SignedIn, id: string, timeoutMs = 30_000): Promise<RunStatusBody> {
  return waitFor(
    `run ${id} to end`,
    async () => {
      const run = await status(app, who, id);
      return ['succeeded', 'failed', 'cancelled'].includes(run.status) && run;
    },
    timeoutMs,
  );
}

describe('background runs', () => {
  let t: TestApp;
  let other: Awaited<ReturnType<typeof secondInstance>>;
  let editor: SignedIn;
  beforeAll(async () => {
    t = await startTestApp({ QUERY_TIMEOUT_MS: '1000', BACKGROUND_RUNS_PER_USER: '2' });
    other = await secondInstance(t);
    editor = await signIn(t, 'editor');
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  it('answers 202 at once and serves the result as JSON, NDJSON and CSV from another instance', async () => {
    const res = await start(t.app, t, editor, { dataSource: 'main', sql: 'select id, name from services order by id limit 3' });
    expect(res.statusCode, res.body).toBe(202);
    const { id, status: first } = res.json() as { id: string; status: string };
    expect(first).toBe('queued');
    expect(res.headers.location).toBe(`/api/runs/${id}`);

    const done = await settled(other.app, editor, id);
    expect(done).toMatchObject({ status: 'succeeded', rowCount: 3, error: null, resultAvailable: true });

    const json = await other.app.inject({ method: 'GET', url: `/api/runs/${id}/result`, headers: { cookie: editor.cookie } });
    expect(json.statusCode, json.body).toBe(200);
    const body = json.json() as { columns: Array<{ name: string }>; rows: unknown[][]; rowCount: number };
    expect(body.columns.map((c) => c.name)).toEqual(['id', 'name']);
    expect(body.rows.map((row) => row[0])).toEqual([1, 2, 3]);

    const ndjson = await other.app.inject({
      method: 'GET',
      url: `/api/runs/${id}/result`,
      headers: { cookie: editor.cookie, accept: 'application/x-ndjson' },
    });
    const lines = ndjson.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => Object.keys(line)[0])).toEqual(['columns', 'rows', 'done']);
    expect(lines[1]!.rows).toEqual(body.rows);

    const csv = await other.app.inject({
      method: 'GET',
      url: `/api/runs/${id}/result`,
      headers: { cookie: editor.cookie, accept: 'text/csv' },
    });
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\n')[0]).toBe('id,name');
    expect(csv.body.trim().split('\n')).toHaveLength(4);

    // Every read is in the audit log.
    const reads = await toolsQuery(
      t,
      `select details->>'format' as format from audit_events where action = 'run.result_read' and details->>'runId' = $1 order by seq`,
      [id],
    );
    expect(reads.rows.map((row) => row.format)).toEqual(['json', 'ndjson', 'csv']);
  });

  it('goes on after the client goes away, past the interactive time limit, under its own', async () => {
    // QUERY_TIMEOUT_MS is 1 s here: the same query run interactively times out.
    const sql = 'select pg_sleep(1.5) as slept, 7 as seven';
    const interactive = await t.app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: jsonHeaders(editor, t),
      payload: JSON.stringify({ dataSource: 'main', sql }),
    });
    expect(interactive.json().error.code).toBe('query_timeout');

    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const runId = newRunId();
    // Send the request and drop the connection as soon as the answer starts: the tab closed.
    await new Promise<void>((resolve, reject) => {
      const request = http.request(
        { host: '127.0.0.1', port, method: 'POST', path: '/api/runs', headers: jsonHeaders(editor, t) },
        (response) => {
          expect(response.statusCode).toBe(202);
          request.destroy();
          resolve();
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ dataSource: 'main', sql, background: true, runId }));
    });
    const done = await settled(t.app, editor, runId);
    expect(done).toMatchObject({ status: 'succeeded', rowCount: 1 });
  });

  it('is cancelled from another instance with the existing cancel', async () => {
    const res = await start(t.app, t, editor, { dataSource: 'main', sql: 'select pg_sleep(60)' });
    const { id } = res.json() as { id: string };
    await waitFor('the run to start', async () => (await status(other.app, editor, id)).status === 'running');
    const cancel = await other.app.inject({
      method: 'POST',
      url: `/api/runs/${id}/cancel`,
      headers: jsonHeaders(editor, t),
      payload: '{}',
    });
    expect(cancel.statusCode, cancel.body).toBe(200);
    const done = await settled(t.app, editor, id);
    expect(done).toMatchObject({ status: 'cancelled', resultAvailable: false });
    const result = await t.app.inject({ method: 'GET', url: `/api/runs/${id}/result`, headers: { cookie: editor.cookie } });
    expect([result.statusCode, result.json().error.code]).toEqual([409, 'run_not_finished']);
  });

  it('is readable by its owner and admins only; anyone else gets 404', async () => {
    const res = await start(t.app, t, editor, { dataSource: 'main', sql: 'select 1 as one' });
    const { id } = res.json() as { id: string };
    await settled(t.app, editor, id);
    const stranger = await signIn(t, 'editor');
    for (const url of [`/api/runs/${id}`, `/api/runs/${id}/result`]) {
      const refused = await t.app.inject({ method: 'GET', url, headers: { cookie: stranger.cookie } });
      expect({ url, status: refused.statusCode }).toEqual({ url, status: 404 });
    }
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/api/runs/${id}/cancel`,
      headers: jsonHeaders(stranger, t),
      payload: '{}',
    });
    expect(cancel.statusCode).toBe(404);
    const strangersList = await t.app.inject({
      method: 'GET',
      url: '/api/runs/background',
      headers: { cookie: stranger.cookie },
    });
    expect(strangersList.json().runs).toEqual([]);
    const admin = await signIn(t, 'admin');
    const asAdmin = await t.app.inject({ method: 'GET', url: `/api/runs/${id}/result`, headers: { cookie: admin.cookie } });
    expect(asAdmin.statusCode).toBe(200);
    const mine = await t.app.inject({ method: 'GET', url: '/api/runs/background', headers: { cookie: editor.cookie } });
    expect(mine.json().runs.map((run: { id: string }) => run.id)).toContain(id);
  });

  it('keeps the result until it expires', async () => {
    const res = await start(t.app, t, editor, { dataSource: 'main', sql: 'select 2 as two' });
    const { id } = res.json() as { id: string };
    await settled(t.app, editor, id);
    const url = `/api/runs/${id}/result`;
    expect((await t.app.inject({ method: 'GET', url, headers: { cookie: editor.cookie } })).statusCode).toBe(200);
    await toolsQuery(t, `update results set expires_at = now() - interval '1 second' where run_id = $1`, [id]);
    await toolsQuery(t, `update background_runs set result_expires_at = now() - interval '1 second' where id = $1`, [id]);
    const expired = await t.app.inject({ method: 'GET', url, headers: { cookie: editor.cookie } });
    expect([expired.statusCode, expired.json().error.code]).toEqual([410, 'result_expired']);
    expect((await status(t.app, editor, id)).resultAvailable).toBe(false);
  });

  it('refuses at once what an interactive run would refuse, and caps unfinished runs per user', async () => {
    const viewer = await signIn(t, 'viewer');
    const refused = await start(t.app, t, viewer, { dataSource: 'main', sql: 'select 1' });
    expect(refused.statusCode).toBe(403);
    const broken = await start(t.app, t, editor, { dataSource: 'main', sql: 'selec 1' });
    expect(broken.statusCode).toBe(400);
    const count = await toolsQuery(t, 'select count(*)::int as n from background_runs where user_id = $1', [viewer.user.id]);
    expect(count.rows[0].n).toBe(0);

    const busy = await signIn(t, 'editor');
    const long = [];
    for (let i = 0; i < 2; i++) {
      const res = await start(t.app, t, busy, { dataSource: 'main', sql: 'select pg_sleep(60)' });
      expect(res.statusCode, res.body).toBe(202);
      long.push((res.json() as { id: string }).id);
    }
    const third = await start(t.app, t, busy, { dataSource: 'main', sql: 'select 1' });
    expect([third.statusCode, third.json().error.code]).toEqual([429, 'too_many_background_runs']);
    for (const id of long) {
      await waitFor('the run to be cancellable', async () => {
        const res = await t.app.inject({
          method: 'POST',
          url: `/api/runs/${id}/cancel`,
          headers: jsonHeaders(busy, t),
          payload: '{}',
        });
        return res.statusCode === 200;
      });
      await settled(t.app, busy, id);
    }
    expect((await start(t.app, t, busy, { dataSource: 'main', sql: 'select 1' })).statusCode).toBe(202);
  });

  it('works with an API token: a queries:run token starts a saved query and fetches its CSV', async () => {
    const query = await createQuery(t, editor, {
      sql: 'select id from services where id <= {max_id} order by id',
      variables: [{ name: 'max_id', kind: 'number' }],
    });
    const token = await createToken(t, editor, ['queries:run']);
    const res = await withToken(t, token.token, 'POST', '/api/runs', {
      queryId: query.id,
      params: { max_id: 2 },
      background: true,
    });
    expect(res.statusCode, res.body).toBe(202);
    const { id } = res.json() as { id: string };
    await waitFor('the run to succeed', async () => {
      const run = await withToken(t, token.token, 'GET', `/api/runs/${id}`);
      return run.json().status === 'succeeded';
    });
    const csv = await withToken(t, token.token, 'GET', `/api/runs/${id}/result`, undefined, { accept: 'text/csv' });
    expect(csv.body).toBe('id\n1\n2\n');
    const started = await toolsQuery(
      t,
      `select details->'token'->>'id' as token from audit_events where action = 'run.started' and details->>'runId' = $1`,
      [id],
    );
    expect(started.rows[0].token).toBe(token.info.id);
  });
});

describe('background run time limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ BACKGROUND_QUERY_TIMEOUT_MS: '1000' });
  });
  afterAll(() => t?.close());

  it('stops a background run at BACKGROUND_QUERY_TIMEOUT_MS', async () => {
    const editor = await signIn(t, 'editor');
    const res = await start(t.app, t, editor, { dataSource: 'main', sql: 'select pg_sleep(10)' });
    const { id } = res.json() as { id: string };
    const done = await settled(t.app, editor, id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'query_timeout' } });
  });
});
