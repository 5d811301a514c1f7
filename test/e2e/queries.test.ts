// Saved queries in Chromium, two people in two browser contexts: Alice creates and saves a query with a
// variable; Bob opens the shared link, sees the same result, edits and saves; Alice's stale save is
// refused with a diff and a choice, then she reads the history, diffs two versions and restores one.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { jsonHeaders, signIn } from '../support/auth.js';

const SQL_V1 =
  'select notification_status, count(*) as n\nfrom notifications\nwhere notification_type = {kind}\ngroup by 1\norder by 1';
const XSS = '<img src=x onerror=alert(1)>';

// Two browsers through a whole sharing journey: minutes on a loaded 2-core machine, not seconds.
describe.skipIf(!browserAvailable)('saved queries (Chromium, two users)', { timeout: 120_000 }, () => {
  const suite = serverAndBrowser({ resultsDir: true });

  async function open(name: string, path: string, role: 'viewer' | 'editor' = 'editor') {
    const { cookie, user } = await signIn(suite.server, role, { name });
    const [cookieName, value] = cookie.split('=') as [string, string];
    const context = await suite.browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.addCookies([{ name: cookieName, value, url: suite.server.origin }]);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.server.origin });
    await context.addInitScript(`
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
      window.__alerts = 0;
      window.alert = () => { window.__alerts += 1; };
    `);
    const page = await context.newPage();
    const seen = watchPage(page, suite.server.origin);
    await page.goto(`${suite.server.origin}${path}`);
    return { page, seen, user, context };
  }

  const location = async (page: Page) => new URL((await page.evaluate('window.location.href')) as string);

  async function typeSql(page: Page, sql: string) {
    await page.locator('[data-testid="sql-editor"][data-ready="true"]').waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(sql);
  }

  async function resultRows(page: Page): Promise<string[]> {
    await page.locator('[data-testid="run-summary"]').waitFor();
    return page.locator('[data-testid="results"] [role="row"]').allInnerTexts();
  }

  it('shares by link with variables, keeps every version, refuses a stale save, diffs and restores', async () => {
    // Alice writes a new query and saves it with Ctrl+S.
    const alice = await open('Alice Analyst', '/queries/new');
    await alice.page.getByLabel('Query name').fill('Notifications by status');
    await typeSql(alice.page, SQL_V1);
    await alice.page.locator('[data-testid="variables"]').getByLabel('kind').fill('email');
    await alice.page.locator('.cm-content').click();
    await alice.page.keyboard.press('ControlOrMeta+Enter');
    const aliceRows = await resultRows(alice.page);
    expect(aliceRows.length).toBeGreaterThan(1);
    await alice.page.keyboard.press('ControlOrMeta+s');
    await alice.page.waitForURL(/\/queries\/\d+-notifications-by-status\?kind=email$/);
    await alice.page.getByTestId('save-status').getByText('Saved.').waitFor();
    const link = await location(alice.page);
    const queryId = /\/queries\/(\d+)-/.exec(link.pathname)![1]!;
    await alice.page.getByRole('button', { name: 'Copy link' }).click();
    await alice.page.getByTestId('save-status').getByText('Link copied, with the variable values.').waitFor();
    expect(await alice.page.evaluate('navigator.clipboard.readText()')).toBe(link.href);
    await alice.page.screenshot({ path: 'test-results/queries-saved.png', fullPage: true });

    // Bob opens the shared link: the same variable value, the same result, without pressing Run.
    const bob = await open('Bob Builder', `${link.pathname}${link.search}`);
    expect(await bob.page.locator('[data-testid="variables"]').getByLabel('kind').inputValue()).toBe('email');
    expect(await resultRows(bob.page)).toEqual(aliceRows);
    // He edits (a description with markup in it, shown as text) and saves with the button.
    await bob.page.getByLabel('Description').fill(`Counts per status ${XSS}`);
    await typeSql(bob.page, SQL_V1.replace('count(*) as n', 'count(*) as n, max(created_at) as latest'));
    await bob.page.getByRole('button', { name: 'Save', exact: true }).click();
    await bob.page.getByTestId('save-status').getByText('Saved version 2.').waitFor();
    expect(await bob.page.getByLabel('Description').inputValue()).toBe(`Counts per status ${XSS}`);

    // Alice, still on version 1, renames and saves: refused, shown the difference, nothing overwritten.
    await alice.page.getByLabel('Query name').fill('Notifications by status (Alice)');
    await alice.page.keyboard.press('ControlOrMeta+s');
    const conflict = alice.page.getByRole('dialog', { name: 'Someone saved this query while you were editing' });
    await conflict.getByTestId('conflict').getByText('Bob Builder saved version 2').waitFor();
    expect(await conflict.getByTestId('diff-stats').innerText()).toBe('+1 −1 lines');
    await alice.page.screenshot({ path: 'test-results/queries-conflict.png', fullPage: true });
    await conflict.getByRole('button', { name: 'Discard mine, load theirs' }).click();
    await alice.page.getByTestId('save-status').getByText('Version 2 · Bob Builder').waitFor();
    await alice.page.locator('.cm-content').getByText('max(created_at)').waitFor();

    // The history lists both versions; she compares 1 and 2 and restores 1 as version 3.
    const history = alice.page.getByTestId('history');
    await history.getByTestId('version-2').getByText('current').waitFor();
    await history.getByLabel('A: version 1').check();
    await history.getByLabel('B: version 2').check();
    await history.getByTestId('compare').click();
    const diff = alice.page.getByRole('dialog', { name: 'Version 1 → version 2' });
    await diff.getByTestId('version-diff').waitFor();
    expect(await diff.getByTestId('diff-stats').innerText()).toBe('+1 −1 lines');
    await diff.getByText(`Counts per status ${XSS}`).waitFor();
    await diff.getByRole('button', { name: 'Side by side' }).click();
    await alice.page.screenshot({ path: 'test-results/queries-diff.png', fullPage: true });
    await diff.getByRole('button', { name: 'Restore version 1' }).click();
    await alice.page.getByTestId('save-status').getByText('Restored version 1 as version 3.').waitFor();
    await history.getByTestId('version-3').getByText('restored v1').waitFor();
    expect(await alice.page.locator('.cm-content').innerText()).toBe(SQL_V1);
    expect(await alice.page.getByRole('link', { name: 'New query' }).getAttribute('aria-current')).toBeNull();
    await alice.page.screenshot({ path: 'test-results/queries-restored.png', fullPage: true });

    const stored = await suite.server.app.inject({
      method: 'GET',
      url: `/api/queries/${queryId}`,
      headers: { cookie: (await signIn(suite.server, 'admin')).cookie },
    });
    expect(stored.json()).toMatchObject({
      currentVersion: 3,
      version: { sql: SQL_V1, restoredFrom: 1, author: { id: alice.user.id } },
    });

    for (const { page, seen } of [alice, bob]) {
      expect(await page.evaluate('window.__csp')).toEqual([]);
      expect(await page.evaluate('window.__alerts')).toBe(0);
      expect(seen.foreignRequests).toEqual([]);
      expect(seen.consoleErrors.filter((message) => !message.includes('409'))).toEqual([]);
    }
    await alice.context.close();
    await bob.context.close();
  });

  it('lists and searches for a viewer, who runs but cannot save; an editor gets an unsaved draft back', async () => {
    const owner = await signIn(suite.server, 'editor', { name: 'Olive Owner' });
    const create = (body: Record<string, unknown>) =>
      suite.server.app.inject({
        method: 'POST',
        url: '/api/queries',
        headers: jsonHeaders(owner, suite.server),
        payload: JSON.stringify({ dataSource: 'main', ...body }),
      });
    const bounces = (
      await create({
        name: 'Email bounces',
        sql: "select count(*) as bounces from notifications where notification_status = 'permanent-failure'",
        tags: ['email'],
      })
    ).json();
    await create({ name: 'Jobs per service', sql: 'select service_id, count(*) from jobs group by 1', tags: ['jobs'] });

    const viewer = await open('Vic Viewer', '/queries', 'viewer');
    const list = viewer.page.getByTestId('query-list');
    await list.getByRole('link', { name: 'Jobs per service' }).waitFor();
    await viewer.page.getByLabel('Search queries').fill('bounce');
    await list.getByRole('link', { name: 'Jobs per service' }).waitFor({ state: 'detached' });
    expect(await list.getByRole('link').allInnerTexts()).toEqual(['Email bounces']);
    expect((await location(viewer.page)).search).toBe('?q=bounce');
    await viewer.page.screenshot({ path: 'test-results/queries-list.png', fullPage: true });
    await list.getByRole('link', { name: 'Email bounces' }).click();
    await viewer.page.getByRole('heading', { name: 'Email bounces' }).waitFor();
    expect(await resultRows(viewer.page)).toHaveLength(2); // header + one row, run by id on open
    expect(await viewer.page.getByRole('button', { name: 'Save', exact: true }).count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: 'Fork' }).count()).toBe(0);
    await viewer.page.screenshot({ path: 'test-results/queries-viewer.png' });

    const editor = await open('Eve Editor', bounces.url);
    await typeSql(editor.page, 'select 42 as answer');
    await editor.page.getByTestId('save-status').getByText('Unsaved changes').waitFor();
    await editor.page.reload();
    await editor.page.getByTestId('recovered').waitFor();
    await editor.page.locator('.cm-content').getByText('select 42 as answer').waitFor();
    // Leaving through a link asks first; declining stays on the page.
    const answers: string[] = [];
    editor.page.on('dialog', (dialog) => {
      answers.push(dialog.message());
      void (answers.length === 1 ? dialog.dismiss() : dialog.accept());
    });
    await editor.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queries' }).click();
    expect(answers).toHaveLength(1);
    expect(new URL(editor.page.url()).pathname).toBe(bounces.url);
    await editor.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queries' }).click();
    await editor.page.getByRole('heading', { name: 'Queries' }).waitFor();
    expect(answers).toHaveLength(2);

    // The audit log's "Open as a new query" hands SQL and variable values to /queries/new.
    await editor.page.evaluate(
      `sessionStorage.setItem('porthole:new-query-draft', JSON.stringify({ sql: 'select {n}::int * 2 as doubled', dataSource: 'main', params: { n: 21 } }))`,
    );
    await editor.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New query' }).click();
    await editor.page.locator('.cm-content').getByText('select {n}::int * 2 as doubled').waitFor();
    expect((await location(editor.page)).search).toBe('?n=21');

    for (const { page, seen } of [viewer, editor]) {
      expect(await page.evaluate('window.__csp')).toEqual([]);
      expect(seen.consoleErrors).toEqual([]);
    }
    await viewer.context.close();
    await editor.context.close();
  });
});
