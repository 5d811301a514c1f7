// Who cancelled a run (issue #18): when an admin cancels someone's query, on this task or through another,
// the person whose query it was is told who did it (the error names the admin), the run.cancelled event
// carries the canceller, and the query's run history shows it. Their own cancel stays plain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb } from '../../server/db/tools-db.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { auditOf, backendsOf, failure, newRunId, post, waitFor } from './support.js';

describe('a cancel names who cancelled', () => {
  let t: TestApp;
  let editor: SignedIn;
  let admin: SignedIn;

  beforeAll(async () => {
    t = await startTestApp({ QUERY_TIMEOUT_MS: '30000' });
    [editor, admin] = await Promise.all([
      signIn(t, 'editor', { name: 'Eddie Editor', email: 'eddie@example.com' }),
      signIn(t, 'admin', { name: 'Ada Admin', email: 'ada@example.com' }),
    ]);
  });
  afterAll(() => t?.close());

  async function started(runId: string): Promise<void> {
    await waitFor('the run to reach the database', async () => (await backendsOf(t, runId)).some((b) => b.state === 'active'));
  }

  const byAda = { id: '', email: 'ada@example.com', name: 'Ada Admin' };

  it('tells the user an admin on the same task cancelled their query, and records who', async () => {
    const created = await post(t, editor, '/api/queries', { name: 'Slow one', dataSource: 'main', sql: 'select pg_sleep(60)' });
    expect(created.statusCode, created.body).toBe(201);
    const queryId = (created.json() as { id: string }).id;
    const runId = newRunId();
    const pending = post(t, editor, '/api/runs', { queryId, runId });
    await started(runId);
    expect((await post(t, admin, `/api/runs/${runId}/cancel`, {})).statusCode).toBe(200);

    const res = await pending;
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toEqual({
      code: 'query_cancelled',
      message: 'The query was cancelled by Ada Admin (ada@example.com), an admin.',
      cancelledBy: { ...byAda, id: admin.user.id },
    });
    const events = await auditOf(t, runId);
    expect(events.at(-1)).toMatchObject({
      action: 'run.cancelled',
      details: { reason: 'admin', cancelledBy: admin.user.id, cancelledByEmail: 'ada@example.com' },
    });

    // The query's Runs panel says it too, to anyone who may read the query.
    const history = await t.app.inject({
      method: 'GET',
      url: `/api/queries/${queryId}/runs`,
      headers: { cookie: editor.cookie },
    });
    expect(history.statusCode).toBe(200);
    expect(history.json().runs[0]).toMatchObject({
      outcome: 'cancelled',
      cancelledBy: { id: admin.user.id, email: 'ada@example.com' },
    });
  });

  it('names the admin when the cancel comes through another task', async () => {
    const toolsDb = connectToolsDb(t.tools.appUrl, { max: 2 });
    const dataSources = createDataSourceRegistry(t.config);
    const secondTask = await buildApp({ config: t.config, toolsDb, dataSources });
    try {
      const runId = newRunId();
      const pending = failure(t, editor, 'select pg_sleep(60)', undefined, { runId });
      await started(runId);
      const cancel = await secondTask.inject({
        method: 'POST',
        url: `/api/runs/${runId}/cancel`,
        headers: jsonHeaders(admin, t),
        payload: '{}',
      });
      expect(cancel.statusCode).toBe(200);
      expect(await pending).toEqual({
        status: 409,
        code: 'query_cancelled',
        message: 'The query was cancelled by Ada Admin (ada@example.com), an admin.',
        cancelledBy: { ...byAda, id: admin.user.id },
      });
      const events = await auditOf(t, runId);
      expect(events.at(-1)).toMatchObject({
        action: 'run.cancelled',
        details: { reason: 'remote', cancelledBy: admin.user.id, cancelledByEmail: 'ada@example.com' },
      });
    } finally {
      await secondTask.close();
      await toolsDb.close();
      await dataSources.close();
    }
  });

  it('keeps a cancel by the user themselves plain', async () => {
    const runId = newRunId();
    const pending = failure(t, editor, 'select pg_sleep(60)', undefined, { runId });
    await started(runId);
    expect((await post(t, editor, `/api/runs/${runId}/cancel`, {})).statusCode).toBe(200);
    expect(await pending).toEqual({ status: 409, code: 'query_cancelled', message: 'The query was cancelled.' });
    expect((await auditOf(t, runId)).at(-1)!.details).toMatchObject({ reason: 'user', cancelledBy: editor.user.id });
  });
});
