// Dashboard versions (every save a version, 409 on a stale save, history, restore, fork) and cards over
// queries the viewer may not read: "no access", with nothing of the query in any dashboard response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { call, createQuery, expectStatus } from '../queries/support.js';
import { card, createDashboard, type DashboardBody } from './support.js';

describe('dashboard versions and cards', () => {
  let t: TestApp;
  let alice: SignedIn;
  let bob: SignedIn;
  let viewer: SignedIn;
  let queryId: string;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await signIn(t, 'editor', { name: 'Alice' });
    bob = await signIn(t, 'editor', { name: 'Bob' });
    viewer = await signIn(t, 'viewer', { name: 'Vic' });
    queryId = (await createQuery(t, alice, { name: 'Service count', sql: 'select count(*) as n from services' })).id;
  });
  afterAll(() => t?.close());

  it('keeps every save as a version, refuses a stale save with 409 and the current version, restores', async () => {
    const v1 = await createDashboard(t, alice, {
      name: 'Ops',
      variables: [{ name: 'start_time', kind: 'timestamp', default: 'now-30d' }],
      cards: [card('a', queryId)],
    });
    expect(v1.currentVersion).toBe(1);
    const v2 = await expectStatus<DashboardBody>(
      call(t, alice, 'PUT', `/api/dashboards/${v1.id}`, {
        baseVersion: 1,
        cards: [card('a', queryId, { w: 12, display: 'number' })],
      }),
      200,
    );
    expect(v2.currentVersion).toBe(2);
    // Bob started from version 1 too: his save is refused, and he is told what version 2 holds.
    const stale = await call(t, bob, 'PUT', `/api/dashboards/${v1.id}`, { baseVersion: 1, name: 'Ops (Bob)' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatchObject({ code: 'version_conflict', currentVersion: { version: 2, name: 'Ops' } });
    expect(stale.json().error.currentVersion.cards[0]).toMatchObject({ w: 12, display: 'number' });
    // The same content again is not a new version.
    const same = await expectStatus<DashboardBody>(
      call(t, alice, 'PUT', `/api/dashboards/${v1.id}`, { baseVersion: 2, cards: v2.version.cards }),
      200,
    );
    expect(same.currentVersion).toBe(2);
    // Without a base version there is no save at all.
    expect((await call(t, alice, 'PUT', `/api/dashboards/${v1.id}`, { name: 'x' })).statusCode).toBe(400);

    const restored = await expectStatus<DashboardBody>(
      call(t, bob, 'POST', `/api/dashboards/${v1.id}/versions/1/restore`, { baseVersion: 2 }),
      200,
    );
    expect(restored.currentVersion).toBe(3);
    expect(restored.version).toMatchObject({ restoredFrom: 1, cards: [expect.objectContaining({ w: 6, display: 'table' })] });
    const history = await expectStatus<{ versions: Array<{ version: number }> }>(
      call(t, viewer, 'GET', `/api/dashboards/${v1.id}/versions`),
      200,
    );
    expect(history.versions.map((v) => v.version)).toEqual([3, 2, 1]);
    const old = await expectStatus<{ cards: unknown[]; variables: unknown[] }>(
      call(t, viewer, 'GET', `/api/dashboards/${v1.id}/versions/2`),
      200,
    );
    expect(old.cards).toEqual([expect.objectContaining({ w: 12 })]);
    expect((await call(t, alice, 'POST', `/api/dashboards/${v1.id}/versions/9/restore`, { baseVersion: 3 })).statusCode).toBe(
      404,
    );

    const fork = await expectStatus<DashboardBody & { forkedFrom: { dashboardId: string } }>(
      call(t, bob, 'POST', `/api/dashboards/${v1.id}/fork`, { version: 2 }),
      201,
    );
    expect(fork.forkedFrom.dashboardId).toBe(v1.id);
    expect(fork.version.name).toBe('Ops (fork)');
    expect(fork.version.cards).toEqual(old.cards);

    const events = await t.app.toolsDb
      .selectFrom('audit_events')
      .select('action')
      .where('action', 'like', 'dashboard.%')
      .where(({ eb, ref }) =>
        eb(eb.fn('jsonb_extract_path_text', [ref('details'), eb.val('dashboardId')]), 'in', [v1.id, fork.id]),
      )
      .orderBy('seq')
      .execute();
    expect(events.map((e) => e.action)).toEqual([
      'dashboard.created',
      'dashboard.updated',
      'dashboard.restored',
      'dashboard.forked',
    ]);
  });

  it('checks the layout: the 12-column grid, refresh at least a minute, mapped variables declared', async () => {
    const bad = [
      { cards: [card('a', queryId, { x: 8, w: 6 })] },
      { refreshSeconds: 30 },
      { cards: [card('a', queryId, { variableMap: { start_time: 'nowhere' } })] },
      { cards: [card('a', queryId), card('a', queryId)] },
    ];
    for (const fields of bad) {
      const res = await call(t, alice, 'POST', '/api/dashboards', { name: 'Bad', ...fields });
      expect(res.statusCode, JSON.stringify(fields)).toBe(400);
    }
  });

  it('shows a card over a private query as no access, leaking neither its name, SQL nor result', async () => {
    const secret = await createQuery(t, alice, {
      name: 'Secret payroll numbers',
      sql: 'select 4242 as payroll_secret',
      visibility: 'private',
    });
    // Bob may not add a query he cannot read...
    const refused = await call(t, bob, 'POST', '/api/dashboards', { name: 'Sneaky', cards: [card('s', secret.id)] });
    expect(refused.statusCode).toBe(404);
    expect(refused.body).not.toContain('Secret payroll');
    // ...but Alice's team dashboard holds it, and Bob opens that dashboard.
    const dashboard = await createDashboard(t, alice, {
      name: 'Mixed',
      cards: [card('public', queryId), card('secret', secret.id, { x: 6 })],
    });
    const asBob = await call(t, bob, 'GET', `/api/dashboards/${dashboard.id}`);
    expect(asBob.statusCode).toBe(200);
    expect(asBob.json().cardQueries).toMatchObject({ public: { name: 'Service count' }, secret: null });
    const asAlice = await expectStatus<DashboardBody>(call(t, alice, 'GET', `/api/dashboards/${dashboard.id}`), 200);
    expect(asAlice.cardQueries.secret?.name).toBe('Secret payroll numbers');
    // Running the card as Bob: the same 404 as for a query that does not exist, no result.
    const run = await call(t, bob, 'POST', '/api/runs', { queryId: secret.id, dashboardId: dashboard.id });
    expect(run.statusCode).toBe(404);
    for (const body of [
      asBob.body,
      run.body,
      (await call(t, bob, 'GET', `/api/dashboards/${dashboard.id}/versions/1`)).body,
      (await call(t, bob, 'GET', '/api/dashboards?q=mixed')).body,
    ]) {
      expect(body).not.toContain('Secret payroll');
      expect(body).not.toContain('payroll_secret');
      expect(body).not.toContain('4242');
    }
    // Bob may still save the dashboard (the card he cannot read stays as it was).
    const saved = await call(t, bob, 'PUT', `/api/dashboards/${dashboard.id}`, { baseVersion: 1, description: 'by Bob' });
    expect(saved.statusCode).toBe(200);
    expect(saved.json().version.cards.map((c: { id: string }) => c.id)).toEqual(['public', 'secret']);
  });

  it('lists by search and filter', async () => {
    await createDashboard(t, bob, { name: 'Notification health' });
    await createDashboard(t, alice, { name: 'Billing' });
    const found = await expectStatus<{ dashboards: Array<{ name: string }> }>(
      call(t, viewer, 'GET', '/api/dashboards?q=HEALTH'),
      200,
    );
    expect(found.dashboards.map((d) => d.name)).toEqual(['Notification health']);
    const mine = await expectStatus<{ dashboards: Array<{ name: string }> }>(
      call(t, bob, 'GET', '/api/dashboards?filter=mine'),
      200,
    );
    expect(mine.dashboards.map((d) => d.name)).toContain('Notification health');
    expect(mine.dashboards.map((d) => d.name)).not.toContain('Billing');
  });
});
