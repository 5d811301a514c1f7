// Checks in Chromium: an editor adds a check from a saved query's page, runs it now, and sees its state
// and history; the pages are screenshotted for the README (docs/checks-*.png).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { jsonHeaders, signIn } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.skipIf(!browserAvailable)('checks (Chromium)', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('adds a check from a query page, runs it now, and shows the state and the history', async () => {
    const editor = await signIn(server, 'editor', { name: 'Eddie Editor' });
    const created = await server.app.inject({
      method: 'POST',
      url: '/api/queries',
      headers: jsonHeaders(editor, server),
      payload: JSON.stringify({
        name: 'Failed SMS today',
        dataSource: 'main',
        sql: "select count(*)::int as failed from notifications where notification_type = 'sms' and notification_status like '%failure'",
      }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const query = created.json<{ id: string }>();

    const [cookieName, value] = editor.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1300, height: 900 } });
    await context.addCookies([{ name: cookieName, value, url: server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, server.origin);
    await page.goto(`${server.origin}/queries/${query.id}`);
    await page.getByRole('link', { name: 'Add a check' }).click();
    await page.waitForURL(/\/checks\/new\?query=/);
    await page.getByLabel('Name').fill('Any failed SMS');
    await page.getByLabel('Failing when').selectOption('threshold');
    await page.locator('input[name="column"]').fill('failed');
    await page.locator('input[name="value"]').fill('0');
    await page.getByLabel('Email to (comma-separated)').fill('oncall@example.com');
    await page.screenshot({ path: 'docs/checks-new.png' });
    await page.getByRole('button', { name: 'Create check' }).click();
    await page.waitForURL(/\/checks\/\d+$/);
    await page.getByTestId('check-state').first().getByText('pending').waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByTestId('check-state').first().getByText('failing').waitFor();
    await expect.poll(() => page.getByTestId('state-reason').innerText()).toMatch(/^failed is \d+, which is > 0\.$/);
    const history = page.getByTestId('check-history').locator('tbody tr');
    expect(await history.count()).toBe(1);
    expect(await history.first().innerText()).toMatch(/manual\s+failing/);
    await page.screenshot({ path: 'docs/checks-page.png', fullPage: true });

    await page.getByRole('link', { name: 'Checks', exact: true }).click();
    await page.waitForURL(/\/checks$/);
    await page.getByRole('link', { name: 'Any failed SMS' }).waitFor();
    await page.screenshot({ path: 'docs/checks-list.png' });
    expect(seen.cspViolations).toEqual([]);
    expect(seen.foreignRequests).toEqual([]);
    await context.close();
  });
});
