// The app shell in a real browser: it renders, reports both databases ready, and trips no CSP rule.
import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { signIn } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.skipIf(!browserAvailable)('web shell (Chromium)', { timeout: 60_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('renders the header and the status of both databases with no CSP violation', async () => {
    const { cookie } = await signIn(server, 'admin', { name: 'Shell Tester' });
    const [name, value] = cookie.split('=') as [string, string];
    const context = await browser.newContext();
    await context.addCookies([{ name, value, url: server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, server.origin);
    await page.goto(`${server.origin}/`);
    await page.getByText('Shell Tester').waitFor();
    await expect(page.getByRole('link', { name: 'Porthole' })).toBeTruthy();
    await page.getByText('Main database (read-only): ok').waitFor();
    await page.getByText('Porthole database: ok').waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).toEqual([
      'Home',
      'Queries',
      'New query',
      'Dashboards',
      'Checks',
      'Audit log',
      'Destinations',
      'API tokens',
    ]);
    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/shell-home.png', fullPage: true });

    await page.getByRole('link', { name: 'Queries' }).click();
    await page.getByRole('heading', { name: 'Queries' }).waitFor();
    expect(page.url()).toBe(`${server.origin}/queries`);

    await page.goto(`${server.origin}/some/deep/link`);
    await page.getByText('/some/deep/link').waitFor();
    expect(seen.cspViolations).toEqual([]);
    expect(seen.foreignRequests).toEqual([]);
    expect(seen.consoleErrors).toEqual([]);
  });
});
