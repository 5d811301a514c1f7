// ID tokens that must be refused (THREATS.md 32), from a provider that misbehaves on purpose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../../server/plugins/session.js';
import { adminQuery } from '../support/databases.js';
import { Browserless } from '../support/oidc-flow.js';
import { startRogueIdp, type RogueIdp, type RogueScenario } from '../support/rogue-idp.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('ID token validation', () => {
  let rogue: RogueIdp;
  let server: TestServer;
  beforeAll(async () => {
    rogue = await startRogueIdp();
    server = await startTestServer({
      OIDC_ISSUER_URL: rogue.issuer,
      OIDC_CLIENT_ID: rogue.clientId,
      OIDC_CLIENT_SECRET: rogue.clientSecret,
    });
  });
  afterAll(async () => {
    await server?.close();
    await rogue?.stop();
  });

  async function signInWith(scenario: RogueScenario) {
    rogue.scenario = scenario;
    const browser = new Browserless();
    const login = await browser.request(`${server.origin}/auth/login`);
    const authorize = await browser.request(login.location!);
    const callback = await browser.request(authorize.location!);
    const me = await browser.request(`${server.origin}/api/me`);
    return { callback, me };
  }

  it('accepts a well-formed token from the same provider (the control case)', async () => {
    const { callback, me } = await signInWith('valid');
    expect(callback.status).toBe(303);
    expect(rogue.lastPkceOk).toBe(true);
    expect(JSON.parse(me.body).user.email).toBe('rogue@example.com');
  });

  it('keeps no ID token in the session when the provider has no end-session endpoint, and signs out locally', async () => {
    rogue.scenario = 'valid';
    const browser = new Browserless();
    const login = await browser.request(`${server.origin}/auth/login`);
    const authorize = await browser.request(login.location!);
    expect((await browser.request(authorize.location!)).status).toBe(303);
    const cookieName = sessionCookieName(server.origin);
    const sid = decodeURIComponent(browser.jar.get(server.origin, cookieName)!).split('.')[0];
    const stored = await adminQuery(`select data from sessions where sid = $1`, [sid], server.tools.database);
    expect(stored.rows[0].data.user.email).toBe('rogue@example.com');
    expect(stored.rows[0].data).not.toHaveProperty('idToken');
    const logout = await browser.request(`${server.origin}/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.origin },
      body: '{}',
    });
    expect(JSON.parse(logout.body)).toEqual({ redirectTo: '/' });
  });

  it.each(['wrong-nonce', 'wrong-audience', 'wrong-issuer', 'alg-none', 'expired', 'bad-signature'] as const)(
    'refuses a token with %s',
    async (scenario) => {
      const { callback, me } = await signInWith(scenario);
      expect(callback.status).toBe(400);
      expect(callback.body).toMatch(/Sign-in failed/);
      expect(me.status).toBe(401);
      const failure = await adminQuery(
        `select error_code from audit_events where action = 'auth.login_failed' order by seq desc limit 1`,
        [],
        server.tools.database,
      );
      expect(failure.rows[0].error_code).toBe('token_rejected');
    },
  );
});
