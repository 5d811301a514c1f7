// What a newcomer saw on the query pages (issue #18): numbers cut at the bottom of a long result (defect
// 6), and messages that disagreed (defect 9): /queries/new for a viewer, "Copy link" without variables, a
// stale "Fill in" after a variable was added.
import { describe, expect, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { signIn } from '../support/auth.js';
import { expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

describe.skipIf(!browserAvailable)('query pages as a newcomer found them (Chromium)', () => {
  const suite = serverAndBrowser();

  it('sizes a column for its widest value: 10,000 shows whole at the bottom of 10,000 rows', { timeout: 120_000 }, async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await replaceSql(page, 'select n from generate_series(1, 10000) n');
    await runAndWait(page);
    await page.getByTestId('row-count').getByText('10,000 rows').waitFor();
    await page.locator('[data-testid="results"] [role="grid"]').evaluate((grid: { scrollTop: number; scrollHeight: number }) => {
      grid.scrollTop = grid.scrollHeight;
    });
    const last = page.locator('[role="gridcell"]', { hasText: /^10,000$/ });
    await last.waitFor();
    const fits = await last.evaluate(
      (cell: { scrollWidth: number; clientWidth: number }) => cell.scrollWidth <= cell.clientWidth,
    );
    expect(fits).toBe(true);
    await page.screenshot({ path: 'docs/newcomer-grid-bottom.png' });
    await expectCleanPage(editor);
    await editor.close();
  });

  it('tells a viewer that /queries/new needs the editor role, not that nothing lives there', async () => {
    const viewer = await openPage(suite.browser, suite.server, '/queries/new', { role: 'viewer' });
    await viewer.page.getByTestId('needs-role').waitFor();
    expect(await viewer.page.getByTestId('needs-role').innerText()).toBe(
      'Writing a new query needs the editor role; you are a viewer. Ask an admin if you need it.',
    );
    expect(await viewer.page.locator('body').innerText()).not.toContain('Not here yet');
    await viewer.page.screenshot({ path: 'docs/newcomer-needs-role.png' });
    await viewer.close();
  });

  it('follows the variables in the "Fill in" message, and copies a link without claiming variable values', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await replaceSql(page, 'select count(*) from notifications where created_at >= {start_time} and created_at < {end_time}');
    await page.getByTestId('run').click();
    const alert = page.getByRole('alert').filter({ hasText: 'Fill in' });
    await alert.getByText('Fill in start_time, end_time to run this query.').waitFor();
    // A third variable: the message now names it too.
    await page.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+End');
    await page.keyboard.insertText(' and notification_type = {kind}');
    await alert.getByText('Fill in start_time, end_time, kind to run this query.').waitFor();
    await page.screenshot({ path: 'docs/newcomer-fill-in.png' });
    // Filled in: the message goes.
    const form = page.getByTestId('variables');
    await form.getByLabel('kind').fill('email');
    await form.getByLabel('start_time').fill('2024-01-01T00:00');
    await form.getByLabel('end_time').fill('2024-02-01T00:00');
    await expect.poll(() => alert.count()).toBe(0);
    await editor.close();

    // A saved query without variables: "Link copied.", nothing about variable values.
    const owner = await signIn(suite.server, 'editor');
    const created = await suite.server.app.inject({
      method: 'POST',
      url: '/api/queries',
      headers: { cookie: owner.cookie, 'content-type': 'application/json', origin: suite.server.origin },
      payload: JSON.stringify({ name: 'No variables', dataSource: 'main', sql: 'select 1 as one' }),
    });
    const saved = created.json() as { url: string };
    const reader = await openPage(suite.browser, suite.server, saved.url);
    await reader.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.origin });
    await reader.page.getByRole('button', { name: 'Copy link' }).click();
    await reader.page
      .getByTestId('save-status')
      .getByText(/^Link copied\.$/)
      .waitFor();
    await reader.close();
  });
});
