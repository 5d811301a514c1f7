// The demo's example content: eight team queries and the "Notification service health" dashboard, owned
// by the demo admin, created once (a second start changes nothing), and every card runs on the demo data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoContent, DEMO_DASHBOARD_NAME } from '../../server/demo/content.js';
import { resolveRelativeTime } from '../../server/lib/relative-time.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn } from '../support/auth.js';
import { call, expectStatus } from '../queries/support.js';
import type { DashboardBody } from './support.js';

describe('demo content', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  it('creates the example queries and dashboard once, and every card runs', async () => {
    expect(await createDemoContent(t.app, 'https://demo-issuer.test')).toBe(true);
    expect(await createDemoContent(t.app, 'https://demo-issuer.test')).toBe(false);
    const viewer = await signIn(t, 'viewer');
    const queries = await expectStatus<{ queries: Array<{ name: string; owner: { email: string }; visibility: string }> }>(
      call(t, viewer, 'GET', '/api/queries?tag=example&limit=50'),
      200,
    );
    expect(queries.queries).toHaveLength(8);
    expect(new Set(queries.queries.map((q) => `${q.owner.email} ${q.visibility}`))).toEqual(new Set(['ada@porthole.demo team']));
    const list = await expectStatus<{ dashboards: Array<{ id: string; name: string }> }>(
      call(t, viewer, 'GET', '/api/dashboards'),
      200,
    );
    expect(list.dashboards.map((d) => d.name)).toEqual([DEMO_DASHBOARD_NAME]);
    const dashboard = await expectStatus<DashboardBody>(call(t, viewer, 'GET', `/api/dashboards/${list.dashboards[0]!.id}`), 200);
    // Its range stays put through the day, so viewers hours apart share the cards' cached results.
    const range = dashboard.version.variables.filter((v) => v.kind === 'timestamp');
    const resolvedAt = (now: string) =>
      range.map((v) => resolveRelativeTime(String(v.default), 'timestamp', { now: new Date(now) }));
    expect(range.map((v) => v.name)).toEqual(['start_time', 'end_time']);
    expect(resolvedAt('2026-11-30T08:05:00Z')).toEqual(resolvedAt('2026-11-30T17:50:00Z'));
    const params = { start_time: '2000-01-01T00:00Z', end_time: '2100-01-01T00:00Z', channel: 'email' };
    for (const card of dashboard.version.cards) {
      const query = dashboard.cardQueries[card.id]!;
      const wanted = Object.fromEntries(
        query.variables?.map((v: { name: string }) => [v.name, params[v.name as keyof typeof params]]) ?? [],
      );
      const run = await call(t, viewer, 'POST', '/api/runs', {
        queryId: card.queryId,
        params: wanted,
        dashboardId: dashboard.id,
      });
      expect(run.statusCode, `${query.name}: ${run.body}`).toBe(200);
      expect(run.json().rowCount, query.name).toBeGreaterThan(0);
      // A plain link to the query (no values) runs too: its saved defaults are the last 30 days.
      const plain = await call(t, viewer, 'POST', '/api/runs', { queryId: card.queryId });
      expect(plain.statusCode, `${query.name} without values: ${plain.body}`).toBe(200);
    }
  });
});
