// Charts and results at scale and under attack, in Chromium against the real server: a 100,000-point
// line drawn on canvas from downsampled points (its time is measured and printed, not asserted), a grid
// of 100,000 rows scrolled frame by frame, and THREATS.md 39: markup in cells and column names renders
// as text, with no CSP violation and no request leaving the origin.
import { mkdir, writeFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

const PAYLOAD = '<img src=x onerror=alert(1)>';

describe.skipIf(!browserAvailable)('charts and the results grid (Chromium)', { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ MAX_ROWS: '100000' }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('draws a 100,000-point line on canvas from downsampled points, and scrolls 100,000 rows', async () => {
    const editor = await openPage(browser, server, '/queries/new');
    const { page } = editor;
    await replaceSql(
      page,
      "select timestamp '2024-01-01' + i * interval '1 minute' as at, round((sin(i / 900.0) * 100 + (i % 17))::numeric, 2) as value from generate_series(1, 100000) i",
    );
    await runAndWait(page);
    expect(await page.locator('[data-testid="row-count"]').innerText()).toBe('100,000 rows');
    const chart = page.locator('[data-testid="chart"][data-status="drawn"]');
    await chart.waitFor({ timeout: 20_000 });
    expect(await chart.getAttribute('data-type')).toBe('line');
    expect(await chart.locator('canvas').count()).toBe(1);
    expect(await page.locator('[data-testid="chart-downsampled"]').innerText()).toMatch(/of 100,000 points/);
    const renderMs = Number(await chart.getAttribute('data-render-ms'));
    const loadMs = Number(await chart.getAttribute('data-load-ms'));

    // Scroll the grid one step per frame and time the frames: a wheel-like 600 px (about 21 rows) per
    // frame over the first rows, then 12,000 px jumps from top to bottom (every row in view replaced).
    const scroll = async (stepPx: number, maxFrames: number) => {
      const frames = (await page.evaluate(`new Promise((resolve) => {
        const viewport = document.querySelector('[data-testid="results"] [role="grid"]');
        const times = [];
        let last = performance.now();
        const step = () => {
          const now = performance.now();
          times.push(now - last);
          last = now;
          if (viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight || times.length > ${maxFrames}) return resolve(times.slice(1));
          viewport.scrollTop += ${stepPx};
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      })`)) as number[];
      const sorted = [...frames].sort((a, b) => a - b);
      const mean = frames.reduce((a, b) => a + b, 0) / frames.length;
      return {
        frames: frames.length,
        meanMs: Number(mean.toFixed(1)),
        p95Ms: Number(sorted[Math.floor(sorted.length * 0.95)]!.toFixed(1)),
      };
    };
    const wheel = await scroll(600, 120);
    const jumps = await scroll(12_000, 240);
    await page.locator('[role="rowheader"]', { hasText: /^100,000$/ }).waitFor();
    const numbers = { chart: { points: 100_000, renderMs, loadMs }, gridWheel: wheel, gridJumps: jumps };
    // Printed (and kept in test-results/) rather than asserted: timings depend on the machine's load.
    console.warn(`[perf] ${JSON.stringify(numbers)}`);
    await mkdir('test-results', { recursive: true });
    await writeFile('test-results/chart-perf.json', JSON.stringify(numbers, null, 2));
    expect(await page.locator('[data-testid="results"] [role="row"]').count()).toBeLessThan(80); // virtualized
    await expectCleanPage(editor);
    await editor.close();
  });

  it('renders markup in cells and column names as text, NULL apart from empty text, numbers grouped except ids (THREATS 39)', async () => {
    const editor = await openPage(browser, server, '/queries/new');
    const { page } = editor;
    await replaceSql(
      page,
      `select '${PAYLOAD}' as "${PAYLOAD.replace('1', '2')}", 1234567.891::numeric as amount, 12345 as user_id, ` +
        `null::text as nothing, '' as empty_text, 'https://example.com/docs?a=1' as link, timestamptz '2024-06-01 12:00:00+00' as at ` +
        `union all select 'javascript:alert(3)', 2, 2, 'x', 'y', 'javascript:alert(4)', null`,
    );
    await runAndWait(page);
    const grid = page.locator('[data-testid="results"]');
    await grid.getByRole('gridcell', { name: PAYLOAD }).waitFor();
    expect(await grid.getByRole('columnheader').first().innerText()).toBe('#');
    expect(await grid.getByRole('columnheader', { name: PAYLOAD.replace('1', '2') }).count()).toBe(1);
    const firstRow = grid.locator('[role="row"]').nth(1);
    expect(await firstRow.getByRole('gridcell').allInnerTexts()).toEqual([
      PAYLOAD,
      '1,234,567.891',
      '12345',
      'NULL',
      '',
      'https://example.com/docs?a=1',
      '2024-06-01 13:00:00 +01:00', // Europe/London in summer, with its zone
    ]);
    expect(await firstRow.locator('a').getAttribute('href')).toBe('https://example.com/docs?a=1');
    const secondRow = grid.locator('[role="row"]').nth(2);
    expect(await secondRow.locator('a').count()).toBe(0); // javascript: is never a link
    expect(await page.locator('img[src="x"]').count()).toBe(0);

    // string + number: a bar chart whose axis title and labels are the markup, drawn as SVG text.
    await replaceSql(page, `select '${PAYLOAD}' as "${PAYLOAD.replace('1', '2')}", 3 as n union all select 'b', 5`);
    await runAndWait(page);
    const chart = page.locator('[data-testid="chart"][data-status="drawn"]');
    await chart.waitFor();
    expect(await chart.locator('svg text', { hasText: PAYLOAD.replace('1', '2') }).count()).toBeGreaterThan(0);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    await expectCleanPage(editor);
    await editor.close();
  });

  it('shows a truncated banner that downloads the full CSV', async () => {
    const editor = await openPage(browser, server, '/queries/new');
    const { page } = editor;
    await replaceSql(page, 'select i, md5(i::text) from generate_series(1, 100050) i');
    await runAndWait(page);
    const banner = page.locator('[data-testid="truncated-banner"]');
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/first 100,000 rows/);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      banner.getByRole('button', { name: 'Download full CSV' }).click(),
    ]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('i,md5');
    expect(lines.length).toBe(100_051);
    await expectCleanPage(editor);
    await editor.close();
  });
});
