// Signing in and out in a real browser through the demo identity provider (issue #3's browser test).
import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoIdentityProvider, type DemoProvider } from '../../server/demo/identity-provider.js';
import { sessionCookieName } from '../../server/plugins/session.js';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { adminQuery } from '../support/databases.js';
import { freePort } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.skipIf(!browserAvailable)('sign-in in Chromium', { timeout: 60_000 }, () => {
  let server: TestServer;
  let provider: DemoProvider;
  let browser: Browser;

  beforeAll(async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    provider = await startDemoIdentityProvider({
      port: 0,
      clientId: 'porthole-e2e',
      clientSecret: 'e2e-client-secret',
      portholeUrl: origin,
    });
    [server, browser] = await Promise.all([
      startTestServer(
        {
          OIDC_ISSUER_URL: provider.issuer,
          OIDC_CLIENT_ID: 'porthole-e2e',
          OIDC_CLIENT_SECRET: 'e2e-client-secret',
          OIDC_SCOPES: 'openid email profile groups',
          ADMIN_GROUPS: 'porthole-admins',
          VIEWER_GROUPS: 'product',
        },
        port,
      ),
      launchBrowser(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await provider?.stop();
  });

  it('signs in with one click, shows who you are, signs out of both in one click, and signs in as someone else', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const seen = watchPage(page, server.origin);
    await mkdir('test-results', { recursive: true });

    await page.goto(`${server.origin}/queries?tag=billing`);
    await page.getByRole('heading', { name: 'Sign in to Porthole' }).waitFor();
    await page.screenshot({ path: 'test-results/login-signed-out.png' });
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();

    await page.getByRole('heading', { name: 'Porthole demo sign-in' }).waitFor();
    expect(await page.getByText('not a real one').isVisible()).toBe(true);
    await page.screenshot({ path: 'test-results/login-demo-provider.png' });
    await page.getByRole('button', { name: /Ada Admin/ }).click();

    await page.getByTestId('user-role').waitFor();
    expect(page.url()).toBe(`${server.origin}/queries?tag=billing`);
    expect(await page.getByTestId('user-area').textContent()).toMatch(/Ada Admin/);
    expect(await page.getByTestId('user-role').textContent()).toBe('admin');
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).toContain('Audit log');
    await page.screenshot({ path: 'test-results/login-signed-in.png' });

    const cookieName = sessionCookieName(server.origin);
    const oldCookie = (await context.cookies()).find((c) => c.name === cookieName)!;
    expect(oldCookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });

    // One click signs out of Porthole and of the demo provider, and lands back on Porthole.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${server.origin}/`);
    await page.getByRole('heading', { name: 'Sign in to Porthole' }).waitFor();
    await page.screenshot({ path: 'docs/rough-signed-out.png' });
    const res = await fetch(`${server.origin}/api/me`, { headers: { cookie: `${cookieName}=${oldCookie.value}` } });
    expect(res.status).toBe(401);

    // The provider forgot Ada too: signing in again asks who, so another demo user can sign in.
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { name: 'Porthole demo sign-in' }).waitFor();
    await page.getByRole('button', { name: /Eddie Editor/ }).click();
    await page.getByTestId('user-role').waitFor();
    expect(await page.getByTestId('user-area').textContent()).toMatch(/Eddie Editor/);
    expect(await page.getByTestId('user-role').textContent()).toBe('editor');
    expect(seen.cspViolations).toEqual([]);
    // /api/me answers 401 while signed out (how the page learns it); nothing else went wrong.
    expect(seen.consoleErrors.filter((message) => !message.includes('status of 401'))).toEqual([]);
    await context.close();
  });

  it('sends a user whose session expired through sign-in and back to the same page', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.origin}/admin/audit?actor=3`);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.getByRole('button', { name: /Eddie Editor/ }).click();
    await page.getByTestId('user-role').waitFor();
    expect(await page.getByTestId('user-role').textContent()).toBe('editor');
    // Viewers and editors do not see the admin link.
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).not.toContain('Audit log');

    await adminQuery(`delete from sessions where user_id is not null`, [], server.tools.database);
    await new Promise((resolve) => setTimeout(resolve, 5_100)); // the focus check runs at most every 5 s
    const target = `${server.origin}/admin/audit?actor=3`;
    const relogin = page.waitForResponse((response) => response.url().startsWith(`${server.origin}/auth/login?returnTo=`));
    await page.evaluate('window.dispatchEvent(new Event("focus"))');
    const loginResponse = await relogin;
    expect(new URL(loginResponse.url()).searchParams.get('returnTo')).toBe('/admin/audit?actor=3');
    // The provider may remember its own sign-in and send us straight back, or ask again.
    await page.waitForURL((url) => url.pathname.startsWith('/interaction/') || url.href === target);
    if (page.url().includes('/interaction/')) await page.getByRole('button', { name: /Eddie Editor/ }).click();
    await page.waitForURL(target);
    await page.getByTestId('user-role').waitFor();
    const sessions = await adminQuery(
      `select count(*)::int as n from sessions where user_id is not null`,
      [],
      server.tools.database,
    );
    expect(sessions.rows[0].n).toBe(1);
    await context.close();
  });
});
