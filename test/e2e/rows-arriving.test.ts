// Rows of a slow query appear while it is still running (issue #6 item 5), in Chromium.
import { describe, expect, it } from 'vitest';
import { signIn } from '../support/auth.js';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';

describe.skipIf(!browserAvailable)('rows arriving (Chromium)', () => {
  const suite = serverAndBrowser();

  it('shows the first rows while the query runs, then all of them', { timeout: 90_000 }, async () => {
    const editor = await signIn(suite.server, 'editor');
    const headers = { cookie: editor.cookie, 'content-type': 'application/json', origin: suite.server.origin };
    // 300 rows at 20 ms each: the first batch (100 rows) arrives after ~2 s, the rest after ~6 s.
    const created = await fetch(`${suite.server.origin}/api/queries`, {
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
    const context = await suite.browser.newContext();
    context.setDefaultTimeout(30_000);
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, suite.server.origin);
    await page.goto(`${suite.server.origin}/queries/${id}`); // a permalink runs the query on open

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
