// Access tiers in the browser (issue #13): the schema panel and autocomplete grey the columns the user's
// tier cannot read, with a lock and the group that can; a run touching one shows the clear error; a
// member of that group reads them.
import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonHeaders, signIn } from '../support/auth.js';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { editorReady, expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

describe.skipIf(!browserAvailable)('access tiers in the editor (Chromium)', { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({}, undefined, { tiers: true }), launchBrowser()]);
    await mkdir('test-results', { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('greys restricted columns with a lock and the group that can read them, and explains a refused run', async () => {
    const editor = await openPage(browser, server, '/queries/new', { groups: ['engineering'] });
    const { page } = editor;
    await editorReady(page);
    const panel = page.locator('[data-testid="schema-panel"]');
    await panel.getByRole('button', { name: 'Columns of public.users' }).click();
    const restricted = panel.locator('[data-testid="restricted-column"]');
    await restricted.first().waitFor();
    expect(await restricted.first().getByRole('img', { name: 'restricted' }).count()).toBe(1); // the lock
    expect(await restricted.allInnerTexts()).toEqual([
      expect.stringMatching(/^email_address\s+restricted: needs group support$/),
      expect.stringMatching(/^mobile_number\s+restricted: needs group support$/),
    ]);
    // Greyed: drawn in the muted colour, unlike a readable column.
    const colour = (locator: ReturnType<typeof panel.locator>) =>
      locator.evaluate(
        (el) => (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el).color,
      );
    const readable = panel.locator('.columns li:not(.restricted) .name', { hasText: /^name$/ });
    expect(await colour(restricted.first().locator('.name'))).not.toBe(await colour(readable));
    await page.screenshot({ path: 'test-results/tiers-schema-restricted.png', fullPage: true });

    // Autocomplete lists it greyed and last, saying who can read it.
    await replaceSql(page, '');
    await page.locator('.cm-content').click();
    await page.keyboard.type('select users.mo');
    const option = page.locator('.cm-tooltip-autocomplete li.cm-restricted-option', { hasText: 'mobile_number' });
    await option.waitFor();
    expect(await option.innerText()).toMatch(/restricted: needs group support/);
    await page.screenshot({ path: 'test-results/tiers-autocomplete.png' });
    await page.keyboard.press('Escape');

    await replaceSql(page, 'select id, email_address from users limit 5');
    await runAndWait(page);
    const error = page.locator('[data-testid="run-error"]');
    expect(await error.innerText()).toMatch(
      /Column "email_address" of public\.users is restricted: your tier "standard" cannot read it; the tier "pii" can \(it needs group support\)/,
    );
    await replaceSql(page, 'select * from users limit 5');
    await runAndWait(page);
    expect(await error.innerText()).toMatch(/list the columns you need instead/);
    await page.screenshot({ path: 'test-results/tiers-run-error.png', fullPage: true });
    await expectCleanPage(editor, { allowHttpErrors: [403] });
    await editor.close();
  });

  it('shows the same columns plainly to a member of support, whose run reads them', async () => {
    const editor = await openPage(browser, server, '/queries/new', { groups: ['engineering', 'support'] });
    const { page } = editor;
    await editorReady(page);
    const panel = page.locator('[data-testid="schema-panel"]');
    await panel.getByRole('button', { name: 'Columns of public.users' }).click();
    await panel.locator('.columns li', { hasText: 'email_address' }).waitFor();
    expect(await panel.locator('[data-testid="restricted-column"]').count()).toBe(0);
    await replaceSql(page, 'select id, email_address from users order by id limit 5');
    await runAndWait(page);
    expect(Number((await page.locator('[data-testid="row-count"]').innerText()).replace(/\D/g, ''))).toBe(5);
    await expectCleanPage(editor);
    await editor.close();
  });

  it("says on a saved query's page which tier it needs, and a viewer without it gets the clear error", async () => {
    const owner = await signIn(server, 'editor', { groups: ['support'] });
    const response = await fetch(`${server.origin}/api/queries`, {
      method: 'POST',
      headers: jsonHeaders(owner, server),
      body: JSON.stringify({ name: 'Bounced recipients', dataSource: 'main', sql: 'select id, "to" from notifications limit 3' }),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { url: string };
    const viewer = await openPage(browser, server, created.url, { role: 'viewer', groups: ['product'] });
    const { page } = viewer;
    const tier = page.getByTestId('query-tier');
    await tier.waitFor();
    expect(await tier.innerText()).toBe(
      'Needs the pii tier (group support). Yours is standard: running it will fail with a permission error.',
    );
    const error = page.locator('[data-testid="run-error"]');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/Column "to" of public\.notifications is restricted/);
    await page.screenshot({ path: 'test-results/tiers-saved-query-viewer.png', fullPage: true });
    await expectCleanPage(viewer, { allowHttpErrors: [403] });
    await viewer.close();
  });
});
