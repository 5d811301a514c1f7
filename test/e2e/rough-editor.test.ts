// The editor's rough edges a newcomer hit (issue #18): the completion list stayed open over a running
// query, a double click on Run landed on Cancel, the schema panel pushed the results down, the History
// and Runs panel squeezed the editor with no way to put it away, and a draft restored from an earlier
// visit ran by itself on load.
import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { completionSelected, editorReady, expectCleanPage, openPage, replaceSql, runAndWait } from './editor-support.js';

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe.skipIf(!browserAvailable)('editor rough edges (Chromium)', { timeout: 120_000 }, () => {
  const suite = serverAndBrowser();

  /** Saves a new query through the page and returns its permalink path. */
  async function saveQuery(page: Page, name: string, sql: string): Promise<string> {
    await page.getByLabel('Query name').fill(name);
    await replaceSql(page, sql);
    await page.keyboard.press('ControlOrMeta+s');
    await page.waitForURL(/\/queries\/\d+-/);
    await page.getByTestId('save-status').getByText('Saved.').waitFor();
    return new URL(page.url()).pathname;
  }

  /** Counts the runs the page asks for from now on. */
  function countRuns(page: Page): { readonly count: number } {
    const seen = { count: 0 };
    page.on('request', (request: Request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/runs') seen.count++;
    });
    return seen;
  }

  it('closes the completion list when a run starts, and keeps Cancel away from where Run was', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await editorReady(page);
    await page.locator('[data-testid="schema-panel"]').getByRole('button', { name: 'jobs', exact: true }).waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.type('select pg_sleep(3), job_status from jobs');
    await completionSelected(page, 'jobs', 'jobs');
    await page.keyboard.press('ControlOrMeta+Enter');
    await page.getByTestId('elapsed').waitFor();
    // The list is gone while the query runs, not floating over the page until the next keystroke.
    await page.locator('.cm-tooltip-autocomplete').waitFor({ state: 'detached', timeout: 2_000 });
    // Run stays where it was (disabled while running); Cancel is elsewhere, so a second click on Run cannot reach it.
    const runBox = (await page.getByTestId('run').boundingBox())!;
    const cancelBox = (await page.getByTestId('cancel').boundingBox())!;
    expect(await page.getByTestId('run').isDisabled()).toBe(true);
    expect(overlaps(runBox, cancelBox)).toBe(false);
    await page.screenshot({ path: 'docs/rough-editor-running.png' });
    await page.getByTestId('cancel').click();
    await page.getByText(/^Cancelled after/).waitFor();

    // A double click on Run runs the query once, to the end: the second click does not cancel it.
    await replaceSql(page, 'select pg_sleep(1.5), 42 as answer');
    const runs = countRuns(page);
    const before = Number(await page.getByTestId('workbench').getAttribute('data-runs'));
    await page.getByTestId('run').dblclick();
    await page.locator(`[data-testid="workbench"][data-runs="${before + 1}"]`).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('run-summary').innerText()).toMatch(/^1 row in/);
    expect(await page.getByText(/^Cancelled after/).count()).toBe(0);
    expect(runs.count).toBe(1);
    await expectCleanPage(editor, { allowHttpErrors: [409] });
    await editor.close();
  });

  it('keeps the schema panel within the editor height, so the results start right below', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new', { viewport: { width: 1360, height: 800 } });
    const { page } = editor;
    const panel = page.locator('[data-testid="schema-panel"]');
    await panel.getByRole('button', { name: 'jobs', exact: true }).waitFor();
    // Open a few tables: their columns make the list far longer than the editor.
    for (const name of ['jobs', 'notifications', 'services']) await panel.getByLabel(`Columns of public.${name}`).click();
    await replaceSql(page, 'select id, name from services order by id limit 5');
    await runAndWait(page);
    const sqlBox = (await page.getByTestId('sql-editor').boundingBox())!;
    const panelBox = (await panel.boundingBox())!;
    expect(panelBox.y + panelBox.height).toBeLessThanOrEqual(sqlBox.y + sqlBox.height + 1);
    // The list scrolls inside the panel instead.
    const list = panel.locator('.relations');
    expect(await list.evaluate((el: { scrollHeight: number; clientHeight: number }) => el.scrollHeight > el.clientHeight)).toBe(
      true,
    );
    const results = (await page.getByTestId('results').boundingBox())!;
    expect(results.y).toBeLessThan(800); // the grid starts on the first screen
    await page.screenshot({ path: 'docs/rough-editor-schema.png' });
    await expectCleanPage(editor);
    await editor.close();
  });

  it('folds the History and Runs panel away on a saved query, and remembers it', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    const path = await saveQuery(page, 'Foldable history', 'select 1 as one');
    await page.goto(`${suite.server.origin}${path}`);
    await page.locator('[data-testid="workbench"][data-runs="1"]').waitFor();
    const history = page.getByTestId('history');
    await history.waitFor();
    const toggle = page.getByTestId('side-panel-toggle');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const narrow = (await page.getByTestId('sql-editor').boundingBox())!.width;

    await toggle.click();
    await history.waitFor({ state: 'hidden' });
    expect(await page.getByTestId('query-runs').count()).toBe(0);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    const wide = (await page.getByTestId('sql-editor').boundingBox())!.width;
    expect(wide).toBeGreaterThan(narrow + 250);
    await page.screenshot({ path: 'docs/rough-editor-history-folded.png' });

    // Remembered on this device, for every query.
    await page.reload();
    await page.locator('[data-testid="workbench"][data-runs="1"]').waitFor();
    expect(await page.getByTestId('side-panel-toggle').getAttribute('aria-expanded')).toBe('false');
    expect(await history.isVisible()).toBe(false);
    await page.getByTestId('side-panel-toggle').click();
    await history.waitFor();
    await page.reload();
    await history.waitFor();
    expect(await page.getByTestId('side-panel-toggle').getAttribute('aria-expanded')).toBe('true');
    await expectCleanPage(editor);
    await editor.close();
  });

  it('brings back an unsaved draft without running it', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    const path = await saveQuery(page, 'Draft not run', "select 'saved' as version");
    await page.goto(`${suite.server.origin}${path}`);
    await page.locator('[data-testid="workbench"][data-runs="1"]').waitFor();
    await replaceSql(page, "select 'draft' as version, pg_sleep(0.1)");
    await page.getByTestId('save-status').getByText('Unsaved changes').waitFor();

    const runs = countRuns(page);
    await page.reload();
    await page.getByTestId('recovered').waitFor();
    await editorReady(page);
    await page.waitForLoadState('networkidle');
    expect(await page.locator('.cm-content').innerText()).toBe("select 'draft' as version, pg_sleep(0.1)");
    expect(runs.count).toBe(0);
    expect(await page.getByTestId('workbench').getAttribute('data-runs')).toBe('0');
    expect(await page.getByTestId('recovered').innerText()).toMatch(/not run yet/);
    await page.screenshot({ path: 'docs/rough-editor-draft.png' });

    // Run is one keystroke away; with the draft discarded, the saved query is back and runs as on opening.
    await runAndWait(page);
    expect(runs.count).toBe(1);
    expect(await page.getByTestId('recovered').innerText()).not.toMatch(/not run yet/);
    await page.getByRole('button', { name: 'Discard them' }).click();
    expect(await page.locator('.cm-content').innerText()).toBe("select 'saved' as version");
    await page.locator('[data-testid="workbench"][data-runs="2"]').waitFor();
    expect(runs.count).toBe(2);
    await page.locator('[role="gridcell"]', { hasText: /^saved$/ }).waitFor();
    await expectCleanPage(editor);
    await editor.close();
  });
});
