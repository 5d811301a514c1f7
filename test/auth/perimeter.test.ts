// The web perimeter through app.inject(): sessions, cookies and CSRF (THREATS.md 28, 30, 35-37).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PUBLIC_ROUTES } from '../../server/auth/perimeter.js';
import { SESSION_TOUCH_INTERVAL_MS, sessionCookieName, sessionSigner } from '../../server/plugins/session.js';
import { startTestApp, TEST_SESSION_SECRET, type TestApp } from '../support/app.js';
import { adminQuery } from '../support/databases.js';
import { jsonHeaders, signIn } from '../support/auth.js';

describe('perimeter', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const me = (cookie?: string) => t.app.inject({ method: 'GET', url: '/api/me', headers: cookie ? { cookie } : {} });

  it('answers 401 on every registered /api route without a session (THREATS.md 28)', async () => {
    const apiRoutes = t.app.registeredRoutes.filter((r) => r.url === '/api' || r.url.startsWith('/api/'));
    expect(apiRoutes.length).toBeGreaterThanOrEqual(2);
    expect(apiRoutes.map((r) => r.url)).toEqual(expect.arrayContaining(['/api/me', '/api/docs']));
    for (const route of apiRoutes) {
      const url = route.url.replace(/:(\w+)/g, '1');
      const body = ['GET', 'HEAD'].includes(route.method)
        ? {}
        : { headers: { 'content-type': 'application/json' }, payload: '{}' };
      const res = await t.app.inject({ method: route.method as 'GET', url, ...body });
      expect({ route: `${route.method} ${route.url}`, status: res.statusCode }).toEqual({
        route: `${route.method} ${route.url}`,
        status: 401,
      });
      if (route.method !== 'HEAD') expect(res.json().error.code).toBe('unauthenticated');
    }
    // Unknown /api paths too: nothing about the API is learned without a session.
    expect((await t.app.inject({ method: 'GET', url: '/api/not-a-route' })).statusCode).toBe(401);
  });

  it('has every route outside /api on the reviewed public list (THREATS.md 52)', async () => {
    const outside = t.app.registeredRoutes.filter((r) => r.url !== '/api' && !r.url.startsWith('/api/'));
    const staticFile = (url: string) => url === '/index.html' || url === '/favicon.svg' || url.startsWith('/assets/');
    const unreviewed = outside.filter((r) => !staticFile(r.url) && !(r.url in PUBLIC_ROUTES));
    expect(unreviewed).toEqual([]);
    expect(outside.map((r) => r.url)).toEqual(expect.arrayContaining(Object.keys(PUBLIC_ROUTES)));
    // Static files are what the web root holds and nothing else: no route there reads the session.
    for (const route of outside.filter((r) => staticFile(r.url) && r.method === 'GET')) {
      const res = await t.app.inject({ method: 'GET', url: route.url });
      expect({ url: route.url, status: res.statusCode, cookie: res.headers['set-cookie'] }).toEqual({
        url: route.url,
        status: 200,
        cookie: undefined,
      });
    }
    // Without a token, /metrics tells nothing (this app has none configured: 404).
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(404);
    expect(metrics.body).not.toMatch(/porthole_|process_/);
  });

  it('answers /api/me for a signed-in user and JSON 404s for unknown /api paths', async () => {
    const editor = await signIn(t, 'editor');
    const res = await me(editor.cookie);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user: editor.user });
    const missing = await t.app.inject({ method: 'GET', url: '/api/not-a-route', headers: { cookie: editor.cookie } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });

  it('refuses forged, tampered, unknown and expired session cookies (THREATS.md 30)', async () => {
    const name = sessionCookieName(t.config.publicUrl);
    const signer = sessionSigner(TEST_SESSION_SECRET);
    const valid = await signIn(t, 'admin');
    const value = decodeURIComponent(valid.cookie.slice(name.length + 1));

    expect((await me(`${name}=forged-session-id`)).statusCode).toBe(401);
    expect((await me(`${name}=${encodeURIComponent(`${value.slice(0, -2)}xx`)}`)).statusCode).toBe(401); // bad signature
    expect((await me(`${name}=${encodeURIComponent(signer.sign('no-such-session-id'))}`)).statusCode).toBe(401);
    const otherSecret = sessionSigner('another-secret-0123456789abcdefghijklmnop').sign(valid.sessionId);
    expect((await me(`${name}=${encodeURIComponent(otherSecret)}`)).statusCode).toBe(401);
    expect((await me(valid.cookie)).statusCode).toBe(200);

    const idle = await signIn(t, 'editor');
    await adminQuery(
      `update sessions set expires_at = now() - interval '1 second' where sid = $1`,
      [idle.sessionId],
      t.tools.database,
    );
    expect((await me(idle.cookie)).statusCode).toBe(401);
    const expiredRows = await adminQuery('select 1 from sessions where sid = $1', [idle.sessionId], t.tools.database);
    expect(expiredRows.rowCount).toBe(0); // removed when found expired

    const old = await signIn(t, 'editor');
    await adminQuery(
      `update sessions set absolute_expires_at = now() - interval '1 second' where sid = $1`,
      [old.sessionId],
      t.tools.database,
    );
    expect((await me(old.cookie)).statusCode).toBe(401);
  });

  it('keeps the absolute lifetime fixed while activity pushes the idle expiry (THREATS.md 36)', async () => {
    const user = await signIn(t, 'editor');
    const expiries = async () =>
      (
        await adminQuery(
          'select expires_at, absolute_expires_at from sessions where sid = $1',
          [user.sessionId],
          t.tools.database,
        )
      ).rows[0] as { expires_at: Date; absolute_expires_at: Date };
    // The first request pushes the idle expiry; within the touch interval after it, a request leaves the
    // row and the cookie alone: no write per request.
    expect((await me(user.cookie)).statusCode).toBe(200);
    const touched = await expiries();
    const soon = await me(user.cookie);
    expect(soon.statusCode).toBe(200);
    expect(soon.headers['set-cookie']).toBeUndefined();
    expect((await expiries()).expires_at.getTime()).toBe(touched.expires_at.getTime());

    // Once the last push is older than the interval, the next request pushes the idle expiry (and the cookie's).
    await adminQuery(
      `update sessions set data = jsonb_set(data, '{touchedAt}', to_jsonb($2::bigint)) where sid = $1`,
      [user.sessionId, Date.now() - SESSION_TOUCH_INTERVAL_MS - 1_000],
      t.tools.database,
    );
    const before = await expiries();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = await me(user.cookie);
    expect(later.statusCode).toBe(200);
    expect([later.headers['set-cookie']].flat().join()).toMatch(/porthole_session=/);
    const after = await expiries();
    expect(after.expires_at.getTime()).toBeGreaterThan(before.expires_at.getTime());
    expect(after.absolute_expires_at.getTime()).toBe(before.absolute_expires_at.getTime());
    const lifetimeHours = (after.absolute_expires_at.getTime() - Date.now()) / 3_600_000;
    expect(lifetimeHours).toBeLessThanOrEqual(t.config.session.maxHours);
    expect(lifetimeHours).toBeGreaterThan(t.config.session.maxHours - 0.1);
  });

  it('logs out with POST only; the old cookie is then refused (THREATS.md 35)', async () => {
    const user = await signIn(t, 'editor');
    const viaGet = await t.app.inject({ method: 'GET', url: '/auth/logout', headers: { cookie: user.cookie } });
    expect(viaGet.statusCode).toBe(405);
    expect((await me(user.cookie)).statusCode).toBe(200);

    const logout = await t.app.inject({ method: 'POST', url: '/auth/logout', headers: jsonHeaders(user, t), payload: '{}' });
    expect(logout.statusCode).toBe(200);
    expect(logout.json()).toEqual({ redirectTo: '/' }); // this test's provider is unreachable: no end-session URL
    expect((await me(user.cookie)).statusCode).toBe(401);
    const events = await adminQuery(
      `select action from audit_events where actor_user_id = $1 order by seq`,
      [user.user.id],
      t.tools.database,
    );
    expect(events.rows.map((r) => r.action)).toEqual(['auth.logout']);
  });

  it('refuses cross-site and non-JSON state-changing requests; nothing changes (THREATS.md 37)', async () => {
    const user = await signIn(t, 'editor');
    const origin = new URL(t.config.publicUrl).origin;
    const attempts = [
      { headers: { cookie: user.cookie, 'content-type': 'text/plain' }, payload: '{}', status: 415 },
      { headers: { cookie: user.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1', status: 415 },
      { headers: { cookie: user.cookie, 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--', status: 415 },
      { headers: { cookie: user.cookie }, payload: undefined, status: 415 },
      {
        headers: { cookie: user.cookie, 'content-type': 'application/json', origin: 'https://evil.example' },
        payload: '{}',
        status: 403,
      },
      {
        headers: { cookie: user.cookie, 'content-type': 'application/json', origin, 'sec-fetch-site': 'cross-site' },
        payload: '{}',
        status: 403,
      },
      {
        headers: { cookie: user.cookie, 'content-type': 'application/json', 'sec-fetch-site': 'same-site' },
        payload: '{}',
        status: 403,
      },
    ];
    for (const attempt of attempts) {
      for (const url of ['/auth/logout', '/api/me']) {
        const res = await t.app.inject({ method: 'POST', url, headers: attempt.headers, payload: attempt.payload });
        expect({ url, headers: attempt.headers, status: res.statusCode }).toEqual({
          url,
          headers: attempt.headers,
          status: attempt.status,
        });
      }
    }
    expect((await me(user.cookie)).statusCode).toBe(200); // still signed in: no logout happened
  });
});

describe('session cookie on https (THREATS.md 36)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      PUBLIC_URL: 'https://porthole.example.com',
      TRUST_PROXY: 'loopback',
      OIDC_ISSUER_URL: 'https://127.0.0.1:1/unused',
    });
  });
  afterAll(() => t.close());

  it('is __Host- prefixed, Secure, HttpOnly, SameSite=Lax, Path=/ with no Domain', async () => {
    const user = await signIn(t, 'viewer');
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { cookie: user.cookie, 'x-forwarded-proto': 'https' },
    });
    expect(res.statusCode).toBe(200);
    const setCookie = [res.headers['set-cookie']].flat().find((c) => c?.startsWith('__Host-porthole_session='));
    expect(setCookie).toBeDefined();
    const attributes = setCookie!.split(';').map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['path=/', 'httponly', 'secure', 'samesite=lax']));
    expect(attributes.some((a) => a.startsWith('expires='))).toBe(true);
    expect(attributes.some((a) => a.startsWith('domain='))).toBe(false);
  });

  it('is not sent back over plain http', async () => {
    const user = await signIn(t, 'viewer');
    const res = await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: user.cookie } });
    expect([res.headers['set-cookie']].flat().filter(Boolean)).toEqual([]);
  });
});
