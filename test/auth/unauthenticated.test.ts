// What someone without a session can make the server do (THREATS.md 52): /auth/* is rate-limited per
// client address (the peer, or X-Forwarded-For only from a trusted proxy), failed sign-ins store a few
// fixed codes and no provider text, and callers who never started a sign-in get no session row.
import { randomBytes } from 'node:crypto';
import type { Session } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolsDbSessionStore } from '../../server/auth/session-store.js';
import type { PendingLogin } from '../../server/plugins/session.js';
import { sessionCookieName, sessionSigner } from '../../server/plugins/session.js';
import { startTestApp, TEST_SESSION_SECRET, type TestApp } from '../support/app.js';
import { adminQuery } from '../support/databases.js';

const LIMIT = 5;

type Method = 'GET' | 'HEAD' | 'POST';

/** A request to an /auth/* route as a browser would send it (JSON and same-origin for the POST). */
function authRequest(t: TestApp, method: Method, url: string, headers: Record<string, string> = {}, remoteAddress?: string) {
  const post = method === 'POST';
  return t.app.inject({
    method,
    url,
    remoteAddress,
    headers: post ? { 'content-type': 'application/json', origin: t.config.publicUrl, ...headers } : headers,
    ...(post ? { payload: '{}' } : {}),
  });
}

const count = async (t: TestApp, sql: string) => Number((await adminQuery(sql, [], t.tools.database)).rows[0].n);
const failedLogins = (t: TestApp) => count(t, `select count(*) as n from audit_events where action = 'auth.login_failed'`);
const sessionRows = (t: TestApp) => count(t, 'select count(*) as n from sessions');

describe('rate limit on /auth/* by client address, no proxy trusted', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(() => t.close());

  it('answers 429 after the limit, writes nothing more, and ignores a forged X-Forwarded-For', async () => {
    const before = await failedLogins(t);
    const statuses = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      // A different forged address each time: without TRUST_PROXY the peer is what counts.
      const res = await authRequest(
        t,
        'GET',
        '/auth/callback?code=x&state=y',
        { 'x-forwarded-for': `198.51.100.${i}` },
        '192.0.2.10',
      );
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json().error.code).toBe('too_many_requests');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(400), 429, 429, 429]);
    expect(await failedLogins(t)).toBe(before + LIMIT); // the refused requests reached nothing

    // Another address is unaffected, and so are routes outside /auth/*.
    expect((await authRequest(t, 'GET', '/auth/callback', {}, '192.0.2.11')).statusCode).toBe(400);
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/api/me', remoteAddress: '192.0.2.10' });
      expect(res.statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.10' })).statusCode).toBe(200);
    }
  });

  it('limits every registered /auth/* route, all of them against one counter per address', async () => {
    const authRoutes = t.app.registeredRoutes.filter((route) => route.url.startsWith('/auth/'));
    expect(authRoutes.map((route) => `${route.method} ${route.url}`)).toEqual(
      expect.arrayContaining(['GET /auth/login', 'GET /auth/callback', 'POST /auth/logout', 'GET /auth/logout']),
    );
    for (const [index, route] of authRoutes.entries()) {
      const address = `192.0.2.${100 + index}`;
      const statuses = [];
      for (let i = 0; i <= LIMIT; i++)
        statuses.push((await authRequest(t, route.method as Method, route.url, {}, address)).statusCode);
      expect({
        route: `${route.method} ${route.url}`,
        last: statuses.at(-1),
        before: statuses.slice(0, -1).includes(429),
      }).toEqual({
        route: `${route.method} ${route.url}`,
        last: 429,
        before: false,
      });
    }
    // Shared: spending the allowance on one /auth route leaves none for another.
    for (let i = 0; i < LIMIT; i++) await authRequest(t, 'GET', '/auth/logout', {}, '192.0.2.200');
    expect((await authRequest(t, 'GET', '/auth/callback', {}, '192.0.2.200')).statusCode).toBe(429);
  });
});

describe('rate limit on /auth/* behind a trusted proxy (TRUST_PROXY)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ AUTH_RATE_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: '10.0.0.0/16' });
  });
  afterAll(() => t.close());

  it('counts the client address the load balancer forwards, not the load balancer', async () => {
    const through = (client: string) =>
      authRequest(t, 'GET', '/auth/callback', { 'x-forwarded-for': client, 'x-forwarded-proto': 'https' }, '10.0.3.4');
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await through('203.0.113.7')).statusCode);
    expect(statuses).toEqual([...Array(LIMIT).fill(400), 429]);
    // Other people behind the same load balancer still sign in.
    expect((await through('203.0.113.8')).statusCode).toBe(400);
    // A peer outside TRUST_PROXY cannot pick its address by header.
    const forged = [];
    for (let i = 0; i <= LIMIT; i++)
      forged.push(
        (await authRequest(t, 'GET', '/auth/callback', { 'x-forwarded-for': `203.0.113.${20 + i}` }, '192.0.2.50')).statusCode,
      );
    expect(forged.at(-1)).toBe(429);
  });
});

describe('what an unauthenticated caller can store', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** A browser that started a sign-in: its session holds a pending login (as /auth/login leaves it). */
  async function pendingLoginCookie(state: string): Promise<string> {
    const store = new ToolsDbSessionStore(t.app.toolsDb, { idleMs: 60_000, absoluteMs: 3_600_000 });
    const sid = randomBytes(24).toString('base64url');
    const pendingLogin: PendingLogin = { state, nonce: 'n', codeVerifier: 'v'.repeat(43), returnTo: '/', startedAt: Date.now() };
    const data = { createdAt: Date.now(), pendingLogin, cookie: { originalMaxAge: 60_000, path: '/', httpOnly: true } };
    await new Promise<void>((resolve, reject) => store.set(sid, data as unknown as Session, (e) => (e ? reject(e) : resolve())));
    return `${sessionCookieName(t.config.publicUrl)}=${encodeURIComponent(sessionSigner(TEST_SESSION_SECRET).sign(sid))}`;
  }

  async function lastFailure() {
    const { rows } = await adminQuery(
      `select error_code, details, sql, params, octet_length(details::text) as size from audit_events
        where action = 'auth.login_failed' order by seq desc limit 1`,
      [],
      t.tools.database,
    );
    return rows[0];
  }

  it("keeps the provider's error code, never its description or other text", async () => {
    const cookie = await pendingLoginCookie('s1');
    const description = `<img src=x onerror=alert(1)> ${'A'.repeat(5000)}`;
    const res = await t.app.inject({
      method: 'GET',
      url: `/auth/callback?state=s1&error=access_denied&error_description=${encodeURIComponent(description)}`,
      headers: { cookie },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body.length).toBeLessThan(4000); // the page shows a cut of it, escaped
    expect(res.body).not.toContain('<img');
    const failure = await lastFailure();
    expect(failure).toMatchObject({ error_code: 'provider_error', sql: null, params: null });
    expect(failure.details).toEqual({ reason: 'provider_error', providerError: 'access_denied' });

    const other = await pendingLoginCookie('s2');
    await t.app.inject({ method: 'GET', url: `/auth/callback?state=s2&error=${'x<'.repeat(3000)}`, headers: { cookie: other } });
    expect((await lastFailure()).details).toEqual({ reason: 'provider_error', providerError: 'other' });
  });

  it('stores the same small row for every failure, whatever the request carried', async () => {
    const sizes = new Set<number>();
    for (const query of ['', `?code=${'c'.repeat(4000)}&state=${'s'.repeat(2000)}`, `?error=${'e'.repeat(4000)}`]) {
      const res = await t.app.inject({ method: 'GET', url: `/auth/callback${query}` });
      expect(res.statusCode).toBe(400);
      const failure = await lastFailure();
      expect(failure.details).toEqual({ reason: 'no_pending_login' });
      sizes.add(Number(failure.size));
    }
    expect([...sizes]).toHaveLength(1);
  });

  it('gives no session row to a caller who did not start a sign-in', async () => {
    const before = await sessionRows(t);
    const forged = `${sessionCookieName(t.config.publicUrl)}=${encodeURIComponent(sessionSigner(TEST_SESSION_SECRET).sign('no-such-sid'))}`;
    for (const headers of [{}, { cookie: forged }] as Array<Record<string, string>>) {
      await t.app.inject({ method: 'GET', url: '/auth/callback?code=x&state=y', headers });
      await t.app.inject({ method: 'GET', url: '/auth/callback?error=access_denied', headers });
      await t.app.inject({ method: 'GET', url: '/auth/logout', headers });
      await authRequest(t, 'POST', '/auth/logout', headers);
      await t.app.inject({ method: 'GET', url: '/api/me', headers });
      await t.app.inject({ method: 'GET', url: '/queries/1', headers });
    }
    expect(await sessionRows(t)).toBe(before);
  });
});
