// Dashboards in Chromium: an editor builds one from two saved queries (variables, add, save), sets the
// date range and sees both cards redraw, shares the link with a viewer who sees the same values, and the
// TV mode shows it alone, dark. With SCREENSHOTS=1 it also writes the README's dashboard screenshots.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { createDemoContent, DEMO_DASHBOARD_NAME } from '../../server/demo/content.js';
import { jsonHeaders, signIn } from '../support/auth.js';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { currentUrl, expectCleanPage, openPage } from './editor-support.js';

const allDrawn = (page: Page) => page.locator('[data-testid="dashboard"][data-all-drawn="true"]').waitFor({ timeout: 60_000 });

describe.skipIf(!browserAvailable)('dashboards (Chromium)', { timeout: 180_000 }, () => {
  const suite = serverAndBrowser();

  async function saveQuery(body: Record<string, unknown>): Promise<{ id: string; url: string }> {
    const owner = await signIn(suite.server, 'editor');
    const response = await fetch(`${suite.server.origin}/api/queries`, {
      method: 'POST',
      headers: jsonHeaders(owner, suite.server),
      body: JSON.stringify({ dataSource: 'main', ...body }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; url: string };
  }

  it('builds a dashboard from two queries, redraws both cards for a new range, shares the link, shows TV mode', async () => {
    const range = [
      { name: 'start_time', kind: 'timestamp' },
      { name: 'end_time', kind: 'timestamp' },
    ];
    await saveQuery({
      name: 'Daily notifications e2e',
      sql: "select date_trunc('day', created_at) as day, count(*) as notifications from notifications where created_at >= {start_time} and created_at < {end_time} group by 1 order by 1",
      variables: range,
      chart: { version: 1, type: 'auto' },
    });
    await saveQuery({
      name: 'Notification total e2e',
      sql: 'select count(*) as total from notifications where created_at >= {start_time} and created_at < {end_time}',
      variables: range,
    });

    const editor = await openPage(suite.browser, suite.server, '/dashboards');
    const { page } = editor;
    await page.getByRole('button', { name: 'New dashboard' }).click();
    await page.locator('[data-testid="dashboard-editor"]').waitFor();
    await page.getByLabel('Name').fill('E2E health');
    for (const [name, fallback] of [
      ['start_time', 'now-400d'],
      ['end_time', 'now'],
    ] as const) {
      await page.getByRole('button', { name: 'Add variable' }).click();
      await page.getByLabel('Variable name').last().fill(name);
      await page.getByLabel('Variable type').last().selectOption('timestamp');
      await page.getByLabel('Default').last().fill(fallback);
    }
    for (const name of ['Daily notifications e2e', 'Notification total e2e']) {
      await page.getByLabel('Search saved queries').fill(name);
      await page.locator('[data-testid="add-card"]', { hasText: name }).click();
      await page.locator('[data-testid="dashboard-card"]', { hasText: name }).waitFor();
    }
    // The second card as a big number, the first as a chart.
    await page
      .locator('[data-testid="dashboard-card"]', { hasText: 'Notification total e2e' })
      .getByLabel('Show')
      .selectOption('number');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid="dashboard-editor"]').waitFor({ state: 'detached' });
    await allDrawn(page);
    await page.locator('[data-testid="chart"][data-status="drawn"]').waitFor();
    const before = await page.locator('[data-testid="card-number"]').textContent();
    expect(Number(before?.replace(/\D/g, ''))).toBeGreaterThan(0);

    // A narrower range: both cards run again with it, and the link carries it.
    // Both ends fixed, so the viewer below asks for exactly the same values (a default "now" moves).
    const start = new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 16) + 'Z';
    const end = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16) + 'Z';
    await page.getByLabel('start_time').fill(start);
    await page.getByLabel('end_time').fill(end);
    await page.getByRole('button', { name: 'Apply' }).click();
    for (const name of ['Daily notifications e2e', 'Notification total e2e']) {
      await page
        .locator(`[data-testid="dashboard-card"][data-status="done"]`, { hasText: name })
        .and(page.locator(`[data-params*=${JSON.stringify(start)}]`))
        .waitFor();
    }
    await page.locator('[data-testid="chart"][data-status="drawn"]').waitFor();
    const after = await page.locator('[data-testid="card-number"]').textContent();
    expect(Number(after?.replace(/\D/g, ''))).toBeLessThan(Number(before?.replace(/\D/g, '')));
    const link = await currentUrl(page);
    expect(link.searchParams.get('start_time')).toBe(start);
    expect(link.searchParams.get('end_time')).toBe(end);
    await expectCleanPage(editor);

    // A viewer opening the link sees the same range and the same number (from the cache: no new run).
    const viewer = await openPage(suite.browser, suite.server, link.pathname + link.search, { role: 'viewer' });
    await allDrawn(viewer.page);
    expect(await viewer.page.getByLabel('start_time').inputValue()).toBe(start);
    expect(await viewer.page.locator('[data-testid="card-number"]').textContent()).toBe(after);
    expect(await viewer.page.locator('[data-testid="dashboard-card"][data-cached="true"]').count()).toBe(2);
    await expect(viewer.page.locator('[data-testid="card-meta"]').first().textContent()).resolves.toMatch(/cached/);
    expect(await viewer.page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    await viewer.close();

    // TV mode: no header, dark, the cards drawn.
    const tv = await openPage(suite.browser, suite.server, `${link.pathname}${link.search}&tv=1`, { role: 'viewer' });
    await allDrawn(tv.page);
    expect(await tv.page.locator('header nav[aria-label="Main"]').count()).toBe(0);
    expect(await tv.page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await expectCleanPage(tv);
    await tv.close();
    await editor.close();
  });

  it('shows the conflict dialog when someone saved meanwhile, and saves mine on top of theirs', async () => {
    const query = await saveQuery({ name: 'Conflict e2e', sql: 'select 1 as one' });
    const other = await signIn(suite.server, 'editor', { name: 'Olga Other' });
    const post = (method: string, path: string, body: unknown) =>
      fetch(`${suite.server.origin}${path}`, { method, headers: jsonHeaders(other, suite.server), body: JSON.stringify(body) });
    const created = (await (
      await post('POST', '/api/dashboards', {
        name: 'Conflict board',
        cards: [
          {
            id: 'a',
            queryId: query.id,
            queryVersion: null,
            title: null,
            display: 'table',
            x: 0,
            y: 0,
            w: 6,
            h: 4,
            variableMap: {},
          },
        ],
      })
    ).json()) as { id: string; url: string };

    const editor = await openPage(suite.browser, suite.server, created.url);
    const { page } = editor;
    await allDrawn(page);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Name').fill('Conflict board (mine)');
    // Olga saves version 2 while the page still edits version 1.
    expect((await post('PUT', `/api/dashboards/${created.id}`, { baseVersion: 1, description: 'by Olga' })).status).toBe(200);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid="conflict"]', { hasText: 'Olga Other saved version 2' }).waitFor();
    expect(await page.locator('[data-testid="layout-diff"]').textContent()).toContain('Conflict board (mine)');
    await page.getByRole('button', { name: 'Save mine as version 3' }).click();
    await page.locator('[data-testid="dashboard-editor"]').waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: 'Conflict board (mine)' }).waitFor();
    await expectCleanPage(editor, { allowHttpErrors: [409] });
    await editor.close();
  });

  it.skipIf(process.env.SCREENSHOTS !== '1')('writes the README screenshots of the demo dashboard', async () => {
    await createDemoContent(suite.server.app, 'https://demo-issuer.test');
    const list = await fetch(`${suite.server.origin}/api/dashboards?q=${encodeURIComponent(DEMO_DASHBOARD_NAME)}`, {
      headers: { cookie: (await signIn(suite.server, 'viewer')).cookie },
    });
    const { dashboards } = (await list.json()) as { dashboards: Array<{ url: string }> };
    const url = `${dashboards[0]!.url}?start_time=2020-01-01T00:00Z`;
    for (const [file, colorScheme, suffix] of [
      ['dashboard-light', 'light', ''],
      ['dashboard-dark', 'dark', ''],
      ['dashboard-tv', 'dark', '&tv=1'],
    ] as const) {
      const shot = await openPage(suite.browser, suite.server, url + suffix, {
        colorScheme,
        viewport: { width: 1440, height: 1100 },
      });
      await allDrawn(shot.page); // every card's content is on screen, its chart rendered
      await shot.page.screenshot({ path: `docs/${file}.png`, fullPage: true });
      // A chart redrawn while the picture was taken (it would show blank) fails here instead of in the README.
      for (const chart of await shot.page.locator('[data-testid="chart"]').all())
        expect(await chart.getAttribute('data-status')).toBe('drawn');
      await shot.close();
    }
  });
});
