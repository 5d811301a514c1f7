// Saving a new query is not running it (issue #18, defect 1): after Run and Save on /queries/new the
// permalink page shows the same rows without a single new run, so the audit log holds one run.started and
// one run.finished, no cancel nobody asked for; a query saved before it was ever run is not run by the
// save either. Opening the permalink afterwards still runs it once.
import type { Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { adminQuery } from '../support/databases.js';
import { expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

describe.skipIf(!browserAvailable)('saving a new query (Chromium)', { timeout: 90_000 }, () => {
  const suite = serverAndBrowser();

  const runActions = async (sqlMarker: string) => {
    const { rows } = await adminQuery(
      `select action from audit_events where action like 'run.%' and sql like $1 or details->>'runId' in
         (select details->>'runId' from audit_events where sql like $1) order by seq`,
      [`%${sqlMarker}%`],
      suite.server.tools.database,
    );
    return rows.map((row: { action: string }) => row.action);
  };

  it('starts no run on Save: the permalink shows the rows already fetched', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    const runs: string[] = [];
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/runs') runs.push(request.url());
    });
    await page.getByLabel('Query name').fill('Saved without rerun');
    await replaceSql(page, "select 'saved-without-rerun' as marker, n from generate_series(1, 25) n");
    await runAndWait(page);
    expect(runs).toHaveLength(1);
    const before = await page.locator('[data-testid="results"] [role="row"]').allInnerTexts();

    await page.keyboard.press('ControlOrMeta+s');
    await page.waitForURL(/\/queries\/\d+-saved-without-rerun$/);
    await page.getByTestId('save-status').getByText('Saved.').waitFor();
    await page.waitForLoadState('networkidle');
    // The run history panel loads after the page settles: it lists the one run.
    await page.getByTestId('workbench').waitFor();
    expect(runs).toHaveLength(1);
    expect(await page.getByTestId('run-summary').innerText()).toMatch(/^25 rows/);
    expect(await page.locator('[data-testid="results"] [role="row"]').allInnerTexts()).toEqual(before);
    expect(await runActions('saved-without-rerun')).toEqual(['run.started', 'run.finished']);
    await expectCleanPage(editor);

    // The permalink opened afresh (a shared link) runs the saved query once, by id.
    await page.reload();
    await page.locator('[data-testid="workbench"][data-runs="1"]').waitFor();
    await page.waitForLoadState('networkidle');
    expect(runs).toHaveLength(2);
    expect(await runActions('saved-without-rerun')).toEqual(['run.started', 'run.finished', 'run.started', 'run.finished']);
    await editor.close();
  });

  it('does not run a query saved before it was ever run', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    const runs: string[] = [];
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/runs') runs.push(request.url());
    });
    await page.getByLabel('Query name').fill('Saved never run');
    await replaceSql(page, "select 'saved-never-run' as marker, pg_sleep(0.2)");
    await page.keyboard.press('ControlOrMeta+s');
    await page.waitForURL(/\/queries\/\d+-saved-never-run$/);
    await page.getByTestId('save-status').getByText('Saved.').waitFor();
    await page.waitForLoadState('networkidle');
    expect(runs).toEqual([]);
    expect(await page.getByTestId('workbench').getAttribute('data-runs')).toBe('0');
    expect(await runActions('saved-never-run')).toEqual([]);
    await expectCleanPage(editor);
    await editor.close();
  });
});
