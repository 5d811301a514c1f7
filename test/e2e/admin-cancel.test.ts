// An admin cancelling someone's query (issue #18): the admin confirms first, in a dialog that says whose
// query and which SQL, and the person whose query it was sees who cancelled it, in the editor and in the
// query's Runs panel.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectCleanPage, openPage, replaceSql } from './editor-support.js';

describe.skipIf(!browserAvailable)('an admin cancels a query (Chromium, two users)', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ QUERY_TIMEOUT_MS: '60000' }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('asks the admin first, then tells the editor who cancelled', async () => {
    const editor = await openPage(browser, server, '/queries/new', { name: 'Eddie Editor', email: 'eddie@example.com' });
    const { page } = editor;
    await page.getByLabel('Query name').fill('Heavy report');
    await replaceSql(page, "select pg_sleep(50), 'heavy' as report");
    await page.keyboard.press('ControlOrMeta+s');
    await page.waitForURL(/\/queries\/\d+-heavy-report$/);
    // Saving does not run it; the editor runs it by hand.
    await page.getByTestId('run').click();
    await page.getByTestId('elapsed').waitFor();

    const admin = await openPage(browser, server, '/admin/audit', { role: 'admin', name: 'Ada Admin', email: 'ada@example.com' });
    const running = admin.page.getByRole('table', { name: 'Running queries' });
    const row = running.getByRole('row').filter({ hasText: 'eddie@example.com' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Cancel' }).click();
    const dialog = admin.page.getByRole('dialog', { name: "Cancel eddie@example.com's query?" });
    await dialog.waitFor();
    expect(await dialog.getByTestId('confirm-cancel').innerText()).toContain("select pg_sleep(50), 'heavy' as report");
    await admin.page.screenshot({ path: 'docs/rough-admin-cancel.png' });

    // Keeping it running changes nothing.
    await dialog.getByRole('button', { name: 'Keep it running' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await row.getByRole('button', { name: 'Cancel' }).isVisible()).toBe(true);
    expect(await page.getByTestId('elapsed').isVisible()).toBe(true);

    await row.getByRole('button', { name: 'Cancel' }).click();
    await dialog.getByTestId('confirm-cancel-button').click();
    await row.waitFor({ state: 'detached', timeout: 20_000 });

    // The editor is told who stopped the query, not left with a bare "Cancelled".
    const notice = page.getByTestId('cancelled-by');
    await notice.waitFor({ timeout: 20_000 });
    expect(await notice.innerText()).toMatch(
      /^Ada Admin \(ada@example\.com\), an admin, cancelled this query after \d+(\.\d)? s\. Run it again when it suits, or ask them why\.$/,
    );
    // And the query's Runs panel shows it.
    await page.getByRole('button', { name: 'Refresh the runs' }).click();
    await page.getByTestId('run-cancelled-by').getByText('by ada@example.com').waitFor();
    await page.screenshot({ path: 'docs/rough-admin-cancelled-by.png' });
    await expectCleanPage(editor, { allowHttpErrors: [409] });
    await expectCleanPage(admin);
    await admin.close();
    await editor.close();
  });
});
