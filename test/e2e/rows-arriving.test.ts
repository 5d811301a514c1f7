// Rows of a slow query appear while it is still running (issue #6 item 5), in Chromium.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../support/auth.js';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.skipIf(!browserAvailable)('rows arriving (Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows the first rows while the query runs, then all of them', { timeout: 90_000 }, async () => {
    const editor = await signIn(server, 'editor');
    const headers = { cookie: editor.cookie, 'content-type': 'application/json', origin: server.origin };
    // 300 rows at 20 ms each: the first batch (100 rows) arrives after ~2 s, the rest after ~6 s.
    const created = await fetch(`${server.origin}/api/queries`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: 'Slow rows',
        sql: 'select g as n, pg_sleep(0.02)::text as slept from generate_series(1, 300) g',
        dataSource: 'main',
      }),
    });
    const { id } = (await created.json()) as { id: string };

    const [name, value] = editor.cookie.split('=') as [string, string];
    const context = await browser.newContext();
    context.setDefaultTimeout(30_000);
    await context.addCookies([{ name, value, url: server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, server.origin);
    await page.goto(`${server.origin}/queries/${id}`); // a permalink runs the query on open

    await page.getByTestId('rows-so-far').getByText('100 rows so far').waitFor();
    expect(await page.getByTestId('cancel').isVisible()).toBe(true); // still running
    expect(await page.getByRole('grid').getByRole('gridcell', { name: '1', exact: true }).first().isVisible()).toBe(true);

    await expect
      .poll(async () => (await page.getByTestId('run-summary').count()) && page.getByTestId('run-summary').innerText(), {
        timeout: 30_000,
      })
      .toMatch(/^300\s+rows in/);
    expect(await page.getByTestId('rows-so-far').count()).toBe(0);
    expect(seen.cspViolations).toEqual([]);
    await context.close();
  });
});
