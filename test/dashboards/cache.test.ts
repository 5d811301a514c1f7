// The result cache across two app instances on one tools DB: a hit on one for a run computed on the
// other, single flight (concurrent viewers on both cause one execution), every hit audited, refresh and
// max age 0 bypass it, free SQL never cached, a purged query's results deleted.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { call, createQuery, expectStatus } from '../queries/support.js';
import { card, createDashboard, secondInstance } from './support.js';

interface RunBody {
  id: string;
  rows: unknown[][];
  rowCount: number;
  cached?: { runId: string; computedAt: string };
}

describe('result cache', () => {
  let t: TestApp;
  let second: Awaited<ReturnType<typeof secondInstance>>;
  let editor: SignedIn;
  let viewer: SignedIn;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await startTestApp();
    second = await secondInstance(t);
    editor = await signIn(t, 'editor');
    viewer = await signIn(t, 'viewer');
    admin = await signIn(t, 'admin');
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
  });

  function runOn(app: FastifyInstance, who: SignedIn, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
    return app.inject({ method: 'POST', url: '/api/runs', headers: jsonHeaders(who, t), payload: JSON.stringify(body) });
  }
  async function ok(response: Promise<LightMyRequestResponse>): Promise<RunBody> {
    const res = await response;
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as RunBody;
  }
  async function events(action: string, queryId: string) {
    return t.app.toolsDb
      .selectFrom('audit_events')
      .select(['actor_user_id', 'details', 'query_version', 'row_count'])
      .where('action', '=', action)
      .where('query_id', '=', queryId)
      .orderBy('seq')
      .execute();
  }

  it('answers a run on one instance from a result computed on the other, and audits the hit', async () => {
    const query = await createQuery(t, editor, {
      name: 'Numbers',
      sql: 'select g as n, md5(g::text) as h from generate_series(1, {count}) g',
      variables: [{ name: 'count', kind: 'number' }],
    });
    const dashboard = await createDashboard(t, editor, { name: 'Numbers', cards: [card('a', query.id)] });
    const fresh = await ok(runOn(t.app, editor, { queryId: query.id, params: { count: 500 }, dashboardId: dashboard.id }));
    expect(fresh.cached).toBeUndefined();
    expect(fresh.rowCount).toBe(500);

    const hit = await ok(runOn(second.app, viewer, { queryId: query.id, params: { count: 500 }, dashboardId: dashboard.id }));
    expect(hit.cached?.runId).toBe(fresh.id);
    expect(hit.id).not.toBe(fresh.id);
    expect(hit.rows).toEqual(fresh.rows);

    const hits = await events('run.cache_hit', query.id);
    expect(hits).toEqual([
      {
        actor_user_id: viewer.user.id,
        query_version: 1,
        row_count: '500',
        details: { runId: hit.id, fromRunId: fresh.id, computedAt: hit.cached!.computedAt, dashboardId: dashboard.id },
      },
    ]);
    expect(await events('run.started', query.id)).toHaveLength(1);

    // Other parameter values, a refresh, or another version of the query: executed afresh.
    expect((await ok(runOn(second.app, viewer, { queryId: query.id, params: { count: 7 } }))).cached).toBeUndefined();
    const refreshed = await ok(runOn(second.app, viewer, { queryId: query.id, params: { count: 500 }, refresh: true }));
    expect(refreshed.cached).toBeUndefined();
    await expectStatus(call(t, editor, 'PUT', `/api/queries/${query.id}`, { baseVersion: 1, description: 'v2' }), 200);
    expect((await ok(runOn(t.app, viewer, { queryId: query.id, params: { count: 500 } }))).cached).toBeUndefined();
    expect(await events('run.started', query.id)).toHaveLength(4);
  });

  it('names the dashboard on every audit event of a card: run, cache hit, CSV download, refusal', async () => {
    const query = await createQuery(t, editor, { name: 'Audited card', sql: 'select g from generate_series(1, 3) g' });
    const dashboard = await createDashboard(t, editor, { name: 'Audited', cards: [card('a', query.id)] });
    const body = { queryId: query.id, dashboardId: dashboard.id };
    const fresh = await ok(runOn(t.app, editor, body));
    const hit = await ok(runOn(second.app, viewer, body));
    expect(hit.cached?.runId).toBe(fresh.id);
    const csv = await t.app.inject({
      method: 'POST',
      url: '/api/runs.csv',
      headers: jsonHeaders(viewer, t),
      payload: JSON.stringify(body),
    });
    expect(csv.statusCode, csv.body).toBe(200);
    const csvRunId = csv.headers['x-porthole-run-id'];

    const rows = await t.app.toolsDb
      .selectFrom('audit_events')
      .select(['action', 'actor_user_id', 'details'])
      .where('query_id', '=', query.id)
      .where('action', 'like', 'run.%')
      .orderBy('seq')
      .execute();
    const seen = rows.map((row) => {
      const details = row.details as { runId: string; dashboardId?: string };
      return [row.action, row.actor_user_id, details.runId, details.dashboardId];
    });
    expect(seen).toEqual([
      ['run.started', editor.user.id, fresh.id, dashboard.id],
      ['run.finished', editor.user.id, fresh.id, dashboard.id],
      ['run.cache_hit', viewer.user.id, hit.id, dashboard.id],
      ['run.started', viewer.user.id, csvRunId, dashboard.id],
      ['run.finished', viewer.user.id, csvRunId, dashboard.id],
      ['run.csv_downloaded', viewer.user.id, csvRunId, dashboard.id],
    ]);

    // A dashboard the query is not on: refused before anything runs, and the refusal names it too.
    const other = await createDashboard(t, editor, { name: 'Elsewhere' });
    const refused = await runOn(t.app, viewer, { queryId: query.id, dashboardId: other.id });
    expect(refused.statusCode).toBe(400);
    const failed = await t.app.toolsDb
      .selectFrom('audit_events')
      .select(['error_code', 'details'])
      .where('query_id', '=', query.id)
      .where('action', '=', 'run.failed')
      .execute();
    expect(failed).toEqual([
      { error_code: 'not_on_dashboard', details: expect.objectContaining({ dashboardId: other.id }) as unknown },
    ]);
  });

  it('lets concurrent viewers on both instances cause one execution (single flight)', async () => {
    const query = await createQuery(t, editor, {
      name: 'Slowish',
      sql: 'select count(*) as n from notifications, pg_sleep(0.2)',
    });
    const dashboard = await createDashboard(t, editor, { name: 'Slow', cards: [card('a', query.id)] });
    const viewers = [viewer, await signIn(t, 'viewer'), await signIn(t, 'viewer'), editor];
    const body = { queryId: query.id, dashboardId: dashboard.id };
    const answers = await Promise.all(
      viewers.flatMap((who) => [runOn(t.app, who, body), runOn(second.app, who, body)]).map((response) => ok(response)),
    );
    const executed = answers.filter((a) => !a.cached);
    expect(executed).toHaveLength(1);
    expect(new Set(answers.filter((a) => a.cached).map((a) => a.cached!.runId))).toEqual(new Set([executed[0]!.id]));
    expect(await events('run.started', query.id)).toHaveLength(1);
    expect(await events('run.cache_hit', query.id)).toHaveLength(7);
  });

  it('is off at max age 0 (dashboard or query), and never caches free SQL', async () => {
    const query = await createQuery(t, editor, { name: 'Uncached', sql: 'select 1 as one' });
    const off = await createDashboard(t, editor, { name: 'Off', cacheMaxAgeSeconds: 0, cards: [card('a', query.id)] });
    for (let i = 0; i < 2; i++)
      expect((await ok(runOn(t.app, viewer, { queryId: query.id, dashboardId: off.id }))).cached).toBeUndefined();
    await expectStatus(call(t, editor, 'PUT', `/api/queries/${query.id}`, { cacheMaxAgeSeconds: 0 }), 200);
    for (let i = 0; i < 2; i++) expect((await ok(runOn(t.app, viewer, { queryId: query.id }))).cached).toBeUndefined();
    expect(await events('run.started', query.id)).toHaveLength(4);

    const before = await t.app.toolsDb
      .selectFrom('results')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    for (let i = 0; i < 2; i++) {
      const free = await ok(runOn(t.app, editor, { dataSource: 'main', sql: 'select 1 as one' }));
      expect(free.cached).toBeUndefined();
    }
    const after = await t.app.toolsDb
      .selectFrom('results')
      .select(({ fn }) => fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
    expect((await runOn(t.app, editor, { dataSource: 'main', sql: 'select 1', dashboardId: off.id })).statusCode).toBe(400);
  });

  it('deletes a purged query’s cached results', async () => {
    const query = await createQuery(t, editor, { name: 'To purge', sql: 'select 2 as two' });
    await ok(runOn(t.app, editor, { queryId: query.id }));
    const stored = () => t.app.toolsDb.selectFrom('results').select('run_id').where('query_id', '=', query.id).execute();
    expect(await stored()).toHaveLength(1);
    await expectStatus(call(t, editor, 'DELETE', `/api/queries/${query.id}`), 200);
    expect(await stored()).toHaveLength(1);
    expect((await call(t, admin, 'DELETE', `/api/queries/${query.id}`, { purge: true })).statusCode).toBe(204);
    expect(await stored()).toHaveLength(0);
  });
});
