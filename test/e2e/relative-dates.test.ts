// Relative date presets and saved defaults in Chromium (issue #18, rough edges): "Last 30 days" stays
// relative in the URL (today-29d .. tomorrow, the end exclusive), the inputs show the dates it stands for
// now, "Use as defaults" saves the values with the query, and a plain link to it runs at once, without a
// "Fill in", with the absolute values (in the browser's zone) in the run's audit event.
import { describe, expect, it } from 'vitest';
import { resolveRelativeTime } from '../../server/lib/relative-time.js';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { adminQuery } from '../support/databases.js';
import { currentUrl, expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

const SQL =
  "select date_trunc('day', created_at) as day, count(*) as notifications\nfrom notifications\nwhere created_at >= {start_time} and created_at < {end_time}\ngroup by 1\norder by 1";
const ZONE = 'Europe/London'; // openPage's browser zone

describe.skipIf(!browserAvailable)('relative date presets and saved defaults (Chromium)', { timeout: 120_000 }, () => {
  const suite = serverAndBrowser();

  it('keeps a preset rolling in the link, saves it as the default, and runs a plain link at once', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await page.getByLabel('Query name').fill('Daily notifications');
    await replaceSql(page, SQL);
    const form = page.getByTestId('variables');
    await form.getByLabel('Time range preset').selectOption('Last 30 days');
    const url = await currentUrl(page);
    expect(url.searchParams.get('start_time')).toBe('today-29d');
    expect(url.searchParams.get('end_time')).toBe('tomorrow');
    // The inputs show what the range is today, in the browser's zone; the end is the next midnight.
    const localInput = (value: string) => resolveRelativeTime(value, 'timestamp', { timeZone: ZONE })!.slice(0, 16);
    const before = [localInput('today-29d'), localInput('tomorrow')];
    const shown = [await form.getByLabel('start_time').inputValue(), await form.getByLabel('end_time').inputValue()];
    const after = [localInput('today-29d'), localInput('tomorrow')];
    expect([before, after]).toContainEqual(shown); // (midnight may pass in between)
    expect(shown[0]).toMatch(/T00:00$/);
    expect(await page.getByTestId('range-hint').innerText()).toContain('up to, not including, end_time');

    await form.getByTestId('set-defaults').click();
    await form.getByText('These are the defaults').waitFor();
    await runAndWait(page);
    await page.keyboard.press('ControlOrMeta+s');
    await page.waitForURL(/\/queries\/\d+-daily-notifications\?/);
    await page.getByTestId('save-status').getByText('Saved.').waitFor();
    const path = (await currentUrl(page)).pathname;
    const queryId = /\/queries\/(\d+)-/.exec(path)![1]!;
    const { rows: versions } = await adminQuery(
      'select variables from query_versions where query_id = $1',
      [queryId],
      suite.server.tools.database,
    );
    expect(versions).toEqual([
      {
        variables: [
          { name: 'start_time', default: 'today-29d' },
          { name: 'end_time', default: 'tomorrow' },
        ],
      },
    ]);
    await editor.close();

    // A viewer opens the plain link: it runs at once with the defaults, nothing to fill in, and the URL
    // stays plain (the defaults are the query's, not the link's).
    const viewer = await openPage(suite.browser, suite.server, path, { role: 'viewer' });
    const vpage = viewer.page;
    await vpage.locator('[data-testid="workbench"][data-runs="1"]').waitFor();
    await vpage.getByTestId('run-summary').waitFor();
    expect(await vpage.getByRole('alert').count()).toBe(0);
    expect(await vpage.getByTestId('variables').getByLabel('Time range preset').inputValue()).toBe('Last 30 days');
    expect((await currentUrl(vpage)).search).toBe('');
    const { rows: started } = await adminQuery(
      `select params, details from audit_events where action = 'run.started' and query_id = $1 order by seq desc limit 1`,
      [queryId],
      suite.server.tools.database,
    );
    const event = started[0] as { params: Record<string, string>; details: Record<string, unknown> };
    expect(event.details).toMatchObject({ relativeParams: { start_time: 'today-29d', end_time: 'tomorrow' }, timeZone: ZONE });
    expect(event.params.start_time).toMatch(/^\d{4}-\d\d-\d\dT00:00:00(Z|\+01:00)$/);
    expect(Date.parse(event.params.end_time!) - Date.parse(event.params.start_time!)).toBeGreaterThanOrEqual(
      30 * 86_400_000 - 3_600_000,
    );
    await vpage.getByTestId('chart').and(vpage.locator('[data-status="drawn"]')).waitFor();
    await vpage.screenshot({ path: 'docs/rough-relative-dates.png', fullPage: true });
    await expectCleanPage(viewer);
    await viewer.close();

    // A link naming another preset opens with it.
    const week = await openPage(suite.browser, suite.server, `${path}?start_time=today-6d&end_time=tomorrow`, { role: 'viewer' });
    await week.page.locator('[data-testid="workbench"][data-runs="1"]').waitFor();
    expect(await week.page.getByTestId('variables').getByLabel('Time range preset').inputValue()).toBe('Last 7 days');
    await week.close();
  });
});
