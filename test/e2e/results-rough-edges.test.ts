// Results as a newcomer read them (issue #18, rough edges), in Chromium: a daily series has day labels
// (no "12 PM" between days), counts have whole-number ticks ("0, 1", not "0.0 ... 1.0"), Automatic says
// in one line why it draws nothing, the audit page's "Runs per day" says "1 run", not "1 runs", and the
// grid shows a timestamptz with its zone and a timestamp without time zone as stored.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

/** The labels Vega drew on the chart's x and y axes (SVG renderer: fewer than 1,000 marks). */
async function axisLabels(page: Page, root = page.locator('body')) {
  const chart = root.locator('[data-testid="chart"][data-status="drawn"]').first();
  await chart.waitFor({ timeout: 20_000 });
  const labels = async (axis: 'X' | 'Y') =>
    chart.locator(`g[aria-label^="${axis}-axis"] .role-axis-label text`).allTextContents();
  return { x: await labels('X'), y: await labels('Y') };
}

describe.skipIf(!browserAvailable)('chart axes, chart messages and grid timestamps (Chromium)', { timeout: 120_000 }, () => {
  const suite = serverAndBrowser();

  it('counts runs per day on the audit page in whole numbers: "1 run"', async () => {
    const admin = await openPage(suite.browser, suite.server, '/queries/new', { role: 'admin' });
    await replaceSql(admin.page, 'select 1 as one');
    await runAndWait(admin.page);
    await admin.page.goto(`${suite.server.origin}/admin/audit`);
    // The first test of this file, on a fresh server: one run so far (the activity loads after the page).
    const heading = admin.page.locator('#activity-heading', { hasText: '(1 run)' });
    await heading.waitFor({ timeout: 30_000 });
    expect(await heading.innerText()).toBe('Runs per day, last 30 days (1 run)');
    const labels = await axisLabels(admin.page, admin.page.locator('.activity'));
    expect(labels.y.every((label) => /^\d+$/.test(label))).toBe(true);
    for (const label of labels.x) expect(label).toMatch(/^[A-Z][a-z]{2} \d{1,2}$/);
    await admin.page.locator('.activity').screenshot({ path: 'docs/rough-chart-counts.png' });
    await admin.close();
  });

  it('labels a daily series by day, counts by whole numbers, and says why Automatic draws nothing', async () => {
    // Paris: the server truncates to UTC days, which are 01:00 here; the chart still reads them as days.
    const editor = await openPage(suite.browser, suite.server, '/queries/new', { timezoneId: 'Europe/Paris' });
    const { page } = editor;
    await replaceSql(
      page,
      "select day::timestamptz as day, (array[3, 5, 2, 8, 6, 4, 7, 5])[i] as deliveries\nfrom generate_series(date_trunc('day', timestamptz '2026-11-30 12:00+00') - interval '7 days', date_trunc('day', timestamptz '2026-11-30 12:00+00'), interval '1 day') with ordinality as g(day, i)",
    );
    await runAndWait(page);
    const daily = await axisLabels(page);
    expect(daily.x).toEqual(['Nov 23', 'Nov 24', 'Nov 25', 'Nov 26', 'Nov 27', 'Nov 28', 'Nov 29', 'Nov 30']);
    expect(daily.y.every((label) => /^\d+$/.test(label))).toBe(true);
    await page.screenshot({ path: 'docs/rough-chart-days.png' });

    await replaceSql(
      page,
      "select d::date as day, 1 as runs from generate_series(date '2026-11-27', date '2026-11-30', interval '1 day') d",
    );
    await runAndWait(page);
    const ones = await axisLabels(page);
    expect(ones.y).toEqual(['0', '1']);
    expect(ones.x).toEqual(['Nov 27', 'Nov 28', 'Nov 29', 'Nov 30']);

    await replaceSql(page, "select 'email' as channel, 'delivered' as status, 'fast' as note");
    await runAndWait(page);
    expect(await page.getByTestId('no-chart').innerText()).toBe(
      'No chart: note is text; Automatic draws channel against number columns.',
    );
    await expectCleanPage(editor);
    await editor.close();
  });

  it('shows instants with their zone (UTC for a UTC user) and timestamps without a zone as stored', async () => {
    const sql =
      "select timestamptz '2024-06-01 12:00:00+00' as sent_at, timestamp '2024-06-01 12:00:00' as wall_clock,\n" +
      "  timestamptz '2024-01-15 08:30:00.25+00' as winter_sent_at, date '2024-06-01' as day";
    const paris = await openPage(suite.browser, suite.server, '/queries/new', { timezoneId: 'Europe/Paris' });
    await replaceSql(paris.page, sql);
    await runAndWait(paris.page);
    const grid = paris.page.getByTestId('results');
    const cells = () => grid.locator('[role="row"]').nth(1).getByRole('gridcell').allInnerTexts();
    expect(await cells()).toEqual([
      '2024-06-01 14:00:00 +02:00',
      '2024-06-01 12:00:00',
      '2024-01-15 09:30:00.25 +01:00',
      '2024-06-01',
    ]);
    const titles = await grid
      .locator('[role="columnheader"] button')
      .evaluateAll((buttons) => buttons.map((button) => (button as unknown as { title: string }).title));
    expect(titles).toEqual([
      'sent_at (timestamptz, shown in your time zone: Europe/Paris)',
      'wall_clock (timestamp without time zone, shown as stored)',
      'winter_sent_at (timestamptz, shown in your time zone: Europe/Paris)',
      'day (date)',
    ]);
    await paris.page.getByTestId('results').screenshot({ path: 'docs/rough-timestamps.png' });
    await expectCleanPage(paris);
    await paris.close();

    const utc = await openPage(suite.browser, suite.server, '/queries/new', { timezoneId: 'UTC' });
    await replaceSql(utc.page, sql);
    await runAndWait(utc.page);
    expect(await utc.page.getByTestId('results').locator('[role="row"]').nth(1).getByRole('gridcell').allInnerTexts()).toEqual([
      '2024-06-01 12:00:00 UTC',
      '2024-06-01 12:00:00',
      '2024-01-15 08:30:00.25 UTC',
      '2024-06-01',
    ]);
    await utc.close();
  });
});
