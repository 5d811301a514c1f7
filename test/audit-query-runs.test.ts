// A saved query's run history (issue #7): GET /api/queries/:id/runs, for whoever may read the query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { signIn, type SignedIn } from './support/auth.js';
import { call, createQuery, expectStatus } from './queries/support.js';

interface RunHistory {
  runs: Array<{
    outcome: string;
    version: number | null;
    rowCount: string | null;
    actor: { email: string | null };
    errorCode: string | null;
  }>;
  nextCursor: string | null;
}

describe('run history of a saved query', () => {
  let t: TestApp;
  let owner: SignedIn;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signIn(t, 'editor', { email: 'owner@example.com' });
  });
  afterAll(() => t.close());

  it('lists how each run ended, newest first, to anyone who may read the query', async () => {
    const query = await createQuery(t, owner, { sql: 'select n from generate_series(1, 3) n' });
    await expectStatus(call(t, owner, 'POST', '/api/runs', { queryId: query.id, params: {} }), 200);
    const viewer = await signIn(t, 'viewer', { email: 'viewer@example.com' });
    await expectStatus(call(t, viewer, 'POST', '/api/runs', { queryId: query.id, params: {} }), 200);

    // Answered from the result cache (the owner's run is a minute old at most): listed too, as cached.
    const history = await expectStatus<RunHistory>(call(t, viewer, 'GET', `/api/queries/${query.id}/runs`), 200);
    expect(history.runs).toEqual([
      expect.objectContaining({
        outcome: 'cached',
        version: 1,
        rowCount: '3',
        actor: expect.objectContaining({ email: 'viewer@example.com' }),
      }),
      expect.objectContaining({
        outcome: 'ok',
        version: 1,
        rowCount: '3',
        actor: expect.objectContaining({ email: 'owner@example.com' }),
      }),
    ]);
    expect(history.nextCursor).toBeNull();
  });

  it("answers 404 for a private query's history to others, like the query itself", async () => {
    const secret = await createQuery(t, owner, { visibility: 'private', sql: 'select 1' });
    await expectStatus(call(t, owner, 'POST', '/api/runs', { queryId: secret.id, params: {} }), 200);
    const other = await signIn(t, 'editor');
    await expectStatus(call(t, other, 'GET', `/api/queries/${secret.id}/runs`), 404);
    await expectStatus(call(t, other, 'GET', '/api/queries/999999/runs'), 404);
    const admin = await signIn(t, 'admin');
    const seen = await expectStatus<RunHistory>(call(t, admin, 'GET', `/api/queries/${secret.id}/runs`), 200);
    expect(seen.runs).toHaveLength(1);
    expect((await t.app.inject({ method: 'GET', url: `/api/queries/${secret.id}/runs` })).statusCode).toBe(401);
  });
});
