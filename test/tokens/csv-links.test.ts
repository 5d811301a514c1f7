// CSV links (issue #12 item 2): a key bound to one saved query and its parameter values, in the URL of
// GET /api/queries/:id/results.csv, that opens that CSV and nothing else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { mainQuery, toolsQuery } from '../engine/support.js';
import { createQuery, type QueryBody } from '../queries/support.js';

interface CreatedLink {
  url: string;
  key: string;
  info: { id: string; kind: string; queryId: string; params: Record<string, unknown>; expiresAt: string; scopes: string[] };
}

describe('CSV links', () => {
  let t: TestApp;
  let editor: SignedIn;
  let query: QueryBody;
  let other: QueryBody;
  beforeAll(async () => {
    t = await startTestApp();
    editor = await signIn(t, 'editor');
    query = await createQuery(t, editor, {
      name: 'Services from an id',
      sql: 'select id, name from services where id >= {min_id} order by id limit 3',
      variables: [{ name: 'min_id', kind: 'number' }],
    });
    other = await createQuery(t, editor, { name: 'Something else', sql: 'select 42 as answer' });
  });
  afterAll(() => t?.close());

  async function createLink(who: SignedIn, queryId: string, body: Record<string, unknown>): Promise<CreatedLink> {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/queries/${queryId}/csv-links`,
      headers: jsonHeaders(who, t),
      payload: JSON.stringify(body),
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as CreatedLink;
  }

  const path = (link: CreatedLink) => new URL(link.url).pathname + new URL(link.url).search;

  it('returns the query’s CSV with the parameter values it was made with, to a request with no cookie', async () => {
    const link = await createLink(editor, query.id, { params: { min_id: 2 } });
    expect(link.key).toMatch(/^phc_[0-9A-Za-z]{40}$/);
    expect(link.url).toBe(`${t.config.publicUrl}/api/queries/${query.id}/results.csv?key=${link.key}`);
    expect(link.info).toMatchObject({ kind: 'csv_link', queryId: query.id, params: { min_id: 2 }, scopes: ['queries:run'] });
    // Default expiry: 90 days.
    const days = (new Date(link.info.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThanOrEqual(90);

    const res = await t.app.inject({ method: 'GET', url: path(link) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const { rows } = await mainQuery(t, 'select id, name from services where id >= 2 order by id limit 3');
    expect(res.body).toBe(['id,name', ...rows.map((row) => `${row.id},${row.name}`)].join('\n') + '\n');

    // The run is audited as the link's owner, with the link beside them.
    const runId = res.headers['x-porthole-run-id'] as string;
    const events = await toolsQuery(
      t,
      `select action, actor_user_id::text as actor, params, details->'token' as token from audit_events where details->>'runId' = $1 order by seq`,
      [runId],
    );
    expect(events.rows.map((row) => row.action)).toEqual(['run.started', 'run.finished', 'run.csv_downloaded']);
    expect(events.rows[0]).toMatchObject({ actor: editor.user.id, params: { min_id: 2 } });
    expect(events.rows[0].token).toMatchObject({ id: link.info.id, kind: 'csv_link' });

    // Listed with the user's tokens.
    const list = await t.app.inject({ method: 'GET', url: '/api/tokens', headers: { cookie: editor.cookie } });
    expect(list.json().tokens.find((token: { id: string }) => token.id === link.info.id)).toMatchObject({ kind: 'csv_link' });
  });

  it('opens its own query only and grants nothing else', async () => {
    const link = await createLink(editor, query.id, { params: { min_id: 1 } });
    const forOther = await t.app.inject({ method: 'GET', url: `/api/queries/${other.id}/results.csv?key=${link.key}` });
    expect([forOther.statusCode, forOther.json().error.code]).toEqual([404, 'not_found']);
    const asBearer = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${link.key}` } });
    expect([asBearer.statusCode, asBearer.json().error.code]).toEqual([401, 'invalid_token']);
    const elsewhere = await t.app.inject({ method: 'GET', url: `/api/queries/${query.id}?key=${link.key}` });
    expect([elsewhere.statusCode, elsewhere.json().error.code]).toEqual([400, 'token_in_query_string']);
    // A personal token is no CSV key.
    const personal = await t.app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: jsonHeaders(editor, t),
      payload: JSON.stringify({ name: 'p', scopes: ['queries:run'], expiresInDays: 1 }),
    });
    const asKey = await t.app.inject({ method: 'GET', url: `/api/queries/${query.id}/results.csv?key=${personal.json().token}` });
    expect([asKey.statusCode, asKey.json().error.code]).toEqual([401, 'invalid_token']);
    // And the CSV route needs a key: a personal token in the header is refused there.
    const bearerOnCsv = await t.app.inject({
      method: 'GET',
      url: `/api/queries/${query.id}/results.csv`,
      headers: { authorization: `Bearer ${personal.json().token}` },
    });
    expect([bearerOnCsv.statusCode, bearerOnCsv.json().error.code]).toEqual([403, 'token_not_allowed']);
  });

  it('stops working when revoked, when expired, and when its owner can no longer see the query', async () => {
    const link = await createLink(editor, query.id, { params: { min_id: 1 }, expiresInDays: 7 });
    expect((await t.app.inject({ method: 'GET', url: path(link) })).statusCode).toBe(200);
    const revoke = await t.app.inject({
      method: 'POST',
      url: `/api/tokens/${link.info.id}/revoke`,
      headers: jsonHeaders(editor, t),
      payload: '{}',
    });
    expect(revoke.statusCode).toBe(200);
    const revoked = await t.app.inject({ method: 'GET', url: path(link) });
    expect([revoked.statusCode, revoked.json().error.code]).toEqual([401, 'invalid_token']);

    const expiring = await createLink(editor, query.id, { params: { min_id: 1 } });
    await toolsQuery(t, `update api_tokens set expires_at = now() - interval '1 second' where id = $1`, [expiring.info.id]);
    expect((await t.app.inject({ method: 'GET', url: path(expiring) })).statusCode).toBe(401);

    // A viewer's link to a team query dies with the viewer's access when the owner makes it private.
    const viewer = await signIn(t, 'viewer');
    const shared = await createQuery(t, editor, { name: 'Shared for a while', sql: 'select 1 as one' });
    const viewerLink = await createLink(viewer, shared.id, {});
    expect((await t.app.inject({ method: 'GET', url: path(viewerLink) })).statusCode).toBe(200);
    const hide = await t.app.inject({
      method: 'PUT',
      url: `/api/queries/${shared.id}`,
      headers: jsonHeaders(editor, t),
      payload: JSON.stringify({ visibility: 'private' }),
    });
    expect(hide.statusCode, hide.body).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: path(viewerLink) })).statusCode).toBe(404);
  });

  it('is made only by someone who may run the query', async () => {
    const privateQuery = await createQuery(t, editor, { name: 'Mine', sql: 'select 1 as one', visibility: 'private' });
    const stranger = await signIn(t, 'editor');
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/queries/${privateQuery.id}/csv-links`,
      headers: jsonHeaders(stranger, t),
      payload: '{}',
    });
    expect(res.statusCode).toBe(404);
  });
});
