// Personal access tokens (issue #12 item 1) through the real app: lifecycle, scopes against every route
// class, role re-read at each use, the perimeter for Bearer and cookie requests, query strings, audit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { toolsQuery } from '../engine/support.js';
import { createQuery } from '../queries/support.js';
import { createToken, withToken } from './support.js';

// The policy, written out here on its own so a change to server/tokens/route-scopes.ts must change this too.
const READ = ['queries:read'];
const RUN = ['queries:run', 'sql:run'];
const AUDIT = ['audit:read'];
const EXPECTED_OPEN: Record<string, string[] | 'any'> = {
  'GET /api/me': 'any',
  'GET /api/data-sources': ['queries:read', 'sql:run'],
  'GET /api/data-sources/:id/schema': ['sql:run'],
  'GET /api/queries': READ,
  'GET /api/queries/:id': READ,
  'GET /api/queries/:id/versions': READ,
  'GET /api/queries/:id/versions/:version': READ,
  'GET /api/queries/:id/runs': READ,
  'POST /api/runs': RUN,
  'POST /api/runs.csv': RUN,
  'POST /api/runs/:id/cancel': RUN,
  'GET /api/runs/background': RUN,
  'GET /api/runs/:id': RUN,
  'GET /api/runs/:id/result': RUN,
  'GET /api/runs/active': AUDIT,
  'GET /api/audit': AUDIT,
  'GET /api/audit.csv': AUDIT,
  'GET /api/audit/verify': AUDIT,
  'GET /api/audit/activity': AUDIT,
  'GET /api/audit/:seq': AUDIT,
};

const INVALID = {
  error: { code: 'invalid_token', message: 'This API token or link is not valid: it is unknown, expired or revoked.' },
};

describe('API tokens', () => {
  let t: TestApp;
  let editor: SignedIn;
  let admin: SignedIn;
  let viewer: SignedIn;
  beforeAll(async () => {
    t = await startTestApp();
    editor = await signIn(t, 'editor');
    admin = await signIn(t, 'admin');
    viewer = await signIn(t, 'viewer');
  });
  afterAll(() => t?.close());

  it('lives: created and shown once, stored as a hash, used, expired, revoked; one 401 for every dead token', async () => {
    const created = await createToken(t, editor, ['queries:read', 'queries:run'], { name: 'nightly export' });
    expect(created.token).toMatch(/^pht_[0-9A-Za-z]{40}$/);
    expect(created.info).toMatchObject({ name: 'nightly export', status: 'active', kind: 'personal' });
    expect(created.info.hint).toBe(`${created.token.slice(0, 8)}…`);

    // The database holds the hash only: no column of the row contains the secret or its random part.
    const { rows } = await toolsQuery(
      t,
      'select to_jsonb(t)::text as row, encode(secret_hash, $2) as hash from api_tokens t where id = $1',
      [created.info.id, 'hex'],
    );
    expect(rows[0].row).not.toContain(created.token.slice(8));
    const { createHash } = await import('node:crypto');
    expect(rows[0].hash).toBe(createHash('sha256').update(created.token).digest('hex'));

    // Never shown again: the list has the hint only.
    const list = await t.app.inject({ method: 'GET', url: '/api/tokens', headers: { cookie: editor.cookie } });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(created.token.slice(8));
    expect(list.json().tokens.map((token: { id: string }) => token.id)).toContain(created.info.id);

    const me = await withToken(t, created.token, 'GET', '/api/me');
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json().user.id).toBe(editor.user.id);
    const used = await toolsQuery(t, 'select last_used_at, last_used_ip from api_tokens where id = $1', [created.info.id]);
    expect(used.rows[0].last_used_at).not.toBeNull();
    expect(used.rows[0].last_used_ip).toBe('127.0.0.1');

    const unknown = await withToken(t, `pht_${'A'.repeat(40)}`, 'GET', '/api/me');
    expect([unknown.statusCode, unknown.json()]).toEqual([401, INVALID]);
    const malformed = await withToken(t, 'not-a-token', 'GET', '/api/me');
    expect([malformed.statusCode, malformed.json()]).toEqual([401, INVALID]);

    const expiring = await createToken(t, editor, ['queries:read']);
    await toolsQuery(t, `update api_tokens set expires_at = now() - interval '1 second' where id = $1`, [expiring.info.id]);
    const expired = await withToken(t, expiring.token, 'GET', '/api/me');
    expect([expired.statusCode, expired.json()]).toEqual([401, INVALID]);

    const revoke = await t.app.inject({
      method: 'POST',
      url: `/api/tokens/${created.info.id}/revoke`,
      headers: jsonHeaders(editor, t),
      payload: '{}',
    });
    expect(revoke.statusCode, revoke.body).toBe(200);
    expect(revoke.json().status).toBe('revoked');
    const afterRevoke = await withToken(t, created.token, 'GET', '/api/me');
    expect([afterRevoke.statusCode, afterRevoke.json()]).toEqual([401, INVALID]);

    const events = await toolsQuery(
      t,
      `select action, details from audit_events where details->>'tokenId' = $1 and action like 'token.%' order by seq`,
      [created.info.id],
    );
    expect(events.rows.map((row) => row.action)).toEqual(['token.created', 'token.revoked']);
  });

  it('requires an expiry of at most 365 days and scopes the role allows', async () => {
    const post = (who: SignedIn, body: unknown) =>
      t.app.inject({ method: 'POST', url: '/api/tokens', headers: jsonHeaders(who, t), payload: JSON.stringify(body) });
    expect((await post(editor, { name: 'x', scopes: ['queries:read'] })).json().error.field).toBe('expiresAt');
    expect((await post(editor, { name: 'x', scopes: ['queries:read'], expiresInDays: 366 })).statusCode).toBe(400);
    const tooLate = new Date(Date.now() + 400 * 86_400_000).toISOString();
    expect((await post(editor, { name: 'x', scopes: ['queries:read'], expiresAt: tooLate })).statusCode).toBe(400);
    const past = new Date(Date.now() - 1000).toISOString();
    expect((await post(editor, { name: 'x', scopes: ['queries:read'], expiresAt: past })).statusCode).toBe(400);
    expect((await post(editor, { name: 'x', scopes: ['queries:read'], expiresInDays: 365 })).statusCode).toBe(201);

    // A viewer's token cannot get sql:run; an editor's cannot get audit:read.
    const viewerSql = await post(viewer, { name: 'x', scopes: ['queries:run', 'sql:run'], expiresInDays: 7 });
    expect([viewerSql.statusCode, viewerSql.json().error.scopes]).toEqual([403, ['sql:run']]);
    const editorAudit = await post(editor, { name: 'x', scopes: ['audit:read'], expiresInDays: 7 });
    expect([editorAudit.statusCode, editorAudit.json().error.scopes]).toEqual([403, ['audit:read']]);
    expect((await post(admin, { name: 'x', scopes: ['audit:read', 'sql:run'], expiresInDays: 7 })).statusCode).toBe(201);
  });

  it('opens each route class only to the scopes route-scopes.ts lists; every other /api route is session-only', async () => {
    const scopes = ['queries:read', 'queries:run', 'sql:run', 'audit:read'] as const;
    // An admin's tokens, so only the scope decides (roles are tested separately).
    const tokens = Object.fromEntries(
      await Promise.all(scopes.map(async (scope) => [scope, (await createToken(t, admin, [scope])).token] as const)),
    );
    const apiRoutes = t.app.registeredRoutes.filter(
      (r) => r.url.startsWith('/api/') && r.method !== 'HEAD' && r.url !== '/api/queries/:id/results.csv',
    );
    expect(apiRoutes.length).toBeGreaterThan(20);
    // Every route the policy names exists.
    const registered = new Set(apiRoutes.map((r) => `${r.method} ${r.url}`));
    expect(Object.keys(EXPECTED_OPEN).filter((route) => !registered.has(route))).toEqual([]);
    const refusedCodes = new Set(['insufficient_scope', 'token_not_allowed']);
    for (const route of apiRoutes) {
      const allowed = EXPECTED_OPEN[`${route.method} ${route.url}`];
      const url = route.url.replace(/:(\w+)/g, '1');
      for (const scope of scopes) {
        const res = await withToken(t, tokens[scope]!, route.method as 'GET', url, {});
        const opened = allowed === 'any' || (allowed !== undefined && allowed.includes(scope));
        const refusedByScope = res.statusCode === 403 && refusedCodes.has(res.json().error.code);
        expect({ route: `${route.method} ${route.url}`, scope, refusedByScope }).toEqual({
          route: `${route.method} ${route.url}`,
          scope,
          refusedByScope: !opened,
        });
      }
    }
    // Managing tokens is never open to a token, whatever its scopes.
    const all = await createToken(t, admin, [...scopes]);
    const mint = await withToken(t, all.token, 'POST', '/api/tokens', { name: 'y', scopes: ['queries:read'], expiresInDays: 1 });
    expect([mint.statusCode, mint.json().error.code]).toEqual([403, 'token_not_allowed']);
  });

  it('runs saved queries with queries:run but free SQL only with sql:run, and never beyond the current role', async () => {
    const query = await createQuery(t, editor, { sql: 'select count(*)::int as n from services' });
    const runOnly = await createToken(t, editor, ['queries:run']);
    const saved = await withToken(t, runOnly.token, 'POST', '/api/runs', { queryId: query.id });
    expect(saved.statusCode, saved.body).toBe(200);
    const free = await withToken(t, runOnly.token, 'POST', '/api/runs', { dataSource: 'main', sql: 'select 1' });
    expect([free.statusCode, free.json().error.code]).toEqual([403, 'insufficient_scope']);

    // The editor's sql:run token works until the editor is demoted; the role is read at every use.
    const demoted = await signIn(t, 'editor');
    const sqlToken = await createToken(t, demoted, ['sql:run', 'queries:run', 'queries:read']);
    expect(
      (await withToken(t, sqlToken.token, 'POST', '/api/runs', { dataSource: 'main', sql: 'select 1 as one' })).statusCode,
    ).toBe(200);
    await toolsQuery(t, `update users set role = 'viewer' where id = $1`, [demoted.user.id]);
    const after = await withToken(t, sqlToken.token, 'POST', '/api/runs', { dataSource: 'main', sql: 'select 1 as one' });
    expect([after.statusCode, after.json().error.code]).toEqual([403, 'insufficient_scope']);
    const schema = await withToken(t, sqlToken.token, 'GET', '/api/data-sources/main/schema');
    expect([schema.statusCode, schema.json().error.code]).toEqual([403, 'insufficient_scope']);
    // What the viewer role still allows keeps working.
    expect((await withToken(t, sqlToken.token, 'POST', '/api/runs', { queryId: query.id })).statusCode).toBe(200);

    // An admin demoted to editor loses audit:read at once.
    const formerAdmin = await signIn(t, 'admin');
    const auditToken = await createToken(t, formerAdmin, ['audit:read']);
    expect((await withToken(t, auditToken.token, 'GET', '/api/audit')).statusCode).toBe(200);
    await toolsQuery(t, `update users set role = 'editor' where id = $1`, [formerAdmin.user.id]);
    expect((await withToken(t, auditToken.token, 'GET', '/api/audit')).statusCode).toBe(403);

    // A user removed from the tools DB takes their tokens along.
    const leaver = await signIn(t, 'editor');
    const leaverToken = await createToken(t, leaver, ['queries:read']);
    await toolsQuery(t, 'delete from sessions where user_id = $1', [leaver.user.id]);
    await toolsQuery(t, 'delete from users where id = $1', [leaver.user.id]);
    const gone = await withToken(t, leaverToken.token, 'GET', '/api/me');
    expect([gone.statusCode, gone.json()]).toEqual([401, INVALID]);
  });

  it('needs no Origin with a Bearer token (a forged one is fine), while a cookie without Origin is refused', async () => {
    const token = await createToken(t, editor, ['sql:run']);
    const forged = await withToken(
      t,
      token.token,
      'POST',
      '/api/runs',
      { dataSource: 'main', sql: 'select 2 as two' },
      {
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
    );
    expect(forged.statusCode, forged.body).toBe(200);
    expect(forged.headers['set-cookie']).toBeUndefined();

    const noOrigin = await t.app.inject({
      method: 'POST',
      url: '/api/runs',
      headers: { cookie: editor.cookie, 'content-type': 'application/json' },
      payload: JSON.stringify({ dataSource: 'main', sql: 'select 3 as three' }),
    });
    expect([noOrigin.statusCode, noOrigin.json().error.code]).toEqual([403, 'cross_origin_request']);

    // A Bearer request that also carries someone's cookie acts as the token's user and gets no cookie back.
    const other = await signIn(t, 'admin');
    const both = await withToken(t, token.token, 'GET', '/api/me', undefined, { cookie: other.cookie });
    expect([both.statusCode, both.json().user.id]).toEqual([200, editor.user.id]);
    expect(both.headers['set-cookie']).toBeUndefined();
    // Bearer is for /api only: elsewhere it signs nobody in (a logout with it logs nobody out).
    await withToken(t, token.token, 'POST', '/auth/logout', {});
    const logouts = await toolsQuery(t, `select 1 from audit_events where action = 'auth.logout' and actor_user_id = $1`, [
      editor.user.id,
    ]);
    expect(logouts.rowCount).toBe(0);
  });

  it('refuses tokens in query strings', async () => {
    const token = await createToken(t, editor, ['queries:read']);
    for (const url of [
      `/api/me?access_token=${token.token}`,
      `/api/queries?search=${token.token}`,
      `/api/queries?token=anything`,
      `/api/queries/1?key=${token.token}`,
    ]) {
      const res = await t.app.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode, code: res.json().error.code }).toEqual({
        url,
        status: 400,
        code: 'token_in_query_string',
      });
    }
    // Not even beside a valid cookie.
    const withCookie = await t.app.inject({
      method: 'GET',
      url: `/api/me?access_token=${token.token}`,
      headers: { cookie: editor.cookie },
    });
    expect(withCookie.statusCode).toBe(400);
  });

  it('records the token beside the user on every event of a token request', async () => {
    const token = await createToken(t, editor, ['sql:run'], { name: 'audited' });
    const res = await withToken(t, token.token, 'POST', '/api/runs', { dataSource: 'main', sql: 'select 4 as four' });
    expect(res.statusCode, res.body).toBe(200);
    const runId = res.json().id as string;
    const events = await toolsQuery(
      t,
      `select action, actor_user_id::text as actor, details->'token' as token from audit_events
       where details->>'runId' = $1 or (action = 'token.used' and details->'token'->>'id' = $2) order by seq`,
      [runId, token.info.id],
    );
    expect(events.rows.map((row) => row.action)).toEqual(['run.started', 'run.finished', 'token.used']);
    for (const row of events.rows) {
      expect(row.actor).toBe(editor.user.id);
      expect(row.token).toEqual({ id: token.info.id, name: 'audited', kind: 'personal' });
    }
  });

  it('documents Bearer auth and the new routes in the OpenAPI document', async () => {
    const docs = (await t.app.inject({ method: 'GET', url: '/api/docs', headers: { cookie: editor.cookie } })).json();
    expect(docs.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(docs.security).toEqual([{ sessionCookie: [] }, { bearerAuth: [] }]);
    for (const path of [
      '/api/tokens',
      '/api/tokens/{id}/revoke',
      '/api/queries/{id}/csv-links',
      '/api/runs/{id}',
      '/api/runs/{id}/result',
    ]) {
      expect(Object.keys(docs.paths)).toContain(path);
    }
    expect(docs.paths['/api/queries/{id}/results.csv'].get.security).toEqual([{ csvKey: [] }]);
    expect(docs.paths['/api/tokens'].post.security).toEqual([{ sessionCookie: [] }]);
    expect(Object.keys(docs.paths['/api/runs'].post.responses)).toContain('202');
  });

  it('lets users revoke only their own; admins list and revoke everyone’s', async () => {
    const mine = await createToken(t, editor, ['queries:read']);
    const someoneElse = await signIn(t, 'editor');
    const revoke = (who: SignedIn, id: string) =>
      t.app.inject({ method: 'POST', url: `/api/tokens/${id}/revoke`, headers: jsonHeaders(who, t), payload: '{}' });
    expect((await revoke(someoneElse, mine.info.id)).statusCode).toBe(404);
    const notAll = await t.app.inject({ method: 'GET', url: '/api/tokens?all=true', headers: { cookie: editor.cookie } });
    expect(notAll.statusCode).toBe(403);
    const all = await t.app.inject({ method: 'GET', url: '/api/tokens?all=true', headers: { cookie: admin.cookie } });
    expect(all.json().tokens.map((token: { id: string }) => token.id)).toContain(mine.info.id);
    expect((await revoke(admin, mine.info.id)).json().status).toBe('revoked');
    expect((await withToken(t, mine.token, 'GET', '/api/me')).statusCode).toBe(401);
  });
});

describe('API token rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TOKEN_RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(() => t?.close());

  it('answers 429 with Retry-After past the per-token limit, counting each token on its own', async () => {
    const editor = await signIn(t, 'editor');
    const first = await createToken(t, editor, ['queries:read']);
    const second = await createToken(t, editor, ['queries:read']);
    for (let i = 0; i < 3; i++) expect((await withToken(t, first.token, 'GET', '/api/me')).statusCode).toBe(200);
    const limited = await withToken(t, first.token, 'GET', '/api/me');
    expect([limited.statusCode, limited.json().error.code]).toEqual([429, 'token_rate_limited']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await withToken(t, second.token, 'GET', '/api/me')).statusCode).toBe(200);
  });
});
