// The editor in Chromium against the real server: SQL typed with autocomplete, run with Ctrl+Enter, rows
// in the grid and a chart with marks, errors placed in the SQL, variables round-tripping through the URL,
// and no CSP violation along the way.
import { describe, expect, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import {
  completionSelected,
  currentUrl,
  editorReady,
  expectCleanPage,
  openPage,
  replaceSql,
  runAndWait,
} from './editor-support.js';

describe.skipIf(!browserAvailable)('SQL editor (Chromium)', { timeout: 90_000 }, () => {
  const suite = serverAndBrowser({ resultsDir: true });

  it('completes tables and columns, runs with Ctrl+Enter, shows rows and a line chart, then a bar chart', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await editorReady(page);
    await page.locator('[data-testid="schema-panel"]').getByRole('button', { name: 'jobs', exact: true }).waitFor();
    await page.locator('.cm-content').click();

    await page.keyboard.type("SELECT date_trunc('day', jobs.crea");
    await completionSelected(page, 'created_at', 'crea');
    await page.keyboard.press('Enter');
    await page.keyboard.type(') AS day, count(*) AS jobs_created FROM jo');
    await completionSelected(page, 'jobs', 'jo');
    await page.keyboard.press('Enter');
    await page.keyboard.type(' GROUP BY 1 ORDER BY 1');
    expect(await page.locator('.cm-content').innerText()).toBe(
      "SELECT date_trunc('day', jobs.created_at) AS day, count(*) AS jobs_created FROM jobs GROUP BY 1 ORDER BY 1",
    );

    await page.keyboard.press('ControlOrMeta+Enter');
    await page.locator('[data-testid="run-summary"]').waitFor();
    const rowCount = Number((await page.locator('[data-testid="row-count"]').innerText()).replace(/\D/g, ''));
    expect(rowCount).toBeGreaterThan(1);

    const chart = page.locator('[data-testid="chart"]');
    await chart.and(page.locator('[data-status="drawn"]')).waitFor();
    expect(await chart.getAttribute('data-type')).toBe('line');
    expect(await chart.locator('svg .mark-line path').count()).toBeGreaterThan(0);
    expect(await chart.locator('svg .mark-symbol path').count()).toBeLessThanOrEqual(rowCount);
    await page.screenshot({ path: 'test-results/editor-line.png', fullPage: true });

    await page.locator('[data-testid="chart-editor"]').getByLabel('Chart').selectOption('bar');
    await chart.and(page.locator('[data-type="bar"][data-status="drawn"]')).waitFor();
    expect(await chart.locator('svg .mark-rect path').count()).toBe(rowCount);

    // The header is sticky and numbers are right-aligned; the grid sorts on a header click.
    await page.getByRole('columnheader', { name: 'jobs_created' }).getByRole('button').click();
    expect(await page.getByRole('columnheader', { name: 'jobs_created' }).getAttribute('aria-sort')).toBe('ascending');
    await expectCleanPage(editor);
    await editor.close();
  });

  it('runs only the selection, formats SQL, and highlights the position of an error', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await replaceSql(page, 'select 1 as one;\nselect name, nonsense_column from services');
    await page.keyboard.press('Shift+Home'); // selects the second line
    await page.keyboard.press('ControlOrMeta+Enter');
    const error = page.locator('[data-testid="run-error"]');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/nonsense_column/);
    const marked = page.locator('.cm-lintRange-error');
    await marked.waitFor();
    expect(await marked.innerText()).toBe('nonsense_column');

    await replaceSql(page, 'select id, name from services where id < 4 order by id');
    await page.getByRole('button', { name: 'Format' }).click();
    await page.locator('.cm-line', { hasText: /^SELECT$/ }).waitFor();
    expect(await page.locator('.cm-line').allInnerTexts()).toEqual([
      'SELECT',
      '  id,',
      '  name',
      'FROM',
      '  services',
      'WHERE',
      '  id < 4',
      'ORDER BY',
      '  id',
    ]);
    await runAndWait(page);
    expect(await page.locator('[data-testid="row-count"]').innerText()).toBe('3 rows');
    await expectCleanPage(editor, { allowHttpErrors: [400] });
    await editor.close();
  });

  it('mirrors variables in the URL and reads them back', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await replaceSql(
      page,
      'select job_status, count(*) from jobs where created_at between {start_time} and {end_time} and job_status <> {skip_status} group by 1 order by 1',
    );
    const form = page.locator('[data-testid="variables"]');
    await form.getByLabel('Time range preset').selectOption('Last 90 days');
    await form.getByLabel('skip_status').fill('cancelled');
    const url = await currentUrl(page);
    expect(url.searchParams.get('skip_status')).toBe('cancelled');
    // The preset stays relative in the link (it keeps rolling); the end is the start of the next day.
    expect(url.searchParams.get('start_time')).toBe('today-89d');
    expect(url.searchParams.get('end_time')).toBe('tomorrow');
    await runAndWait(page);
    await page.locator('[data-testid="results"]').waitFor();

    // A fresh page from the link: the same values, and the same run.
    const again = await openPage(suite.browser, suite.server, `${url.pathname}${url.search}`);
    await replaceSql(again.page, await page.locator('.cm-content').innerText());
    const againForm = again.page.locator('[data-testid="variables"]');
    expect(await againForm.getByLabel('skip_status').inputValue()).toBe('cancelled');
    expect(await againForm.getByLabel('start_time').inputValue()).toBe(await form.getByLabel('start_time').inputValue());
    await runAndWait(again.page);
    expect(await again.page.locator('[data-testid="row-count"]').innerText()).toBe(
      await page.locator('[data-testid="row-count"]').innerText(),
    );
    await expectCleanPage(editor);
    await expectCleanPage(again);
    await again.close();
    await editor.close();
  });

  it('switches to dark and back, remembers the choice, and lists the shortcuts on "?"', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new', { colorScheme: 'light' });
    const { page } = editor;
    await editorReady(page);
    const theme = () => page.locator('html').getAttribute('data-theme');
    const toggle = page.getByTestId('theme-toggle');
    expect(await theme()).toBeNull(); // following the system
    await toggle.click();
    expect(await theme()).toBe('dark');
    await page.reload();
    await editorReady(page);
    expect(await theme()).toBe('dark');
    await page.getByTestId('theme-toggle').click();
    expect(await theme()).toBe('light');
    await page.getByTestId('theme-toggle').click();
    expect(await theme()).toBeNull();

    // Focus outside the editor without clicking (a click on the header's middle lands on a nav link).
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    await page.keyboard.press('?');
    const help = page.getByTestId('shortcut-help');
    await help.getByRole('heading', { name: 'Keyboard shortcuts' }).waitFor();
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    // Typing "?" in the editor types it.
    await page.locator('.cm-content').click();
    await page.keyboard.type('select 1 as "?"');
    expect(await help.isVisible()).toBe(false);
    await expectCleanPage(editor);
    await editor.close();
  });

  it('shows the elapsed time, cancels a running query, and explains a query', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    await replaceSql(page, 'select pg_sleep(20), 1 as n');
    await page.locator('.cm-content').focus();
    await page.keyboard.press('ControlOrMeta+Enter');
    await page
      .getByTestId('elapsed')
      .filter({ hasText: /Running… [1-9]\.\d s/ })
      .waitFor();
    await page.getByTestId('cancel').click();
    await page.getByText(/^Cancelled after \d+\.\d s$/).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('run').isEnabled()).toBe(true);

    await replaceSql(page, "select * from jobs where job_status = 'finished'");
    await page.getByRole('button', { name: 'Explain' }).click();
    const plan = page.getByTestId('plan');
    await plan.waitFor();
    expect(await plan.locator('pre').innerText()).toMatch(/Seq Scan on jobs|Index Scan/);
    await expectCleanPage(editor, { allowHttpErrors: [409] });
    await editor.close();
  });
});
