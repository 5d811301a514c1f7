// The app shell in a real browser: it renders, reports both databases ready, and trips no CSP rule.
import { mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { signIn } from '../support/auth.js';

describe.skipIf(!browserAvailable)('web shell (Chromium)', { timeout: 60_000 }, () => {
  const suite = serverAndBrowser();

  it('renders the header and the status of both databases with no CSP violation', async () => {
    const { cookie } = await signIn(suite.server, 'admin', { name: 'Shell Tester' });
    const [name, value] = cookie.split('=') as [string, string];
    const context = await suite.browser.newContext();
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, suite.server.origin);
    await page.goto(`${suite.server.origin}/`);
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
    expect(page.url()).toBe(`${suite.server.origin}/queries`);

    await page.goto(`${suite.server.origin}/some/deep/link`);
    await page.getByText('/some/deep/link').waitFor();
    expect(seen.cspViolations).toEqual([]);
    expect(seen.foreignRequests).toEqual([]);
    expect(seen.consoleErrors).toEqual([]);
  });
});
