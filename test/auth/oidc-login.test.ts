// Sign-in through a real OpenID provider (the demo's oidc-provider on loopback), driven like a browser.
// THREATS.md 31 (state), 33 (returnTo), 34 (fixation), 35 (logout), roles and audit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoIdentityProvider, type DemoProvider } from '../../server/demo/identity-provider.js';
import { sessionCookieName } from '../../server/plugins/session.js';
import { adminQuery } from '../support/databases.js';
import { Browserless, signInThroughProvider } from '../support/oidc-flow.js';
import { freePort } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('OIDC sign-in with the demo provider', () => {
  let server: TestServer;
  let provider: DemoProvider;
  let cookieName: string;

  beforeAll(async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    provider = await startDemoIdentityProvider({
      port: 0,
      clientId: 'porthole-test',
      clientSecret: 'test-client-secret',
      portholeUrl: origin,
    });
    server = await startTestServer(
      {
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: 'porthole-test',
        OIDC_CLIENT_SECRET: 'test-client-secret',
        OIDC_SCOPES: 'openid email profile groups',
        ADMIN_GROUPS: 'porthole-admins',
        VIEWER_GROUPS: 'product',
      },
      port,
    );
    cookieName = sessionCookieName(server.origin);
  });
  afterAll(async () => {
    await server?.close();
    await provider?.stop();
  });

  const me = (browser: Browserless) => browser.request(`${server.origin}/api/me`);
  const auditRows = async (action: string) =>
    (await adminQuery(`select * from audit_events where action = $1 order by seq`, [action], server.tools.database)).rows;

  it.each([
    ['ada', 'admin'],
    ['eddie', 'editor'],
    ['vera', 'viewer'],
  ])('signs %s in as %s and returns to the page they asked for', async (userId, role) => {
    const browser = new Browserless();
    const { final } = await signInThroughProvider(browser, server.origin, userId, {
      returnTo: '/queries/7-revenue?start_time=2026-01-01',
    });
    expect(final!.status).toBe(303);
    expect(final!.location).toBe(`${server.origin}/queries/7-revenue?start_time=2026-01-01`);
    const res = await me(browser);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).user).toMatchObject({ email: `${userId}@porthole.demo`, role });
    const login = (await auditRows('auth.login')).find((row) => row.actor_email === `${userId}@porthole.demo`);
    expect(login).toMatchObject({ outcome: 'ok', details: expect.objectContaining({ role, issuer: provider.issuer }) });
  });

  it('sends an authorization request with PKCE S256, state, nonce and the redirect URI from PUBLIC_URL', async () => {
    const browser = new Browserless();
    const login = await browser.request(`${server.origin}/auth/login`, { headers: { host: 'evil.example' } });
    const url = new URL(login.location!);
    expect(url.origin).toBe(provider.issuer);
    expect(url.searchParams.get('redirect_uri')).toBe(`${server.origin}/auth/callback`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/);
    expect(url.searchParams.get('scope')).toBe('openid email profile groups');
  });

  it('gives a new session id at sign-in, so a planted one is worthless (THREATS.md 34)', async () => {
    const browser = new Browserless();
    const { callbackUrl } = await signInThroughProvider(browser, server.origin, 'eddie', { stopAtCallback: true });
    const planted = browser.jar.get(server.origin, cookieName);
    expect(planted).toBeDefined();
    const callback = await browser.request(callbackUrl);
    expect(callback.status).toBe(303);
    const fresh = browser.jar.get(server.origin, cookieName);
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(planted);
    expect((await me(browser)).status).toBe(200);
    const attacker = new Browserless();
    attacker.jar.set(server.origin, cookieName, planted!);
    expect((await me(attacker)).status).toBe(401);
  });

  describe('callback checks (THREATS.md 31)', () => {
    async function expectRefused(browser: Browserless, url: string, reason: string) {
      const before = (await auditRows('auth.login_failed')).length;
      const res = await browser.request(url);
      expect(res.status).toBe(400);
      expect(res.body).toMatch(/Sign-in failed/);
      expect((await me(browser)).status).toBe(401);
      const failures = await auditRows('auth.login_failed');
      expect(failures.length).toBe(before + 1);
      expect(failures.at(-1)).toMatchObject({ outcome: 'denied', error_code: reason });
    }

    it('refuses a callback with no pending login in this browser', async () => {
      const victim = new Browserless();
      const { callbackUrl } = await signInThroughProvider(victim, server.origin, 'eddie', { stopAtCallback: true });
      await expectRefused(new Browserless(), callbackUrl, 'no_pending_login');
    });

    it('refuses a missing or wrong state', async () => {
      const browser = new Browserless();
      const { callbackUrl } = await signInThroughProvider(browser, server.origin, 'eddie', { stopAtCallback: true });
      const wrong = new URL(callbackUrl);
      wrong.searchParams.set('state', 'attacker-state');
      await expectRefused(browser, wrong.href, 'state_mismatch');

      const second = new Browserless();
      const next = await signInThroughProvider(second, server.origin, 'eddie', { stopAtCallback: true });
      const missing = new URL(next.callbackUrl);
      missing.searchParams.delete('state');
      await expectRefused(second, missing.href, 'state_mismatch');
    });

    it('refuses a replayed callback', async () => {
      const browser = new Browserless();
      const { callbackUrl } = await signInThroughProvider(browser, server.origin, 'eddie', { stopAtCallback: true });
      const planted = browser.jar.get(server.origin, cookieName)!;
      expect((await browser.request(callbackUrl)).status).toBe(303);
      const replayer = new Browserless();
      replayer.jar.set(server.origin, cookieName, planted);
      await expectRefused(replayer, callbackUrl, 'no_pending_login');
    });

    it("refuses the provider's error answer and a code swapped from another login", async () => {
      const browser = new Browserless();
      const { callbackUrl } = await signInThroughProvider(browser, server.origin, 'eddie', { stopAtCallback: true });
      const denied = new URL(`${server.origin}/auth/callback`);
      denied.searchParams.set('error', 'access_denied');
      denied.searchParams.set('state', new URL(callbackUrl).searchParams.get('state')!);
      await expectRefused(browser, denied.href, 'provider_error');

      // A code issued for someone else's sign-in (another PKCE verifier and nonce) with this browser's state.
      const mine = new Browserless();
      const myCallback = new URL(
        (await signInThroughProvider(mine, server.origin, 'eddie', { stopAtCallback: true })).callbackUrl,
      );
      const theirs = new URL(
        (await signInThroughProvider(new Browserless(), server.origin, 'ada', { stopAtCallback: true })).callbackUrl,
      );
      myCallback.searchParams.set('code', theirs.searchParams.get('code')!);
      await expectRefused(mine, myCallback.href, 'token_rejected');
    });

    it('refuses a pending login whose PKCE verifier was lost or altered (THREATS.md 32)', async () => {
      for (const verifier of ['', 'x'.repeat(43)]) {
        const browser = new Browserless();
        const { callbackUrl } = await signInThroughProvider(browser, server.origin, 'eddie', { stopAtCallback: true });
        const sid = decodeURIComponent(browser.jar.get(server.origin, cookieName)!).split('.')[0];
        await adminQuery(
          `update sessions set data = jsonb_set(data, '{pendingLogin,codeVerifier}', to_jsonb($2::text)) where sid = $1`,
          [sid, verifier],
          server.tools.database,
        );
        await expectRefused(browser, callbackUrl, 'token_rejected');
      }
    });
  });

  it('turns an off-site returnTo into / at the callback, whatever its spelling (THREATS.md 33, 44)', async () => {
    const offSite = [
      '//evil.example',
      'https://evil.example/x',
      '/\\evil.example',
      '/a/..//evil.example',
      '/%2e%2e//evil.example',
      '/.%2E//evil.example',
      '/./\\evil.example',
      '/.//evil.example',
      '/%2f/evil.example',
      '/%5cevil.example',
      '/a/%252e%252e//evil.example',
      '/\t/evil.example',
    ];
    for (const returnTo of offSite) {
      const browser = new Browserless();
      const { final } = await signInThroughProvider(browser, server.origin, 'eddie', { returnTo });
      expect({ returnTo, status: final!.status, location: final!.location }).toEqual({
        returnTo,
        status: 303,
        location: `${server.origin}/`,
      });
    }
  });

  it('keeps a same-origin returnTo in its normalised form', async () => {
    const browser = new Browserless();
    const { final } = await signInThroughProvider(browser, server.origin, 'eddie', {
      returnTo: '/queries/%2e%2e/admin/audit?x=1',
    });
    expect(final!.status).toBe(303);
    expect(final!.location).toBe(`${server.origin}/admin/audit?x=1`);
  });

  describe('sign-ins in progress (THREATS.md 52)', () => {
    const sessionOf = async (browser: Browserless) => {
      const sid = decodeURIComponent(browser.jar.get(server.origin, cookieName)!).split('.')[0];
      const { rows } = await adminQuery(
        `select user_id, extract(epoch from expires_at - now()) as idle_s, extract(epoch from absolute_expires_at - now()) as absolute_s
           from sessions where sid = $1`,
        [sid],
        server.tools.database,
      );
      return rows[0];
    };

    it('keeps a pending login no longer than the 15 minutes it may take; signing in gives the full lifetime', async () => {
      const browser = new Browserless();
      const { callbackUrl } = await signInThroughProvider(browser, server.origin, 'eddie', { stopAtCallback: true });
      const pending = await sessionOf(browser);
      expect(pending.user_id).toBeNull();
      expect(Number(pending.idle_s)).toBeLessThanOrEqual(15 * 60);
      expect(Number(pending.absolute_s)).toBeLessThanOrEqual(15 * 60);
      expect((await browser.request(callbackUrl)).status).toBe(303);
      const signedIn = await sessionOf(browser);
      expect(signedIn.user_id).not.toBeNull();
      expect(Number(signedIn.absolute_s)).toBeGreaterThan(60 * 60);
    });

    it('refuses new sign-ins while 10,000 are in progress, and stores nothing for them', async () => {
      await adminQuery(
        `insert into sessions (sid, user_id, data, expires_at, absolute_expires_at)
         select 'flood-' || g, null, '{}', now() + interval '10 minutes', now() + interval '10 minutes'
           from generate_series(1, 10000) g`,
        [],
        server.tools.database,
      );
      try {
        const before = await adminQuery(
          `select (select count(*) from sessions) as sessions, (select count(*) from audit_events) as events`,
          [],
          server.tools.database,
        );
        const browser = new Browserless();
        const login = await browser.request(`${server.origin}/auth/login`);
        expect(login.status).toBe(503);
        expect(login.body).toMatch(/Too many sign-ins are in progress/);
        const after = await adminQuery(
          `select (select count(*) from sessions) as sessions, (select count(*) from audit_events) as events`,
          [],
          server.tools.database,
        );
        expect(after.rows[0]).toEqual(before.rows[0]);
      } finally {
        await adminQuery(`delete from sessions where sid like 'flood-%'`, [], server.tools.database);
      }
      // Expired ones do not count: the limit is on sign-ins that may still finish.
      await adminQuery(
        `insert into sessions (sid, user_id, data, expires_at, absolute_expires_at)
         select 'stale-' || g, null, '{}', now() - interval '1 minute', now() + interval '10 minutes'
           from generate_series(1, 10000) g`,
        [],
        server.tools.database,
      );
      try {
        expect((await new Browserless().request(`${server.origin}/auth/login`)).status).toBe(302);
      } finally {
        await adminQuery(`delete from sessions where sid like 'stale-%'`, [], server.tools.database);
      }
    });
  });

  it("signs out through the provider's end-session endpoint with id_token_hint, ending its session too (THREATS.md 35)", async () => {
    const browser = new Browserless();
    await signInThroughProvider(browser, server.origin, 'vera');
    // This provider ends sessions, so the ID token is kept for the hint (and only for that).
    const sid = decodeURIComponent(browser.jar.get(server.origin, cookieName)!).split('.')[0];
    const stored = await adminQuery(`select data from sessions where sid = $1`, [sid], server.tools.database);
    expect(stored.rows[0].data.idToken).toMatch(/^ey/);

    const logout = await browser.request(`${server.origin}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.origin },
      body: '{}',
    });
    expect(logout.status).toBe(200);
    const redirectTo = new URL(JSON.parse(logout.body).redirectTo);
    expect(`${redirectTo.origin}${redirectTo.pathname}`).toBe(`${provider.issuer}/session/end`);
    expect(redirectTo.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(redirectTo.searchParams.get('post_logout_redirect_uri')).toBe(`${server.origin}/`);
    expect((await me(browser)).status).toBe(401);

    // With the hint, the provider does not ask again: its page confirms by itself (one click in all).
    const endSession = await browser.request(redirectTo.href);
    expect(endSession.status).toBe(200);
    expect(endSession.body).not.toMatch(/Sign out of the demo identity provider\?/);
    expect(endSession.body).toContain(`<script>document.getElementById('op.logoutForm').submit();</script>`);
    const action = /<form id="op\.logoutForm" method="post" action="([^"]+)">/.exec(endSession.body)![1]!;
    const fields = new URLSearchParams(
      [...endSession.body.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"\/>/g)].map(
        ([, name, value]): [string, string] => [name!, value!],
      ),
    );
    expect(fields.get('logout')).toBe('yes');
    const confirmed = await browser.request(new URL(action, provider.issuer).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
    });
    expect(confirmed.location).toBe(`${server.origin}/`);

    // The provider's session is over: the next sign-in asks who, so another demo user can sign in.
    await signInThroughProvider(browser, server.origin, 'eddie');
    expect(JSON.parse((await me(browser)).body).user.email).toBe('eddie@porthole.demo');
  });

  it('asks before ending the provider session when the request carries no id_token_hint', async () => {
    const browser = new Browserless();
    await signInThroughProvider(browser, server.origin, 'vera');
    const endSession = await browser.request(`${provider.issuer}/session/end`);
    expect(endSession.status).toBe(200);
    expect(endSession.body).toMatch(/Sign out of the demo identity provider\?/);
    expect(endSession.body).not.toContain('<script>');
  });

  it('recomputes the role at every login and audits the change', async () => {
    const browser = new Browserless();
    await signInThroughProvider(browser, server.origin, 'eddie');
    const { user } = JSON.parse((await me(browser)).body);
    await adminQuery(`update users set role = 'viewer' where id = $1`, [user.id], server.tools.database);
    await signInThroughProvider(new Browserless(), server.origin, 'eddie');
    const change = (await auditRows('auth.role_changed')).find((row) => row.actor_user_id === user.id);
    expect(change).toMatchObject({ details: expect.objectContaining({ from: 'viewer', to: 'editor' }) });
  });
});
