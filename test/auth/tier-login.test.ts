// Access tiers follow the identity provider's groups (issue #13): the groups claim is stored with the user
// and in the session at each login, and each run's tier is chosen from them, so a user added to or
// removed from `support` at the provider runs under the other tier from their next login on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoIdentityProvider, type DemoProvider, type DemoUser } from '../../server/demo/identity-provider.js';
import { adminQuery } from '../support/databases.js';
import { Browserless, signInThroughProvider } from '../support/oidc-flow.js';
import { freePort } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('the access tier after a change of groups', () => {
  let server: TestServer;
  let provider: DemoProvider;
  const sam: DemoUser = { id: 'sam', name: 'Sam', email: 'sam@porthole.demo', groups: ['engineering'], description: 'Editor' };

  beforeAll(async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // The provider reads the user's groups at each sign-in, so changing `sam.groups` is a change at the provider.
    provider = await startDemoIdentityProvider({
      port: 0,
      clientId: 'porthole-test',
      clientSecret: 'test-client-secret',
      portholeUrl: origin,
      users: [sam],
    });
    server = await startTestServer(
      {
        OIDC_ISSUER_URL: provider.issuer,
        OIDC_CLIENT_ID: 'porthole-test',
        OIDC_CLIENT_SECRET: 'test-client-secret',
        OIDC_SCOPES: 'openid email profile groups',
      },
      port,
      { tiers: true },
    );
  });
  afterAll(async () => {
    await server?.close();
    await provider?.stop();
  });

  const signInAsSam = async () => {
    const browser = new Browserless();
    const { final } = await signInThroughProvider(browser, server.origin, 'sam');
    expect(final!.status).toBe(303);
    return browser;
  };
  const runAs = async (browser: Browserless) => {
    const res = await browser.request(`${server.origin}/api/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.origin },
      body: JSON.stringify({ dataSource: 'main', sql: 'select "to" from notifications limit 1' }),
    });
    const body = JSON.parse(res.body) as { tier?: string; error?: { code: string; tier?: string } };
    return { status: res.status, tier: body.tier ?? body.error?.tier, code: body.error?.code };
  };
  const storedGroups = async () =>
    (await adminQuery(`select groups from users where email = $1`, ['sam@porthole.demo'], server.tools.database)).rows[0]
      ?.groups as string[];

  it('uses the tier the groups of the latest login allow', async () => {
    const before = await signInAsSam();
    expect(await runAs(before)).toEqual({ status: 403, tier: 'standard', code: 'column_restricted' });
    expect(await storedGroups()).toEqual(['engineering']);

    sam.groups = ['engineering', 'support'];
    // The session signed in before the change keeps the groups it was given until its next login.
    expect(await runAs(before)).toMatchObject({ status: 403, tier: 'standard' });
    const added = await signInAsSam();
    expect(await runAs(added)).toEqual({ status: 200, tier: 'pii', code: undefined });
    expect(await storedGroups()).toEqual(['engineering', 'support']);

    sam.groups = ['engineering'];
    const removed = await signInAsSam();
    expect(await runAs(removed)).toEqual({ status: 403, tier: 'standard', code: 'column_restricted' });
    expect(await storedGroups()).toEqual(['engineering']);

    const { rows } = await adminQuery(
      `select details->>'tier' as tier, action from audit_events where actor_email = $1 and action in ('run.finished', 'run.failed') order by seq`,
      ['sam@porthole.demo'],
      server.tools.database,
    );
    expect(rows.map((r) => `${r.action}:${r.tier}`)).toEqual([
      'run.failed:standard',
      'run.failed:standard',
      'run.finished:pii',
      'run.failed:standard',
    ]);
  });
});
